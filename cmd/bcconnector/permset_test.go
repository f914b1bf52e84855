package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPermissionSetCustomTable: `permission-set --custom-table` grants the table behind a
// custom API page (read, RIMD when written; a set given only there is read), quoting the
// name as AL does; a malformed value is refused naming the flag and the expected form.
func TestPermissionSetCustomTable(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "ps.al")
	var so, se bytes.Buffer
	code := run(context.Background(), []string{"permission-set", "--entities", "customers",
		"--write", "contoso/sales/v1.0/orderNotes",
		"--custom-table", `contoso/warehouse/v1.0/binContents="Bin Content"`,
		"--custom-table", "contoso/sales/v1.0/orderNotes=Sales Comment Line",
		"-o", out}, &so, &se)
	if code != 0 {
		t.Fatalf("permission-set: %d %s %s", code, so.String(), se.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tabledata "Bin Content" = R`, `tabledata "Sales Comment Line" = RIMD`, "tabledata Customer = R",
		"contoso/warehouse/v1.0/binContents", "contoso/sales/v1.0/orderNotes"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("the permission set lacks %q:\n%s", want, b)
		}
	}
	if bytes.Contains(b, []byte("Not covered")) {
		t.Errorf("a set with its table given is listed as not covered:\n%s", b)
	}
	for _, c := range []struct{ arg, want string }{
		{"binContents=Bin Content", "four parts"},
		{"contoso/warehouse/v1.0/binContents", "no '='"},
		{"contoso/warehouse/v1.0/binContents=", "no table"},
	} {
		so.Reset()
		se.Reset()
		code := run(context.Background(), []string{"permission-set", "--custom-table", c.arg}, &so, &se)
		msg := se.String()
		if code == 0 || !strings.Contains(msg, "--custom-table") || !strings.Contains(msg, c.want) || !strings.Contains(msg, "publisher/group/version/entitySet=Table Name") && c.want != "no table" {
			t.Errorf("--custom-table %q: %d %q, want an error naming the flag, %q and the form", c.arg, code, msg, c.want)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/store/storetest"
)

// TestChangesFiltersAndRetention: `changes --connection/--entity-set` prints only the
// matching changes (reading on past the others up to --limit), and a cursor older than
// what the retention kept fails naming the pruned position and the fix, like the API's
// 410 cursor_expired, instead of printing what is left as if nothing was missed.
func TestChangesFiltersAndRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath, keyPath := filepath.Join(dir, "bcc.db"), filepath.Join(dir, "master.key")
	kr := secret.GenerateKeyring()
	if err := kr.Save(keyPath); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(t.Context(), dbPath, kr, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a, err := db.CreateConnection(ctx, storetest.NewConnection("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateConnection(ctx, storetest.NewConnection("beta"))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{"customers", "vendors"} {
		if err := db.EnsureReplica(ctx, storetest.Entity(t, set)); err != nil {
			t.Fatal(err)
		}
	}
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// 1-3 alpha customers, 4-6 beta customers, 7-9 alpha vendors, 10-12 alpha customers.
	n := 0
	for _, w := range []struct{ conn, set string }{{a.ID, "customers"}, {b.ID, "customers"}, {a.ID, "vendors"}, {a.ID, "customers"}} {
		var rows []store.ReplicaRow
		for range 3 {
			rows = append(rows, storetest.Customer(storetest.GUID(n), storetest.ETag(1), "x", lm))
			n++
		}
		key := store.ReplicaKey{ConnectionID: w.conn, CompanyID: storetest.Company, EntitySet: w.set}
		if _, err := db.ApplyBatch(ctx, store.ReplicaBatch{Key: key, Upserts: rows}); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--db", dbPath, "--key-file", keyPath, "changes"}
	seqs := func(args ...string) []int64 {
		t.Helper()
		code, out, errOut := runCLI(t, context.Background(), append(append([]string{}, base...), args...)...)
		if code != 0 {
			t.Fatalf("changes %v: exit %d\n%s", args, code, errOut)
		}
		var got []int64
		for line := range strings.Lines(out) {
			var c store.Change
			if err := json.Unmarshal([]byte(line), &c); err != nil {
				t.Fatalf("changes %v: line %q: %v", args, line, err)
			}
			got = append(got, c.Seq)
		}
		return got
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--connection", "alpha", "--entity-set", "customers"}, "[1 2 3 10 11 12]"},
		{[]string{"--connection", b.ID}, "[4 5 6]"},
		{[]string{"--entity-set", "vendors", "--after", "7"}, "[8 9]"},
		{[]string{"--connection", "alpha", "--limit", "4"}, "[1 2 3 7]"},
	} {
		if got := seqs(tc.args...); fmt.Sprint(got) != tc.want {
			t.Errorf("changes %v = %v, want %s", tc.args, got, tc.want)
		}
	}
	if code, _, errOut := runCLI(t, context.Background(), append(append([]string{}, base...), "--connection", "gamma")...); code == 0 || !strings.Contains(errOut, `"alpha"`) {
		t.Errorf("changes --connection gamma: exit %d, want an error listing the connections\n%s", code, errOut)
	}

	// The retention prunes 1-6; a reader at 2 is told, one at 6 reads on.
	if _, err := db.PruneChanges(ctx, store.ChangePrune{MaxEntries: 6, Floor: 6}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errOut := runCLI(t, context.Background(), append(append([]string{}, base...), "--after", "2")...)
	if code == 0 || out != "" || !strings.Contains(errOut, "--after 2 is older than the change log keeps") || !strings.Contains(errOut, "follow from --after 6") {
		t.Errorf("changes --after 2 after pruning through 6: exit %d\n%s%s", code, out, errOut)
	}
	if got := seqs("--after", "6", "--entity-set", "vendors"); len(got) != 3 || got[0] != 7 {
		t.Errorf("changes --after 6 --entity-set vendors = %v, want 7-9", got)
	}
}

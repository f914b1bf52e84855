package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator/control"
)

// TestDiscoveredSetsEndToEnd runs schema discovery on the real binary: `bcconnector
// emulator --admin` and `serve` as processes of their own, a connection that picks a
// custom API set without lastModifiedDateTime (contoso/warehouse/v1.0/binContents) and a
// standard set (customers). While serve syncs it, a table extension adds a field to
// customers through the emulator's admin surface and a customer gets a value in it, a
// bin content is created and another deleted in the custom API. Then, without a sync
// failure: the change feed carries customers' schema.changed (op schema, version 2), the
// customer's update, the new bin's insert and the deleted bin's delete (found by the
// whole comparison each pass of a set without lastModifiedDateTime makes); the records
// API filters customers by the new field and reads the custom set by its replica name.
// serve runs with --schema-refresh 1h, so the schema change is picked up by the record
// that showed the new field, not by the cache's age.
func TestDiscoveredSetsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary twice for about half a minute")
	}
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	emu := startSoakEmulator(t, bin, filepath.Join(dir, "ca.pem"), "--admin")
	admin := emulatorAdminURL(emu)
	truth, err := newBCTruth(emu)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if truth.company, err = truth.companyID(ctx); err != nil {
		t.Fatal(err)
	}
	db, key := filepath.Join(dir, "bcc.db"), filepath.Join(dir, "master.key")
	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", db, "--key-file", key}, args...)...)
		cmd.Env = append(os.Environ(), "BCC_MASTER_KEY=")
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("bcconnector %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	const conn, bins = "discovered", "contoso__warehouse__v1_0__binContents"
	cli(emu.secret+"\n", "connection", "add", "--name", conn, "--no-check", "--tenant", emu.tenant, "--client-id", emu.clientID,
		"--environment", emu.env, "--company", truth.company, "--secret-stdin", "--secret-end-date", emu.secretEnd,
		"--authority-host", emu.authority, "--bc-base-url", emu.bcBase, "--ca-file", emu.caFile,
		"--entities", "customers,contoso/warehouse/v1.0/binContents")
	token := strings.TrimSpace(cli("", "token", "create", "--name", "discovered"))
	srv := startServe(t, bin, "--db", db, "--key-file", key, "--log-level", "info", "serve", "--listen", "127.0.0.1:0",
		"--interval", "5s", "--schema-refresh", "1h", "--allow-endpoint-overrides")
	api := &http.Client{Timeout: 30 * time.Second}
	getJSON := func(path string, v any) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := api.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		return resp.StatusCode, json.Unmarshal(body, v)
	}
	// poll calls check until it returns "" (done) or the deadline passes, then fails with
	// what check said last and the tail of serve's log.
	poll := func(what string, within time.Duration, check func() string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			left := check()
			if left == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not within %s: %s\nserve's log:\n%s", what, within, left, tail(srv.stderr.String(), 4000))
			}
			time.Sleep(200 * time.Millisecond) // polling interval; the deadline bounds the wait
		}
	}
	// syncClean reports what keeps both sets from being fully synced without an error
	// since since.
	syncClean := func(since time.Time) string {
		var st syncSets
		if _, err := getJSON("/connections/"+conn+"/sync", &st); err != nil {
			return err.Error()
		}
		var sets []string
		for _, s := range st.Sets {
			sets = append(sets, s.EntitySet)
			if s.LastError != "" {
				t.Fatalf("sync of %s failed: %s", s.EntitySet, s.LastError)
			}
			if !s.FullSyncDone || !s.LastSuccessAt.After(since) {
				return fmt.Sprintf("%s: full sync done %v, last success %s", s.EntitySet, s.FullSyncDone, s.LastSuccessAt)
			}
		}
		slices.Sort(sets)
		if !slices.Equal(sets, []string{bins, "customers"}) {
			return fmt.Sprintf("sets %v", sets)
		}
		return ""
	}
	poll("the first full passes", 90*time.Second, func() string { return syncClean(time.Time{}) })
	var feed struct {
		Changes []feedChange
	}
	if _, err := getJSON("/changes?connection="+conn+"&after=0&limit=5000", &feed); err != nil {
		t.Fatal(err)
	}
	var after int64
	for _, c := range feed.Changes {
		after = max(after, c.Seq)
		if c.Op == "schema" {
			t.Fatalf("a schema change before any: %+v", c)
		}
	}

	// At run time: the extension, a customer's value in its field, a bin created and one
	// deleted in the custom API.
	resp, err := truth.hc.Post(admin+"entitysets/customers/fields", "application/json", strings.NewReader(`{"name": "loyaltyTier", "type": "Edm.String"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("add the extension field: %d", resp.StatusCode)
	}
	std := truth.api + "/companies(" + truth.company + ")"
	custom := strings.TrimSuffix(truth.api, "v2.0") + "contoso/warehouse/v1.0/companies(" + truth.company + ")/binContents"
	var customers, binList struct{ Value []map[string]any }
	if err := truth.get(ctx, std+"/customers?$top=1", &customers); err != nil || len(customers.Value) != 1 {
		t.Fatalf("read a customer: %v", err)
	}
	gold := customers.Value[0]
	if _, err := truth.send(ctx, "PATCH", std+"/customers("+gold["id"].(string)+")", gold["@odata.etag"].(string), map[string]any{"loyaltyTier": "Gold"}); err != nil {
		t.Fatal(err)
	}
	created, err := truth.send(ctx, "POST", custom, "", map[string]any{"binCode": "E2E", "itemNumber": "1896-S", "quantity": 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := truth.get(ctx, custom+"?$top=2", &binList); err != nil || len(binList.Value) != 2 {
		t.Fatalf("read two bin contents: %v", err)
	}
	gone := binList.Value[0]
	if gone["id"] == created["id"] {
		gone = binList.Value[1]
	}
	if _, err := truth.send(ctx, "DELETE", custom+"("+gone["id"].(string)+")", gone["@odata.etag"].(string), nil); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()

	want := map[string]bool{
		"customers schema 2":                       false,
		"customers update " + gold["id"].(string):  false,
		bins + " insert " + created["id"].(string): false,
		bins + " delete " + gone["id"].(string):    false,
	}
	poll("the changes in the feed", 90*time.Second, func() string {
		for {
			var page struct{ Changes []feedChange }
			if _, err := getJSON("/changes?connection="+conn+"&limit=5000&after="+strconv.FormatInt(after, 10), &page); err != nil {
				return err.Error()
			}
			if len(page.Changes) == 0 {
				break
			}
			for _, c := range page.Changes {
				after = c.Seq
				id := c.ID
				if c.Op == "schema" {
					id = c.ETag
				}
				if _, ok := want[c.EntitySet+" "+c.Op+" "+id]; ok {
					want[c.EntitySet+" "+c.Op+" "+id] = true
				}
			}
		}
		var missing []string
		for k, seen := range want {
			if !seen {
				missing = append(missing, k)
			}
		}
		slices.Sort(missing)
		return strings.Join(missing, "; ")
	})
	poll("a clean pass of both sets after the changes", 60*time.Second, func() string { return syncClean(changed) })

	// The records API: customers by the new field, the custom set by its replica name.
	var page struct{ Records []map[string]any }
	if _, err := getJSON("/connections/"+conn+"/entities/customers/records?filter="+url.QueryEscape("loyaltyTier eq 'Gold'"), &page); err != nil ||
		len(page.Records) != 1 || page.Records[0]["id"] != gold["id"] || page.Records[0]["loyaltyTier"] != "Gold" {
		t.Fatalf("customers by the extension field: %+v %v", page.Records, err)
	}
	var rec map[string]any
	if _, err := getJSON("/connections/"+conn+"/entities/"+bins+"/records/"+created["id"].(string), &rec); err != nil || rec["binCode"] != "E2E" {
		t.Fatalf("the created bin content: %+v %v", rec, err)
	}
	if st, err := getJSON("/connections/"+conn+"/entities/"+bins+"/records/"+gone["id"].(string), &rec); st != http.StatusNotFound {
		t.Fatalf("the deleted bin content: %d %v", st, err)
	}
	var schema struct {
		APIs []struct {
			Route      string
			EntitySets []struct {
				Name     string
				Replicas []struct{ Version int }
			}
		}
	}
	if _, err := getJSON("/connections/"+conn+"/schema", &schema); err != nil {
		t.Fatal(err)
	}
	for _, a := range schema.APIs {
		for _, s := range a.EntitySets {
			if a.Route == "v2.0" && s.Name == "customers" && (len(s.Replicas) != 1 || s.Replicas[0].Version != 2) {
				t.Errorf("customers' stored schema versions %+v, want one at version 2", s.Replicas)
			}
		}
	}
	srv.stop(t)
}

// feedChange is an entry of GET /changes.
type feedChange struct {
	Seq       int64
	EntitySet string
	ID        string
	Op        string
	ETag      string
}

// emulatorAdminURL is the admin surface's URL (ending in /_emulator/) of an emulator
// started with --admin: on the emulator's one host (its banner prints it after "Press
// Ctrl+C", where startSoakEmulator stops waiting).
func emulatorAdminURL(e *soakEmulator) string {
	return strings.TrimSuffix(e.authority, "/") + control.Prefix
}

// send writes to BC (the emulator) as its admin's user would: method on u with the JSON
// body and If-Match etag (when given); it returns the answer's record (nil for 204).
func (b *bcTruth) send(ctx context.Context, method, u, etag string, body any) (map[string]any, error) {
	tok, err := b.accessToken(ctx)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(ctx, method, u, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, raw)
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var rec map[string]any
	return rec, json.Unmarshal(raw, &rec)
}

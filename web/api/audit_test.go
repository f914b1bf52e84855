package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type auditAnswer struct {
	Entries    []map[string]any
	NextBefore int64
}

// TestAudit: what API tokens do to connections, credentials and endpoints is in GET /audit
// under the token's name (never the token), with filters, paging and the scope of a
// token for some connections; bad parameters answer 400 naming them.
func TestAudit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.createConn("Audited A")
	b := e.createConn("Audited B")
	e.do("POST", "/connections/"+a+"/rotate-secret", e.token, map[string]string{"secret": e.creds.ClientSecret}, 200, nil)
	var ep struct{ ID string }
	e.do("POST", "/webhook-endpoints", e.token, map[string]any{"url": "https://platform.example/hooks", "eventTypes": []string{"record.created"}, "connectionId": a}, 201, &ep)
	e.do("DELETE", "/connections/"+b, e.token, nil, 200, nil)
	scoped := e.newToken("scoped-to-a", []string{a})

	var all auditAnswer
	raw := e.do("GET", "/audit", e.token, nil, 200, &all)
	if strings.Contains(string(raw), e.token) || strings.Contains(string(raw), scoped) || strings.Contains(string(raw), e.creds.ClientSecret) {
		t.Fatalf("the audit log shows a token or secret: %s", raw)
	}
	d := loadDoc(t)
	var actions []string
	for _, en := range all.Entries {
		checkRequired(t, d, "AuditEntry", en)
		actions = append(actions, fmt.Sprint(en["action"]))
		actor := en["actor"].(map[string]any)
		switch en["action"] {
		case "token.created":
			if actor["kind"] != "system" && actor["kind"] != "cli" {
				t.Errorf("token created through the store by the test: actor %v", actor)
			}
		default:
			if actor["kind"] != "token" || actor["name"] != "all" {
				t.Errorf("%s: actor %v, want the token named all", en["action"], actor)
			}
		}
	}
	for _, want := range []string{"connection.created", "credential.added", "credential.activated", "endpoint.created", "connection.deleted", "token.created"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("no %s entry in %v", want, actions)
		}
	}
	if all.Entries[0]["action"] != "token.created" || all.Entries[0]["target"] != "scoped-to-a" || all.Entries[1]["action"] != "connection.deleted" {
		t.Errorf("newest first: %v", actions)
	}

	// Filters: a deleted connection's entries by its ID; an action; an actor.
	var got auditAnswer
	e.do("GET", "/audit?connection="+b, e.token, nil, 200, &got)
	for _, en := range got.Entries {
		if en["connectionId"] != b {
			t.Fatalf("connection=%s returned %v", b, en)
		}
	}
	if len(got.Entries) < 2 || got.Entries[0]["action"] != "connection.deleted" || got.Entries[0]["detail"] != "Audited B" {
		t.Fatalf("deleted connection's log: %v", got.Entries)
	}
	e.do("GET", "/audit?action=endpoint.created&connection=Audited%20A", e.token, nil, 200, &got)
	if len(got.Entries) != 1 || got.Entries[0]["target"] != ep.ID {
		t.Fatalf("endpoint.created of A: %v", got.Entries)
	}
	e.do("GET", "/audit?actor=token:nobody", e.token, nil, 200, &got)
	if len(got.Entries) != 0 {
		t.Fatalf("actor=token:nobody: %v", got.Entries)
	}

	// Pages of 2 by nextBefore cover the log once.
	seen := map[float64]bool{}
	for path := "/audit?limit=2"; ; {
		var page auditAnswer
		e.do("GET", path, e.token, nil, 200, &page)
		for _, en := range page.Entries {
			id := en["id"].(float64)
			if seen[id] {
				t.Fatalf("entry %v twice", id)
			}
			seen[id] = true
		}
		if page.NextBefore == 0 {
			break
		}
		path = fmt.Sprintf("/audit?limit=2&before=%d", page.NextBefore)
	}
	if len(seen) != len(all.Entries) {
		t.Fatalf("paging saw %d entries, the log has %d", len(seen), len(all.Entries))
	}

	// A token for some connections reads only theirs.
	e.do("GET", "/audit", scoped, nil, 400, nil)
	e.do("GET", "/audit?connection="+b, scoped, nil, 404, nil)
	e.do("GET", "/audit?connection="+a, scoped, nil, 200, &got)
	if len(got.Entries) == 0 {
		t.Fatal("the scoped token sees nothing of its connection")
	}
	for _, en := range got.Entries {
		if en["connectionId"] != a {
			t.Fatalf("the scoped token sees %v", en)
		}
	}

	for _, c := range []struct{ query, names string }{
		{"?limit=501", "limit"}, {"?limit=0", "limit"}, {"?before=x", "before"}, {"?action=connection.exploded", "connection.exploded"},
		{"?actor=robot", "robot"}, {"?actor=admin:", "actor"}, {"?since=1", "since"},
	} {
		body := e.do("GET", "/audit"+c.query, e.token, nil, 400, nil)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		if !strings.Contains(string(body), c.names) {
			t.Errorf("GET /audit%s: %s does not name %s", c.query, body, c.names)
		}
	}
}

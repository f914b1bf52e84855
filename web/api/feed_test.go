package api_test

import (
	"strings"
	"testing"
)

// TestChangesQuery: GET /changes refuses query parameters it does not know (a misspelt
// cursor is not read as "from the start"), naming the parameter and the accepted ones,
// and filters by connection and entity set.
func TestChangesQuery(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var perr struct {
		Error struct{ Code, Message string }
	}
	e.do("GET", "/changes?since=5", e.token, nil, 400, &perr)
	for _, want := range []string{"since", "after", "limit", "wait", "connection", "entitySet"} {
		if !strings.Contains(perr.Error.Message, want) {
			t.Errorf("?since= error lacks %q: %+v", want, perr.Error)
		}
	}

	id := e.createConn("Contoso")
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers", "currencies"}}, 202, nil)
	e.waitRows(id, "customers")
	e.waitRows(id, "currencies")
	e.jobs.wg.Wait()

	type page struct {
		Changes []struct{ ConnectionID, EntitySet string }
		Next    int64
	}
	var all, cur, byConn page
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &all)
	e.do("GET", "/changes?after=0&limit=5000&entitySet=currencies", e.token, nil, 200, &cur)
	if len(cur.Changes) == 0 || len(cur.Changes) >= len(all.Changes) {
		t.Fatalf("entitySet=currencies: %d of %d changes", len(cur.Changes), len(all.Changes))
	}
	for _, c := range cur.Changes {
		if c.EntitySet != "currencies" {
			t.Errorf("entitySet=currencies returned a change of %s", c.EntitySet)
		}
	}
	e.do("GET", "/changes?after=0&limit=5000&connection=Contoso", e.token, nil, 200, &byConn)
	if len(byConn.Changes) != len(all.Changes) || byConn.Changes[0].ConnectionID != id {
		t.Errorf("connection=Contoso (by name): %d of %d changes", len(byConn.Changes), len(all.Changes))
	}
	e.do("GET", "/changes?connection=nope", e.token, nil, 404, nil)
	// A token scoped to another connection does not learn that this one exists.
	other := e.newToken("other", []string{"conn-of-someone-else"})
	e.do("GET", "/changes?connection="+id, other, nil, 404, nil)
}

package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/web/api"
)

// TestChangesCursorExpired: once the retention pruned changes, a cursor before them
// answers 410 cursor_expired with the pruned position (long-poll, the stream operation,
// the Accept-negotiated stream and an endpoint's replay alike), before any stream
// starts; the pruned position itself reads on.
func TestChangesCursorExpired(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.createConn("Contoso")
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"currencies", "customers"}}, 202, nil)
	e.waitRows(id, "currencies")
	e.waitRows(id, "customers")
	e.jobs.wg.Wait()
	var tail struct{ Next int64 }
	e.do("GET", "/changes?after=0&limit=5000", e.token, nil, 200, &tail)
	// Outbound webhooks turn the log into deliveries first: the retention never prunes
	// past their cursor.
	if _, err := e.out.Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	floor, err := e.db.ChangeCursor(context.Background())
	if err != nil || floor != tail.Next {
		t.Fatalf("dispatch cursor %d, %v; want %d", floor, err, tail.Next)
	}
	res, err := e.db.PruneChanges(context.Background(), store.ChangePrune{MaxEntries: 1, Floor: floor})
	if err != nil || res.PrunedThrough == 0 {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	through := itoa(res.PrunedThrough)
	for _, c := range []struct {
		path string
		hdr  []string
	}{
		{"/changes?after=0", nil},
		{"/changes/stream?after=0", nil},
		{"/changes?after=0", []string{"Accept", "text/event-stream"}},
	} {
		st, hdr, b := e.call("GET", c.path, e.token, nil, c.hdr...)
		var p problemBody
		_ = json.Unmarshal(b, &p)
		if st != 410 || p.Code != "cursor_expired" || p.Field != "after" || p.PrunedThrough == nil || *p.PrunedThrough != res.PrunedThrough ||
			!strings.Contains(p.Fix, "after="+through) || strings.Contains(hdr.Get("Content-Type"), "event-stream") {
			t.Errorf("GET %s %v: %d %s", c.path, c.hdr, st, b)
		}
	}
	var page struct {
		Changes []store.Change
	}
	e.do("GET", "/changes?after="+through, e.token, nil, 200, &page)
	if len(page.Changes) == 0 || page.Changes[0].Seq != res.PrunedThrough+1 {
		t.Errorf("after=%s: %+v", through, page.Changes)
	}
	var ep struct{ ID string }
	e.do("POST", "/webhook-endpoints", e.token, map[string]any{"url": "https://platform.example/hooks", "eventTypes": []string{"record.created"}}, 201, &ep)
	var p problemBody
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/replay", e.token, map[string]any{"after": 0}, 410, &p)
	if p.Code != "cursor_expired" {
		t.Errorf("replay from 0: %+v", p)
	}
}

// expiringService is a service whose change feed expires after its first page, as when
// the retention overtakes a slow reader in the middle of a stream.
type expiringService struct {
	service.Service
	calls int
}

func (s *expiringService) Changes(ctx context.Context, since int64, limit int, wait time.Duration, keep func(store.Change) bool) ([]store.Change, int64, error) {
	s.calls++
	if s.calls > 1 {
		return nil, since, &store.CursorExpiredError{After: since, PrunedThrough: since + 10}
	}
	return []store.Change{{Seq: since + 1, ConnectionID: "c", CompanyID: "co", EntitySet: "customers", ID: "r", Op: store.OpInsert}}, since + 1, nil
}

// TestStreamEndsWithErrorEvent: an error after a stream started is sent as an event
// error carrying the problem details, and the stream ends.
func TestStreamEndsWithErrorEvent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	srv := httptest.NewServer(api.New(api.Options{Service: &expiringService{Service: e.svc}, Tokens: e.db}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+api.Prefix+"/changes/stream?after=4", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	got := strings.Join(lines, "\n")
	if resp.StatusCode != 200 || !strings.Contains(got, "id: 5\nevent: change\n") ||
		!strings.Contains(got, "event: error\ndata: {") || !strings.Contains(got, `"code":"cursor_expired"`) || !strings.Contains(got, `"prunedThrough":15`) {
		t.Errorf("stream: %d\n%s", resp.StatusCode, got)
	}
}

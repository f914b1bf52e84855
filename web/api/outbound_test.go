package api_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/storetest"
	"github.com/bizzjoiner/bcconnector/web/api"
)

type endpointAnswer struct {
	store.Endpoint
	Secret string `json:"secret"`
}

func checkSigningSecret(t *testing.T, s string) {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if !strings.HasPrefix(s, "whsec_") || err != nil || len(k) < 24 || len(k) > 64 {
		t.Fatalf("signing secret is not whsec_ + base64 of 24 to 64 bytes (%d bytes, %v)", len(k), err)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, err := e.db.CreateConnection(t.Context(), storetest.NewConnection("acme"))
	if err != nil {
		t.Fatal(err)
	}
	var created endpointAnswer
	b := e.do("POST", "/webhook-endpoints", e.token, map[string]any{"url": "https://platform.example/hooks",
		"eventTypes": []string{"record.created", "connection.*"}, "connectionId": "acme", "includeRecord": true}, 201, &created)
	doc := loadDoc(t)
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	checkRequired(t, doc, "EndpointWithSecret", raw)
	checkSigningSecret(t, created.Secret)
	if created.ID == "" || created.ConnectionID != c.ID || !created.IncludeRecord || len(created.Secrets) != 1 {
		t.Fatalf("created: %+v (the connection's name is stored as its ID)", created.Endpoint)
	}
	raw = nil
	b = e.do("GET", "/webhook-endpoints/"+created.ID, e.token, nil, 200, &raw)
	checkRequired(t, doc, "Endpoint", raw)
	if strings.Contains(string(b), created.Secret) || strings.Contains(string(b), `"secret"`) {
		t.Fatalf("GET shows the signing secret: %s", b)
	}
	var list struct{ Endpoints []store.Endpoint }
	e.do("GET", "/webhook-endpoints", e.token, nil, 200, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].ID != created.ID {
		t.Fatalf("list: %+v", list)
	}

	// Rotation: by default the old secret signs for a day more.
	var rot endpointAnswer
	e.do("POST", "/webhook-endpoints/"+created.ID+"/rotate-secret", e.token, nil, 200, &rot)
	checkSigningSecret(t, rot.Secret)
	if rot.Secret == created.Secret || len(rot.Secrets) != 2 || rot.Secrets[1].ExpiresAt.Sub(rot.UpdatedAt).Round(time.Second) != 24*time.Hour {
		t.Fatalf("rotated: %+v", rot.Endpoint)
	}
	vals, err := e.db.SigningSecrets(t.Context(), created.ID)
	if err != nil || len(vals) != 2 || vals[0].Reveal() != rot.Secret || vals[1].Reveal() != created.Secret {
		t.Fatalf("signing secrets after rotation: %d, %v; want the new one, then the old one", len(vals), err)
	}
	var rot2 endpointAnswer
	e.do("POST", "/webhook-endpoints/"+created.ID+"/rotate-secret", e.token, `{"overlapSeconds":0}`, 200, &rot2)
	if len(rot2.Secrets) != 1 {
		t.Fatalf("rotation without overlap: %+v", rot2.Secrets)
	}
	e.do("POST", "/webhook-endpoints/"+created.ID+"/rotate-secret", e.token, `{"overlapSeconds":99999999}`, 400, nil)
	e.do("POST", "/webhook-endpoints/"+created.ID+"/rotate-secret", e.token, `{"overlap":"1h"}`, 400, nil)

	e.do("DELETE", "/webhook-endpoints/"+created.ID, e.token, nil, 204, nil)
	e.do("GET", "/webhook-endpoints/"+created.ID, e.token, nil, 404, nil)
	e.do("DELETE", "/webhook-endpoints/"+created.ID, e.token, nil, 404, nil)
	e.do("POST", "/webhook-endpoints/"+created.ID+"/rotate-secret", e.token, nil, 404, nil)
	// Each secret was in exactly one answer (the one that made it) and never in the log.
	for _, sec := range []string{created.Secret, rot.Secret, rot2.Secret} {
		n := 0
		for _, b := range *e.bodies {
			n += strings.Count(b, sec)
		}
		if n != 1 || strings.Contains(e.log.String(), sec) {
			t.Errorf("a signing secret is in %d answers (want 1) or in the log", n)
		}
	}
	e.scanSecrets()
}

func TestWebhookEndpointRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tc := range []struct {
		body   string
		status int
		names  string
	}{
		{`{"url":"http://platform.example/hooks","eventTypes":["record.created"]}`, 400, "https"},
		{`{"url":"platform.example/hooks","eventTypes":["record.created"]}`, 400, "url"},
		{`{"url":"https://user:pw@platform.example/hooks","eventTypes":["record.created"]}`, 400, "password"},
		{`{"url":"https://10.1.2.3/hooks","eventTypes":["record.created"]}`, 400, "private"},
		{`{"url":"https://[::1]:8443/hooks","eventTypes":["record.created"]}`, 400, "loopback"},
		{`{"url":"https://169.254.169.254/latest","eventTypes":["record.created"]}`, 400, "link-local"},
		{`{"url":"https://localhost/hooks","eventTypes":["record.created"]}`, 400, "allow-private-webhook-targets"},
		{`{"url":"https://platform.example/hooks","eventTypes":[]}`, 400, "eventTypes"},
		{`{"url":"https://platform.example/hooks","eventTypes":["record.moved"]}`, 400, "record.moved"},
		{`{"url":"https://platform.example/hooks","eventTypes":["record.created"],"secret":"mine"}`, 400, "secret"},
		{`{"url":"https://platform.example/hooks","eventTypes":["record.created"],"connectionId":"nope"}`, 404, "connectionId"},
	} {
		st, _, b := e.call("POST", "/webhook-endpoints", e.token, tc.body)
		if st != tc.status || !strings.Contains(string(b), tc.names) {
			t.Errorf("POST %s: %d %s, want %d naming %q", tc.body, st, b, tc.status, tc.names)
		}
	}
	var list struct{ Endpoints []store.Endpoint }
	e.do("GET", "/webhook-endpoints", e.token, nil, 200, &list)
	if len(list.Endpoints) != 0 {
		t.Fatalf("refused endpoints were registered: %+v", list.Endpoints)
	}
}

func TestWebhookEndpointTokenScope(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := t.Context()
	c1, _ := e.db.CreateConnection(ctx, storetest.NewConnection("one"))
	c2, _ := e.db.CreateConnection(ctx, storetest.NewConnection("two"))
	scoped := e.newToken("scoped", []string{c1.ID})
	var all, other, mine endpointAnswer
	e.do("POST", "/webhook-endpoints", e.token, `{"url":"https://p.example/all","eventTypes":["*"]}`, 201, &all)
	e.do("POST", "/webhook-endpoints", e.token, `{"url":"https://p.example/2","eventTypes":["*"],"connectionId":"`+c2.ID+`"}`, 201, &other)
	e.do("POST", "/webhook-endpoints", scoped, `{"url":"https://p.example/all","eventTypes":["*"]}`, 400, nil)
	e.do("POST", "/webhook-endpoints", scoped, `{"url":"https://p.example/2","eventTypes":["*"],"connectionId":"`+c2.ID+`"}`, 404, nil)
	e.do("POST", "/webhook-endpoints", scoped, `{"url":"https://p.example/1","eventTypes":["*"],"connectionId":"`+c1.ID+`"}`, 201, &mine)
	var list struct{ Endpoints []store.Endpoint }
	e.do("GET", "/webhook-endpoints", scoped, nil, 200, &list)
	if len(list.Endpoints) != 1 || list.Endpoints[0].ID != mine.ID {
		t.Fatalf("a scoped token lists %+v, want only its connection's endpoint", list.Endpoints)
	}
	for _, id := range []string{all.ID, other.ID} {
		e.do("GET", "/webhook-endpoints/"+id, scoped, nil, 404, nil)
		e.do("DELETE", "/webhook-endpoints/"+id, scoped, nil, 404, nil)
		e.do("POST", "/webhook-endpoints/"+id+"/rotate-secret", scoped, nil, 404, nil)
	}
	e.do("GET", "/webhook-endpoints", e.token, nil, 200, &list)
	if len(list.Endpoints) != 3 {
		t.Fatalf("a token for all connections lists %d endpoints, want 3", len(list.Endpoints))
	}
}

func TestWebhookDeliveriesAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, _ := e.db.CreateConnection(t.Context(), storetest.NewConnection("one"))
	var ep endpointAnswer
	e.do("POST", "/webhook-endpoints", e.token, `{"url":"https://p.example/h","eventTypes":["record.*"],"connectionId":"`+c.ID+`"}`, 201, &ep)
	var test store.Delivery
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/test", e.token, nil, 202, &test)
	if !strings.HasPrefix(test.ID, "msg_") || test.EventType != "webhook.test" || test.State != store.DeliveryPending {
		t.Fatalf("test event: %+v", test)
	}
	doc := loadDoc(t)
	var raw map[string]any
	e.do("GET", "/webhook-deliveries/"+test.ID, e.token, nil, 200, &raw)
	checkRequired(t, doc, "DeliveryDetail", raw)
	payload, _ := raw["payload"].(map[string]any)
	if payload["type"] != "webhook.test" || raw["attemptLog"] == nil {
		t.Fatalf("delivery detail: %v", raw)
	}
	var replay store.Delivery
	e.do("POST", "/webhook-deliveries/"+test.ID+"/replay", e.token, nil, 202, &replay)
	if replay.ReplayOf != test.ID || replay.ID == test.ID {
		t.Fatalf("replay: %+v", replay)
	}
	var list struct{ Deliveries []store.Delivery }
	e.do("GET", "/webhook-endpoints/"+ep.ID+"/deliveries?limit=1", e.token, nil, 200, &list)
	if len(list.Deliveries) != 1 || list.Deliveries[0].ID != replay.ID {
		t.Fatalf("deliveries?limit=1: %+v", list)
	}
	e.do("GET", "/webhook-endpoints/"+ep.ID+"/deliveries?before="+replay.ID+"&state=pending", e.token, nil, 200, &list)
	if len(list.Deliveries) != 1 || list.Deliveries[0].ID != test.ID {
		t.Fatalf("deliveries before the replay: %+v", list)
	}
	for _, q := range []string{"state=done", "limit=0", "limit=x", "since=3"} {
		st, _, b := e.call("GET", "/webhook-endpoints/"+ep.ID+"/deliveries?"+q, e.token, nil)
		if st != 400 || !strings.Contains(string(b), strings.Split(q, "=")[0]) {
			t.Errorf("deliveries?%s: %d %s, want 400 naming the parameter", q, st, b)
		}
	}
	var rp struct {
		Deliveries int
		Next       int64
		Done       bool
	}
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/replay", e.token, `{"after":0}`, 202, &rp)
	if rp.Deliveries != 0 || !rp.Done {
		t.Fatalf("replay of an empty change log: %+v", rp)
	}
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/replay", e.token, `{}`, 400, nil)
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/replay", e.token, `{"after":-1}`, 400, nil)
	// Another connection's token sees none of it.
	other, _ := e.db.CreateConnection(t.Context(), storetest.NewConnection("two"))
	scoped := e.newToken("scoped", []string{other.ID})
	e.do("GET", "/webhook-deliveries/"+test.ID, scoped, nil, 404, nil)
	e.do("POST", "/webhook-deliveries/"+test.ID+"/replay", scoped, nil, 404, nil)
	e.do("GET", "/webhook-endpoints/"+ep.ID+"/deliveries", scoped, nil, 404, nil)
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/test", scoped, nil, 404, nil)
	e.do("GET", "/webhook-deliveries/nope", e.token, nil, 404, nil)
}

// TestWebhookEventTypesDocumented: the OpenAPI enum of eventTypes is outbound's list and
// its patterns.
func TestWebhookEventTypesDocumented(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas struct {
				EndpointInput struct {
					Properties struct {
						EventTypes struct{ Items struct{ Enum []string } }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.Components.Schemas.EndpointInput.Properties.EventTypes.Items.Enum
	want := append(slices.Clone(outbound.EventTypes), "record.*", "connection.*", "*")
	if !slices.Equal(got, want) {
		t.Fatalf("documented event types %v, want %v", got, want)
	}
	if err := outbound.CheckEventTypes(got); err != nil {
		t.Fatal(err)
	}
}

// TestEndpointEnableDisable: PATCH disables an endpoint (saying so) and enables it again;
// a disabled endpoint refuses test events with 409; a body without enabled is a 400
// naming the field.
func TestEndpointEnableDisable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var ep struct{ ID string }
	e.do("POST", "/webhook-endpoints", e.token, map[string]any{"url": "https://platform.example/hooks", "eventTypes": []string{"record.*"}}, 201, &ep)
	var got struct {
		Disabled       bool
		DisabledReason string
		DisabledAt     string
	}
	e.do("PATCH", "/webhook-endpoints/"+ep.ID, e.token, map[string]any{"enabled": false}, 200, &got)
	if !got.Disabled || got.DisabledReason != "disabled through the API" || got.DisabledAt == "" {
		t.Errorf("disabled: %+v", got)
	}
	var p problemBody
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/test", e.token, nil, 409, &p)
	if p.Code != "conflict" || !strings.Contains(p.Detail, `{"enabled": true}`) {
		t.Errorf("test event to a disabled endpoint: %+v", p)
	}
	for _, body := range []string{`{}`, `{"enabled":"yes"}`, `{"enabled":true,"url":"https://x"}`} {
		if st, _, b := e.call("PATCH", "/webhook-endpoints/"+ep.ID, e.token, body); st != 400 || !strings.Contains(string(b), "enabled") && !strings.Contains(string(b), "url") {
			t.Errorf("PATCH %s: %d %s", body, st, b)
		}
	}
	var en map[string]any
	e.do("PATCH", "/webhook-endpoints/"+ep.ID, e.token, map[string]any{"enabled": true}, 200, &en)
	if en["disabled"] != false || en["disabledReason"] != nil || en["disabledAt"] != nil {
		t.Errorf("enabled: %+v", en)
	}
	e.do("POST", "/webhook-endpoints/"+ep.ID+"/test", e.token, nil, 202, nil)
}

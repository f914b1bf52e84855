package notify

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestCreateHandshakeSuccess(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	clock := &fixedClock{t: time.Date(2026, 3, 1, 9, 30, 15, 123_456_789, time.UTC)}
	m := newManager(t, rc, Config{Now: clock.Now})

	s, err := m.Create(context.Background(), owner, rc.url()+"?code=abc", custRes, "my-state")
	if err != nil {
		t.Fatal(err)
	}
	h := rc.lastHandshake()
	if h.Method != http.MethodPost || h.Body != "my-state" || !hex32.MatchString(h.Token) {
		t.Errorf("handshake = %+v, want POST with body my-state and a 32-hex token", h)
	}
	if !strings.HasPrefix(h.RawQuery, "code=abc&validationToken=") {
		t.Errorf("handshake query %q: the notificationUrl's own query must be kept", h.RawQuery)
	}
	if !hex32.MatchString(s.SubscriptionID) {
		t.Errorf("subscriptionId %q, want 32 lower-case hex digits", s.SubscriptionID)
	}
	now := clock.Now()
	if !s.ExpirationDateTime.Equal(now.Add(72*time.Hour)) || !s.SystemCreatedAt.Equal(now) || !s.LastModifiedDateTime.Equal(now) {
		t.Errorf("times: expiration %s created %s modified %s; want now+72h, now, now", s.ExpirationDateTime, s.SystemCreatedAt, s.LastModifiedDateTime)
	}
	if s.UserID != owner || s.SystemCreatedBy != owner || s.SystemModifiedBy != owner {
		t.Errorf("users = %s/%s/%s, want %s", s.UserID, s.SystemCreatedBy, s.SystemModifiedBy, owner)
	}
	if s.Resource != custRes || s.ClientState != "my-state" || s.NotificationURL != rc.url()+"?code=abc" {
		t.Errorf("stored properties changed: %+v", s)
	}
	if !strings.HasPrefix(s.ETag, `W/"`) || s.Timestamp == 0 {
		t.Errorf("etag %q timestamp %d", s.ETag, s.Timestamp)
	}
	got, ok := m.Get(s.SubscriptionID)
	if !ok || got.ETag != s.ETag {
		t.Errorf("Get = %+v, %v", got, ok)
	}
}

func TestCreateHandshakeFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    Config
		answer func(w http.ResponseWriter, r *http.Request, token string)
		why    string // part of the error message; "" means the create succeeds
	}{
		{"wrong body", Config{}, func(w http.ResponseWriter, _ *http.Request, _ string) { _, _ = io.WriteString(w, "nope") }, `"nope" instead of the validationToken`},
		{"empty body", Config{}, func(w http.ResponseWriter, _ *http.Request, _ string) {}, `"" instead of the validationToken`},
		{"JSON-quoted token", Config{}, func(w http.ResponseWriter, _ *http.Request, tok string) { _, _ = io.WriteString(w, `"`+tok+`"`) }, "instead of the validationToken"},
		{"204", Config{}, func(w http.ResponseWriter, _ *http.Request, _ string) { w.WriteHeader(http.StatusNoContent) }, "HTTP 204 instead of 200"},
		{"202 with token", Config{}, func(w http.ResponseWriter, _ *http.Request, tok string) {
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, tok)
		}, "HTTP 202 instead of 200"},
		{"500", Config{}, func(w http.ResponseWriter, _ *http.Request, _ string) { w.WriteHeader(http.StatusInternalServerError) }, "HTTP 500"},
		{"trailing newline, strict", Config{}, func(w http.ResponseWriter, _ *http.Request, tok string) { _, _ = io.WriteString(w, tok+"\n") }, "instead of the validationToken"},
		{"trailing newline, trimmed", Config{HandshakeTrimSpace: true}, func(w http.ResponseWriter, _ *http.Request, tok string) { _, _ = io.WriteString(w, tok+"\n") }, ""},
		{"timeout", Config{HandshakeTimeout: 50 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request, tok string) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			_, _ = io.WriteString(w, tok)
		}, "no response within 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			rc.setHandshake(tt.answer)
			m := newManager(t, rc, tt.cfg)
			_, err := m.Create(context.Background(), owner, rc.url(), custRes, "")
			if tt.why == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e := asError(t, err, http.StatusBadRequest, CodeBadRequest)
			if !strings.Contains(e.Message, tt.why) || !strings.Contains(e.Message, "could not be created") {
				t.Errorf("message %q does not contain %q", e.Message, tt.why)
			}
			if n := len(m.List()); n != 0 {
				t.Errorf("%d subscriptions after a failed handshake, want 0", n)
			}
		})
	}
}

func TestCreateHandshakeUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	url := srv.URL
	client := srv.Client()
	srv.Close()
	m := newManager(t, nil, Config{Client: client})
	_, err := m.Create(context.Background(), owner, url, custRes, "")
	e := asError(t, err, http.StatusBadRequest, CodeBadRequest)
	if !strings.Contains(e.Message, "could not be reached") {
		t.Errorf("message %q", e.Message)
	}
}

func TestHandshakeMethodConfigurable(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	m := newManager(t, rc, Config{HandshakeMethod: http.MethodGet})
	mustCreate(t, m, rc.url(), custRes, "state")
	if h := rc.lastHandshake(); h.Method != http.MethodGet || h.Body != "" {
		t.Errorf("handshake %+v, want GET without body", h)
	}
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	errNoWebhooks := errors.New("The entity set 'pdfDocument' does not support webhooks.")
	tests := []struct {
		name     string
		url      string // "" = the receiver
		resource string
		state    string
		status   int
		code     string
		msg      string
	}{
		{"missing notificationUrl", "-", custRes, "", 400, CodeRequiredParam, "Field 'notificationUrl' must not be blank or empty."},
		{"relative notificationUrl", "/hook", custRes, "", 400, CodeBadRequest, "is not a valid absolute URL"},
		{"ftp notificationUrl", "ftp://example.com/x", custRes, "", 400, CodeBadRequest, "is not a valid absolute URL"},
		{"missing resource", "", "", "", 400, CodeRequiredParam, "Field 'resource' must not be blank or empty."},
		{"resource without company", "", "/api/v2.0/customers", "", 400, CodeBadRequest, "no companies({companyId}) segment"},
		{"resource with record key", "", custRes + "(" + k1 + ")", "", 400, CodeBadRequest, "not an entity set name"},
		{"resource with filter", "", custRes + "?$filter=number eq '1'", "", 400, CodeBadRequest, "query options"},
		{"clientState too long", "", custRes, strings.Repeat("x", 2049), 400, CodeStringExceededLength, "The length of the string is 2049, but it must be less than or equal to 2048 characters."},
		{"rejected by ValidateResource", "", "/api/v2.0/companies(" + company + ")/pdfDocument", "", 400, CodeBadRequest, errNoWebhooks.Error()},
		{"*Error from ValidateResource", "", "/api/v2.0/companies(" + company + ")/nonsense", "", 404, CodeNotFound, "No HTTP resource was found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			m := newManager(t, rc, Config{ValidateResource: func(res string) error {
				switch {
				case strings.HasSuffix(res, "/pdfDocument"):
					return errNoWebhooks
				case strings.HasSuffix(res, "/nonsense"):
					return &Error{Status: 404, Code: CodeNotFound, Message: "No HTTP resource was found that matches the request URI."}
				}
				return nil
			}})
			url := tt.url
			switch url {
			case "":
				url = rc.url()
			case "-":
				url = ""
			}
			_, err := m.Create(context.Background(), owner, url, tt.resource, tt.state)
			e := asError(t, err, tt.status, tt.code)
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
			if n := rc.handshakeCount(); n != 0 {
				t.Errorf("%d handshakes for an invalid request, want 0", n)
			}
		})
	}
}

func TestValidateResourceGetsCanonicalForm(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	var got []string
	m := newManager(t, rc, Config{ValidateResource: func(res string) error { got = append(got, res); return nil }})
	mustCreate(t, m, rc.url(), "/api/v2.0/companies("+strings.ToUpper(company)+")/customers", "")
	mustCreate(t, m, rc.url(), "companies("+company+")/items", "")
	want := []string{custChanged, "api/v2.0/companies(" + company + ")/items"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ValidateResource got %q, want %q", got, want)
	}
}

func TestMaxSubscriptions(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	m := newManager(t, rc, Config{Client: rc.srv.Client()}) // keep-alive: 200 handshakes
	for i := range DefaultMaxSubscriptions {
		if _, err := m.Create(context.Background(), owner, rc.url(), custRes, ""); err != nil {
			t.Fatalf("subscription %d: %v", i+1, err)
		}
	}
	_, err := m.Create(context.Background(), owner, rc.url(), custRes, "")
	e := asError(t, err, http.StatusBadRequest, CodeBadRequest)
	if !strings.Contains(e.Message, "maximum number of subscriptions (200)") {
		t.Errorf("message %q", e.Message)
	}
	if n := rc.handshakeCount(); n != 200 {
		t.Errorf("%d handshakes, want 200 (none for the refused one)", n)
	}
	s := m.List()[0]
	if err := m.Delete(s.SubscriptionID, "*"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(context.Background(), owner, rc.url(), custRes, ""); err != nil {
		t.Errorf("create after a delete: %v", err)
	}
}

func TestIfMatchRules(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"delete", "renew"} {
		for _, tt := range []struct {
			name     string
			ifMatch  func(s *Subscription) string
			conflict int
			status   int
			code     string
			msg      string
		}{
			{"missing", func(*Subscription) string { return "" }, 0, 400, CodeInvalidToken, msgMissingIfMatch},
			{"stale", func(*Subscription) string { return `W/"JzE7MTsxOzAwOyc="` }, 0, 412, CodeEntityChanged, msgEntityChanged},
			{"stale, 409 configured", func(*Subscription) string { return `W/"JzE7MTsxOzAwOyc="` }, 409, 409, CodeEntityChanged, msgEntityChanged},
			{"star", func(*Subscription) string { return "*" }, 0, 0, "", ""},
			{"current", func(s *Subscription) string { return s.ETag }, 0, 0, "", ""},
			{"list with current", func(s *Subscription) string { return `W/"other", ` + s.ETag }, 0, 0, "", ""},
		} {
			t.Run(op+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				m := newManager(t, rc, Config{ConflictStatus: tt.conflict})
				s := mustCreate(t, m, rc.url(), custRes, "")
				var err error
				if op == "delete" {
					err = m.Delete(s.SubscriptionID, tt.ifMatch(s))
				} else {
					_, err = m.Renew(context.Background(), s.SubscriptionID, tt.ifMatch(s))
				}
				if tt.status == 0 {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				e := asError(t, err, tt.status, tt.code)
				if e.Message != tt.msg {
					t.Errorf("message %q, want exactly %q", e.Message, tt.msg)
				}
				if _, ok := m.Get(s.SubscriptionID); !ok {
					t.Error("subscription gone after a refused request")
				}
			})
		}
	}
}

func TestUnknownIDIsNotFound(t *testing.T) {
	t.Parallel()
	m := newManager(t, nil, Config{})
	asError(t, m.Delete("00000000000000000000000000000000", "*"), 404, CodeNotFound)
	_, err := m.Renew(context.Background(), "nope", "*")
	asError(t, err, 404, CodeNotFound)
	if _, ok := m.Get("nope"); ok {
		t.Error("Get found an unknown id")
	}
}

func TestRenewRepeatsHandshake(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	clock := &fixedClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	m := newManager(t, rc, Config{Now: clock.Now})
	s := mustCreate(t, m, rc.url(), custRes, "state")
	clock.Advance(48 * time.Hour)

	r, err := m.Renew(context.Background(), s.SubscriptionID, s.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if n := rc.handshakeCount(); n != 2 {
		t.Errorf("%d handshakes, want 2 (create and renew)", n)
	}
	if want := clock.Now().Add(72 * time.Hour); !r.ExpirationDateTime.Equal(want) {
		t.Errorf("expiration %s, want %s", r.ExpirationDateTime, want)
	}
	if r.ETag == s.ETag || r.Timestamp <= s.Timestamp || !r.LastModifiedDateTime.Equal(clock.Now()) || !r.SystemCreatedAt.Equal(s.SystemCreatedAt) {
		t.Errorf("renewed %+v from %+v: want new etag, larger timestamp, modified now, same created", r, s)
	}
	_, err = m.Renew(context.Background(), s.SubscriptionID, s.ETag) // the pre-renewal etag
	asError(t, err, 412, CodeEntityChanged)

	rc.setHandshake(func(w http.ResponseWriter, _ *http.Request, _ string) { w.WriteHeader(http.StatusForbidden) })
	clock.Advance(time.Hour)
	_, err = m.Renew(context.Background(), s.SubscriptionID, "*")
	e := asError(t, err, 400, CodeBadRequest)
	if !strings.Contains(e.Message, "could not be renewed") || !strings.Contains(e.Message, "HTTP 403") {
		t.Errorf("message %q", e.Message)
	}
	after, _ := m.Get(s.SubscriptionID)
	if !after.ExpirationDateTime.Equal(r.ExpirationDateTime) || after.ETag != r.ETag {
		t.Error("a failed renewal changed the subscription")
	}
}

func TestUpdateChangesNotificationURLAfterHandshakeThere(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	m := newManager(t, rc, Config{})
	s := mustCreate(t, m, rc.url(), custRes, "old")
	newURL, state := rc.url()+"/v2", "new"
	u, err := m.Update(context.Background(), "someone-else", s.SubscriptionID, s.ETag, Patch{NotificationURL: &newURL, ClientState: &state})
	if err != nil {
		t.Fatal(err)
	}
	if h := rc.lastHandshake(); h.Body != "new" {
		t.Errorf("handshake body %q, want the new clientState", h.Body)
	}
	if u.NotificationURL != newURL || u.ClientState != "new" || u.SystemModifiedBy != "someone-else" || u.UserID != owner {
		t.Errorf("updated = %+v", u)
	}
	bad := "not a url"
	_, err = m.Update(context.Background(), "", s.SubscriptionID, "*", Patch{NotificationURL: &bad})
	asError(t, err, 400, CodeBadRequest)
}

func TestSubscriptionJSON(t *testing.T) {
	t.Parallel()
	s := Subscription{
		SubscriptionID: "c670ea73cacb459bb51dc1740da2f1db", NotificationURL: "https://contoso.com/cb?a=1&b=2",
		Resource: custRes, ClientState: "x", UserID: owner, Timestamp: 7, ETag: `W/"abc"`,
		ExpirationDateTime:   time.Date(2021, 10, 15, 12, 32, 35, 0, time.UTC),
		LastModifiedDateTime: time.Date(2018, 10, 12, 12, 32, 35, 0, time.UTC),
		SystemCreatedAt:      time.Date(2017, 1, 23, 0, 24, 31, 766_000_000, time.UTC), SystemCreatedBy: owner,
		SystemModifiedAt: time.Date(2020, 8, 21, 0, 24, 31, 777_900_000, time.UTC), SystemModifiedBy: owner,
	}
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@odata.etag":"W/\"abc\"","subscriptionId":"c670ea73cacb459bb51dc1740da2f1db","notificationUrl":"https://contoso.com/cb?a=1&b=2",` +
		`"resource":"` + custRes + `","timestamp":7,"userId":"` + owner + `","lastModifiedDateTime":"2018-10-12T12:32:35Z",` +
		`"clientState":"x","expirationDateTime":"2021-10-15T12:32:35Z","systemCreatedAt":"2017-01-23T00:24:31.766Z",` +
		`"systemCreatedBy":"` + owner + `","systemModifiedAt":"2020-08-21T00:24:31.777Z","systemModifiedBy":"` + owner + `"}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

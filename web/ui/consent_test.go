package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// fakeExpress answers RecordConsent from the query as the service would decide it.
type fakeExpress struct{ service.ExpressService }

func (fakeExpress) RecordConsent(_ context.Context, q url.Values) (service.ConsentResult, error) {
	if q.Get("state") != "c1.nonce" {
		return service.ConsentResult{}, service.ErrConsentState
	}
	v := service.ConnectionView{Connection: store.Connection{ID: "c1", Environment: "Production", ClientID: "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b"}, Kind: store.KindExpress,
		Express: &service.ExpressView{Consent: "granted", Step6: service.Step6Values{Page: "Microsoft Entra Applications", Environment: "Production",
			ClientID: "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", Description: "Bizzjoiner Connector", State: "Enabled", PermissionSet: "BIZZJOINER CONNECTOR"}}}
	if e := q.Get("error"); e != "" {
		return service.ConsentResult{Connection: v, Error: e, Description: q.Get("error_description"), Restricted: strings.Contains(q.Get("error_description"), "AADSTS90094")}, nil
	}
	return service.ConsentResult{Connection: v, Granted: true}, nil
}

func TestConsentCallbackPage(t *testing.T) {
	t.Parallel()
	h, err := ConsentCallback(fakeExpress{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(q url.Values) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/consent/callback?"+q.Encode(), nil))
		return w
	}
	w := get(url.Values{"state": {"c1.nonce"}, "admin_consent": {"True"}, "tenant": {"t"}})
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `data-outcome="granted"`) || !strings.Contains(body, "8f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b") ||
		!strings.Contains(body, "BIZZJOINER CONNECTOR") || w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy || w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("granted: %d %v\n%s", w.Code, w.Header(), body)
	}
	w = get(url.Values{"state": {"c1.nonce"}, "error": {"access_denied"}, "error_description": {"AADSTS90094: Admin consent is required <b>"}})
	if body = w.Body.String(); w.Code != 200 || !strings.Contains(body, `data-outcome="restricted"`) || !strings.Contains(body, "&lt;b&gt;") || strings.Contains(body, "<b>") {
		t.Errorf("restricted: %d\n%s", w.Code, body)
	}
	w = get(url.Values{"state": {"c1.nonce"}, "error": {"permission_denied"}, "error_description": {"AADSTS65004: declined"}})
	if body = w.Body.String(); !strings.Contains(body, `data-outcome="refused"`) {
		t.Errorf("refused: %s", body)
	}
	w = get(url.Values{"state": {"c1.forged"}, "admin_consent": {"True"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "does not belong") {
		t.Errorf("forged state: %d %s", w.Code, w.Body)
	}
}

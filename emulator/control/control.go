// Package control is a small admin surface of a running emulator for test harnesses in
// other languages or processes: it changes the Entra directory and the BC registrations
// the way an admin's mistake would (revoke consent, disable the BC app, expire secrets,
// upload a certificate, rename a company), which Go tests do through the emulator's methods. It has no
// authentication, so `bcconnector emulator` mounts it only with --admin.
package control

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
)

// Prefix is where Handler's routes live.
const Prefix = "/_emulator/"

// maxBody bounds a request body (a PEM certificate is a few kB).
const maxBody = 64 << 10

// Handler returns the admin surface of emu; now is the clock (expiry); nil means time.Now.
//
//	POST /_emulator/tenants/{tenant}/apps/{client}/consent/revoke
//	POST /_emulator/tenants/{tenant}/apps/{client}/secrets/expire
//	POST /_emulator/tenants/{tenant}/apps/{client}/certificates   (body: PEM certificate)
//	POST /_emulator/tenants/{tenant}/environments/{env}/apps/{client}/disable
//	POST /_emulator/entitysets/{set}/fields          (body: {"name": "loyaltyTier", "type": "Edm.String"})
//	DELETE /_emulator/entitysets/{set}/fields/{name}
//
// (the last two add a table extension's field to a standard API v2.0 entity set, in every
// environment: $metadata and records carry it; and remove it again)
//
// and for express setup (another directory's multi-tenant app, auth-jobs-delivery-facts §2):
//
//	POST   /_emulator/tenants/{tenant}/apps/{client}/consent/grant   (an admin's Accept: creates the service principal)
//	DELETE /_emulator/tenants/{tenant}/apps/{client}                 (the enterprise application deleted: consent revoked)
//	POST   /_emulator/tenants/{tenant}/apps/{client}/redirect-uris   (body: one redirect URI to add)
//	POST   /_emulator/tenants/{tenant}/environments/{env}/apps/{client}   (Step 6: body {"permissionSets": [...]}, default D365 BUS FULL ACCESS)
//	POST   /_emulator/tenants/{tenant}/environments/{env}/companies/{company}/rename   (body {"name": "…"}; company: id or current name, URL-escaped)
//
// and for BC's companies and what BC saw:
//
//	POST /_emulator/tenants/{tenant}/environments/{env}/companies   (body {"name": "…"}: a company created in BC; 201 {"id", "name"})
//	GET  /_emulator/stats   (200 [Stats]: BC requests and token requests so far, per app too)
//
// Each other answers 204, or 400/404 with {"error": "..."} naming what is wrong.
func Handler(emu *emulator.Emulator, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	m := http.NewServeMux()
	app := func(fn func(a *idp.App, body []byte) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				fail(w, http.StatusBadRequest, "the body could not be read: "+err.Error())
				return
			}
			var problem string
			err = emu.Directory().UpdateApp(r.PathValue("tenant"), r.PathValue("client"), func(a *idp.App) { problem = fn(a, body) })
			switch {
			case err != nil:
				fail(w, http.StatusNotFound, err.Error())
			case problem != "":
				fail(w, http.StatusBadRequest, problem)
			default:
				w.WriteHeader(http.StatusNoContent)
			}
		}
	}
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/apps/{client}/consent/revoke", app(func(a *idp.App, _ []byte) string {
		for i := range a.Permissions {
			a.Permissions[i].Consented = false
		}
		return ""
	}))
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/apps/{client}/secrets/expire", app(func(a *idp.App, _ []byte) string {
		if len(a.Secrets) == 0 {
			return "the app has no client secret to expire"
		}
		for i := range a.Secrets {
			a.Secrets[i].EndDate = now().Add(-time.Minute)
		}
		return ""
	}))
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/apps/{client}/certificates", app(func(a *idp.App, body []byte) string {
		blk, _ := pem.Decode(body)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return "the body is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			return "the certificate cannot be parsed: " + err.Error()
		}
		a.Certificates = append(a.Certificates, idp.Certificate{DER: blk.Bytes, Description: "uploaded through the emulator's admin surface"})
		return ""
	}))
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/environments/{env}/apps/{client}/disable", func(w http.ResponseWriter, r *http.Request) {
		if err := emu.UpdateBCApp(r.PathValue("tenant"), r.PathValue("env"), r.PathValue("client"), func(a *emulator.BCApp) { a.Enabled = false }); err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/apps/{client}/consent/grant", func(w http.ResponseWriter, r *http.Request) {
		if _, err := emu.Directory().GrantConsent(r.PathValue("tenant"), r.PathValue("client")); err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("DELETE "+Prefix+"tenants/{tenant}/apps/{client}", func(w http.ResponseWriter, r *http.Request) {
		t, ok := emu.Directory().LookupTenant(r.PathValue("tenant"))
		if !ok {
			fail(w, http.StatusNotFound, "no tenant "+r.PathValue("tenant"))
			return
		}
		if err := emu.Directory().RemoveApp(t.ID, r.PathValue("client")); err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/apps/{client}/redirect-uris", app(func(a *idp.App, body []byte) string {
		uri := strings.TrimSpace(string(body))
		u, err := url.Parse(uri)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1"))) {
			return "the body must be one absolute redirect URI, https (or http://localhost), as Entra requires"
		}
		if a.HomeTenantID != "" {
			return "this is the service principal of another directory's app; add redirect URIs to the app registration in its home tenant " + a.HomeTenantID
		}
		if !slices.Contains(a.RedirectURIs, uri) {
			a.RedirectURIs = append(a.RedirectURIs, uri)
		}
		return ""
	}))
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/environments/{env}/apps/{client}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			PermissionSets []string `json:"permissionSets"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && err != io.EOF {
			fail(w, http.StatusBadRequest, `the body must be {"permissionSets": ["D365 BUS FULL ACCESS"]} or empty: `+err.Error())
			return
		}
		if len(body.PermissionSets) == 0 {
			body.PermissionSets = []string{"D365 BUS FULL ACCESS"}
		}
		t, ok := emu.Directory().LookupTenant(r.PathValue("tenant"))
		if !ok {
			fail(w, http.StatusNotFound, "no tenant "+r.PathValue("tenant"))
			return
		}
		err := emu.SetBCApp(t.ID, r.PathValue("env"), emulator.BCApp{ClientID: r.PathValue("client"), Description: "Bizzjoiner Connector", Enabled: true, PermissionSets: body.PermissionSets})
		if err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// company reads a body {"name": …} and the tenant of the path, and hands them to fn;
	// fn's error is 400 for a bad or taken name, 404 otherwise.
	company := func(what string, fn func(w http.ResponseWriter, r *http.Request, tenantID, name string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Name string `json:"name"`
			}
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&body); err != nil || body.Name == "" {
				fail(w, http.StatusBadRequest, `the body must be {"name": "`+what+`"}`)
				return
			}
			t, ok := emu.Directory().LookupTenant(r.PathValue("tenant"))
			if !ok {
				fail(w, http.StatusNotFound, "no tenant "+r.PathValue("tenant"))
				return
			}
			if err := fn(w, r, t.ID, body.Name); err != nil {
				status := http.StatusNotFound
				if strings.Contains(err.Error(), "must be") || strings.Contains(err.Error(), "already") {
					status = http.StatusBadRequest
				}
				fail(w, status, err.Error())
			}
		}
	}
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/environments/{env}/companies/{company}/rename", company("the new company name",
		func(w http.ResponseWriter, r *http.Request, tenantID, name string) error {
			if err := emu.RenameCompany(tenantID, r.PathValue("env"), r.PathValue("company"), name); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}))
	m.HandleFunc("POST "+Prefix+"tenants/{tenant}/environments/{env}/companies", company("the new company's name",
		func(w http.ResponseWriter, r *http.Request, tenantID, name string) error {
			id, err := emu.AddCompany(tenantID, r.PathValue("env"), name)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "name": name})
			return nil
		}))
	m.HandleFunc("GET "+Prefix+"stats", func(w http.ResponseWriter, _ *http.Request) {
		st := emu.Stats()
		out := Stats{Requests: st.Requests, Throttled: st.Throttled, Rows: st.Rows, TokenRequests: emu.TokenRequests(), Apps: map[string]AppStats{}}
		for _, k := range emu.LimitedApps() {
			ls := emu.AppLimitStats(k)
			out.Apps[strings.ToLower(k)] = AppStats{Requests: ls.Admitted + int64(ls.Queued), MaxInProcess: ls.MaxOpen, Throttled: ls.Rejected429,
				Resources: emu.AppResources(k)}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	m.HandleFunc("POST "+Prefix+"entitysets/{set}/fields", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			fail(w, http.StatusBadRequest, `the body must be {"name": "...", "type": "Edm.String"}: `+err.Error())
			return
		}
		if err := emu.AddExtensionField(r.PathValue("set"), bcschema.Field{Name: f.Name, Type: f.Type}); err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("DELETE "+Prefix+"entitysets/{set}/fields/{name}", func(w http.ResponseWriter, r *http.Request) {
		if err := emu.RemoveExtensionField(r.PathValue("set"), r.PathValue("name")); err != nil {
			fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no admin route "+r.Method+" "+r.URL.Path+"; see package emulator/control")
	})
	return m
}

// Stats is what GET /_emulator/stats answers: BC's counters since the emulator started.
type Stats struct {
	// Requests counts BC API requests received; Throttled those the limiter answered
	// 429/503; Rows the entities written into responses.
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"`
	Rows      int64 `json:"rows"`
	// TokenRequests counts Entra token requests.
	TokenRequests int64 `json:"tokenRequests"`
	// Apps holds BC's per-app counters by client ID (lower case): each app has its own
	// limits (bc-entra-facts §5), so a harness tells connections of different apps apart.
	Apps map[string]AppStats `json:"apps"`
}

// AppStats is what BC's limits saw of one app.
type AppStats struct {
	// Requests counts the app's requests admitted (processing or queued).
	Requests int64 `json:"requests"`
	// MaxInProcess is the most requests of the app BC held at once.
	MaxInProcess int `json:"maxInProcess"`
	// Throttled counts the 429s BC's limits sent the app.
	Throttled int64 `json:"throttled"`
	// Resources counts the app's admitted requests by what each asked for: the last
	// segment of its path without a key ("companies" for the company list, "customers",
	// "$batch", "$metadata"…).
	Resources map[string]int64 `json:"resources,omitempty"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

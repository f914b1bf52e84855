// Package control is a small admin surface of a running emulator for test harnesses in
// other languages or processes: it changes the Entra directory and the BC registrations
// the way an admin's mistake would (revoke consent, disable the BC app, expire secrets,
// upload a certificate), which Go tests do through the emulator's methods. It has no
// authentication, so `bcconnector emulator` mounts it only with --admin.
package control

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"time"

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
//
// Each answers 204, or 400/404 with {"error": "..."} naming what is wrong.
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
	m.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no admin route "+r.Method+" "+r.URL.Path+"; see package emulator/control")
	})
	return m
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

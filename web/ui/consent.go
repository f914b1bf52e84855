package ui

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"

	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// ConsentCallback is the page Entra sends the customer's admin back to after admin consent
// for Bizzjoiner's app (express setup, Step 5): it records the answer (admin_consent=True,
// or Entra's error) through the service and shows what comes next (Step 6). The admin is
// not signed in to bcconnector, so the composing server mounts it outside the login; the
// link's state parameter (connection ID and a random nonce) is its only authority, and
// nothing is recorded without it. The state is never logged.
func ConsentCallback(svc service.ExpressService, log *slog.Logger) (http.Handler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := template.New("").ParseFS(files, "templates/public/consent.html")
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := struct {
			Title   string
			Problem string
			Result  *service.ConsentResult
		}{Title: "Admin consent"}
		status := http.StatusOK
		res, err := svc.RecordConsent(r.Context(), r.URL.Query())
		switch {
		case err == nil:
			data.Result = &res
			if res.Granted {
				data.Title = "Admin consent granted"
			} else {
				data.Title = "Admin consent not granted"
			}
		case errors.Is(err, service.ErrConsentState), errors.Is(err, store.ErrInvalid):
			status, data.Problem = http.StatusBadRequest, err.Error()
		default:
			log.Error("ui: record consent", "err", err)
			status, data.Problem = http.StatusInternalServerError, "The answer could not be recorded; open the consent link again in a minute."
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "consent", data); err != nil {
			log.Error("ui: render consent", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// The page's URL carries the state: keep it out of Referer headers.
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(status)
		_, _ = io.Copy(w, &buf)
	}), nil
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
)

// newCertificate generates a certificate as the connection's pending credential; the
// active one keeps serving until activate promotes the new one.
func (a *api) newCertificate(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	var in struct {
		Months int `json:"months,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	cv, err := a.svc.NewCertificate(r.Context(), v.ID, in.Months)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/connections/"+v.ID+"/certificates/"+cv.ID)
	writeJSON(w, http.StatusCreated, cv)
	return nil
}

// certificate serves a connection's certificate (public) for the upload in guide Step 3:
// DER (.cer) by default, PEM with ?format=pem.
func (a *api) certificate(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	der, err := a.svc.CertificateDER(r.Context(), v.ID, r.PathValue("credentialId"))
	if err != nil {
		return err
	}
	body, ctype, ext := der, "application/pkix-cert", ".cer"
	switch f := r.URL.Query().Get("format"); strings.ToLower(f) {
	case "", "cer", "der":
	case "pem":
		body, ctype, ext = secret.Certificate{DER: der}.PEM(), "application/x-pem-file", ".pem"
	default:
		return fmt.Errorf("%w: format %.40q is not known; use cer (DER, the default) or pem", errBadRequest, f)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+secret.Thumbprint(der)+ext+`"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// activate checks the connection with its pending credential and promotes it when every
// check passes; otherwise 422 with the report, and nothing changes.
func (a *api) activate(w http.ResponseWriter, r *http.Request) error {
	v, err := a.connection(r)
	if err != nil {
		return err
	}
	rep, err := a.svc.ActivateCredential(r.Context(), v.ID, nil)
	if errors.Is(err, service.ErrSetupFailed) {
		return &reportError{err: err, rep: rep}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

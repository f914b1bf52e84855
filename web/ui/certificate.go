package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
)

// certificateData is what the wizard shows of a generated certificate: its thumbprint (to
// compare with the portal's), its end date and where to download it; never the key.
type certificateData struct {
	Thumbprint string
	NotAfter   string
	CerURL     string
	PEMURL     string
	// SandboxUpload is set when the sandbox can take the upload instead of the portal.
	SandboxUpload bool
}

// certificateOf describes the draft's certificate; nil when it has none.
func certificateOf(c *secret.Certificate, draftID string, sandbox bool) *certificateData {
	if c == nil {
		return nil
	}
	q := "?d=" + url.QueryEscape(draftID)
	return &certificateData{Thumbprint: c.Thumbprint(), NotAfter: c.NotAfter().Format(time.DateOnly),
		CerURL: "/wizard/certificate.cer" + q, PEMURL: "/wizard/certificate.pem" + q, SandboxUpload: sandbox}
}

// step3Certificate is Step 3 showing the certificate, with a flash message.
func step3Certificate(draftID, flash string) string {
	u := "/wizard/step/3?d=" + url.QueryEscape(draftID) + "&kind=certificate"
	if flash != "" {
		u += "&done=" + url.QueryEscape(flash)
	}
	return u
}

// wizardCertificate generates the draft's certificate (replacing a secret or an earlier
// certificate): the key pair stays in the draft until the connection is created, when it
// is sealed like a secret.
func (h *handler) wizardCertificate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	d := h.draftFor(r)
	if d == nil {
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	months, err := strconv.Atoi(r.PostForm.Get("months"))
	if err != nil {
		months = service.DefaultCertificateMonths
	}
	in := d.snapshot()
	d.mu.Lock()
	in.Company, in.CertificateMonths = d.company, months
	d.mu.Unlock()
	cert, err := h.svc.DraftCertificate(in)
	if err != nil {
		wd := h.wizard(d, 3)
		wd.Kind = service.CredentialCertificate
		h.render(w, r, http.StatusUnprocessableEntity, "wizard_3", page{Title: "Step 3", Nav: "wizard", Error: err.Error(), Data: wd})
		return
	}
	d.mu.Lock()
	d.in.Certificate, d.in.Secret = cert, ""
	d.forgetRunLocked() // its result was about the credential before
	d.mu.Unlock()
	h.log.Info("ui: certificate generated for a draft", "thumbprint", cert.Thumbprint())
	http.Redirect(w, r, step3Certificate(d.ID, ""), http.StatusSeeOther)
}

// wizardCertificateFile downloads the draft's certificate: DER (.cer) or PEM (.pem).
func (h *handler) wizardCertificateFile(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	var cert *secret.Certificate
	if d != nil {
		cert = d.snapshot().Certificate
	}
	if cert == nil {
		http.Error(w, "This setup has no certificate (the draft may have expired): generate one in Step 3.", http.StatusNotFound)
		return
	}
	body, ctype, ext := cert.DER, "application/pkix-cert", ".cer"
	if strings.HasSuffix(r.URL.Path, ".pem") {
		body, ctype, ext = cert.PEM(), "application/x-pem-file", ".pem"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+cert.Thumbprint()+ext+`"`)
	_, _ = w.Write(body)
}

// wizardSandboxUpload puts the draft's certificate into the sandbox's Entra (serve
// --sandbox only), standing in for the portal's Upload certificate.
func (h *handler) wizardSandboxUpload(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if h.sandboxUpload == nil || d == nil || d.snapshot().Certificate == nil {
		h.notFound(w, r)
		return
	}
	if err := h.sandboxUpload(d.snapshot().Certificate.DER); err != nil {
		http.Error(w, "the sandbox did not take the certificate: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d.mu.Lock()
	d.forgetRunLocked() // the setup changed: an earlier check's result no longer holds
	d.mu.Unlock()
	http.Redirect(w, r, step3Certificate(d.ID, "uploaded"), http.StatusSeeOther)
}

// connectionCertificate generates a certificate for a stored connection as its pending
// credential: the current one keeps serving until the new one is activated.
func (h *handler) connectionCertificate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	months, err := strconv.Atoi(r.FormValue("months"))
	if err != nil {
		months = service.DefaultCertificateMonths
	}
	if _, err := h.svc.NewCertificate(r.Context(), id, months); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=certificate#rotate-certificate", http.StatusSeeOther)
}

// connectionCertificateFile downloads one of a stored connection's certificates: the path
// ends in .cer (DER) or .pem.
func (h *handler) connectionCertificateFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	credID, ext := strings.TrimSuffix(name, ".cer"), ".cer"
	if strings.HasSuffix(name, ".pem") {
		credID, ext = strings.TrimSuffix(name, ".pem"), ".pem"
	}
	der, err := h.svc.CertificateDER(r.Context(), r.PathValue("id"), credID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, ctype := der, "application/pkix-cert"
	if ext == ".pem" {
		body, ctype = secret.Certificate{DER: der}.PEM(), "application/x-pem-file"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+secret.Thumbprint(der)+ext+`"`)
	_, _ = w.Write(body)
}

// connectionSandboxUpload puts a stored connection's pending certificate into the
// sandbox's Entra (serve --sandbox only).
func (h *handler) connectionSandboxUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := h.svc.GetConnection(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := v.PendingCredential
	if h.sandboxUpload == nil || p == nil || p.Kind != service.CredentialCertificate {
		h.notFound(w, r)
		return
	}
	der, err := h.svc.CertificateDER(r.Context(), id, p.ID)
	if err == nil {
		err = h.sandboxUpload(der)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=uploaded#rotate-certificate", http.StatusSeeOther)
}

// connectionActivate checks the connection with its pending credential and activates it;
// a failed check shows its report and leaves everything as it was.
func (h *handler) connectionActivate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rep, err := h.svc.ActivateCredential(r.Context(), id, nil)
	if err == nil {
		http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=activated", http.StatusSeeOther)
		return
	}
	v, gerr := h.svc.GetConnection(r.Context(), id)
	if gerr != nil {
		h.fail(w, r, gerr)
		return
	}
	cd := h.connData(r.Context(), v)
	if rep != nil {
		run := &doctorRun{cancel: func() {}}
		run.finish(rep, nil)
		cd.Report, cd.Progress = progress(run, "", "", nil), nil
	}
	h.render(w, r, http.StatusUnprocessableEntity, "connection", page{Title: v.Name, Nav: "connections",
		Error: "The new credential was not activated; the current one stays in use. " + err.Error(), Data: cd})
}

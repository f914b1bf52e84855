package ui

import (
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/secret"
)

// TestWizardCertificate: Step 3's certificate tab generates a certificate into the draft,
// shows its thumbprint and serves the .cer and .pem (never the key); Next then needs no
// secret; a secret typed later replaces the certificate; the sandbox upload exists only in
// sandbox mode; an expired draft's certificate is gone.
func TestWizardCertificate(t *testing.T) {
	e := setup(t)
	r := e.get("/wizard")
	d := draftRE.FindStringSubmatch(r.Body)[1]
	want(t, e.post("/wizard", url.Values{"d": {d}, "environment": {"Production"}, "company": {"Company X"}}), 303)
	want(t, e.post("/wizard/step/2", url.Values{"d": {d}, "tenant": {testTenant}, "client": {testClient}}), 303)

	want(t, e.get("/wizard/step/3?d="+d+"&kind=certificate"), 200, "Generate the certificate", `id="tab-certificate" href`)
	want(t, e.get("/wizard/certificate.cer?d="+d), 404, "generate one in Step 3")
	r = e.post("/wizard/certificate", url.Values{"d": {d}, "months": {"24"}})
	want(t, r, 303)
	if loc := r.Header.Get("Location"); loc != "/wizard/step/3?d="+d+"&kind=certificate" {
		t.Fatalf("after generating: %q", loc)
	}
	cert := e.e().drafts.get(d).snapshot().Certificate
	if cert == nil {
		t.Fatal("no certificate in the draft")
	}
	r = e.get("/wizard/step/3?d=" + d)
	want(t, r, 200, cert.Thumbprint(), "/wizard/certificate.cer?d="+d, "Upload certificate", "Generate a new certificate instead")
	if strings.Contains(r.Body, "sandbox-upload") {
		t.Error("the sandbox upload is offered without a sandbox")
	}
	cer := e.get("/wizard/certificate.cer?d=" + d)
	want(t, cer, 200)
	if c, err := x509.ParseCertificate([]byte(cer.Body)); err != nil || secret.Thumbprint(c.Raw) != cert.Thumbprint() ||
		cer.Header.Get("Content-Type") != "application/pkix-cert" || !strings.Contains(cer.Header.Get("Content-Disposition"), cert.Thumbprint()+".cer") {
		t.Fatalf(".cer download: %v %v", err, cer.Header)
	}
	p := e.get("/wizard/certificate.pem?d=" + d)
	if b, _ := pem.Decode([]byte(p.Body)); b == nil || b.Type != "CERTIFICATE" || string(b.Bytes) != cer.Body {
		t.Fatalf(".pem download: %q", p.Body)
	}
	want(t, e.post("/wizard/certificate/sandbox-upload", url.Values{"d": {d}}), 404)
	// Next without a secret: the certificate is the credential.
	r = e.post("/wizard/step/3", url.Values{"d": {d}, "endDate": {""}})
	want(t, r, 303)
	if loc := r.Header.Get("Location"); loc != "/wizard/step/4?d="+d {
		t.Fatalf("Next with a certificate: %q", loc)
	}
	for _, body := range []string{r.Body, e.get("/wizard/step/3?d=" + d).Body, e.get("/wizard/check?d=" + d).Body, e.logs.String()} {
		if strings.Contains(body, "PRIVATE KEY") || strings.Contains(body, cert.Key.Reveal()[:32]) {
			t.Fatal("a page or the log shows the private key")
		}
	}
	// Typing a secret replaces it.
	want(t, e.post("/wizard/step/3", url.Values{"d": {d}, "secret": {testSecret}, "endDate": {testEndDate}}), 303)
	if in := e.e().drafts.get(d).snapshot(); in.Certificate != nil || in.Secret != testSecret {
		t.Error("a typed secret did not replace the certificate")
	}
	want(t, e.get("/wizard/certificate.cer?d="+d), 404)
}

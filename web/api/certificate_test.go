package api_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/secret"
)

// TestCertificateConnection: the platform creates a connection with a certificate (no
// secret), downloads the .cer (DER or PEM), activates it after the upload (422 with the
// Step 3 report before), then rotates to a new certificate without the first one stopping.
// Answers match the OpenAPI schemas both ways; no private key is in any answer or the log.
func TestCertificateConnection(t *testing.T) {
	t.Parallel()
	e := setup(t)
	doc := loadDoc(t)
	in := map[string]any{"name": "Contoso", "tenantId": e.creds.TenantID, "clientId": e.creds.ClientID, "environment": e.creds.Environment,
		"company": e.creds.Company, "authorityHost": e.sb.AuthorityHost(), "bcBaseUrl": e.sb.BCBaseURL(),
		"entities": []string{"customers"}, "credential": "certificate", "certificateMonths": 3}
	var conn map[string]any
	e.do("POST", "/connections", e.token, in, 201, &conn)
	checkRequired(t, doc, "Connection", conn)
	pending, _ := conn["pendingCredential"].(map[string]any)
	if pending == nil || pending["kind"] != "certificate" || pending["state"] != "pending" || conn["credential"] != nil {
		t.Fatalf("created: %v", conn)
	}
	checkRequired(t, doc, "Credential", pending)
	id, certID, thumb := conn["id"].(string), pending["id"].(string), pending["thumbprint"].(string)

	der := e.download(id, certID, "", "application/pkix-cert", thumb+".cer")
	if secret.Thumbprint(der) != thumb {
		t.Fatalf("downloaded %s, shown %s", secret.Thumbprint(der), thumb)
	}
	if c, err := x509.ParseCertificate(der); err != nil || c.NotAfter.Sub(c.NotBefore).Hours() < 24*88 || c.NotAfter.Sub(c.NotBefore).Hours() > 24*93 {
		t.Fatalf("certificate: %v", err)
	}
	p := e.download(id, thumb, "?format=pem", "application/x-pem-file", thumb+".pem")
	if b, _ := pem.Decode(p); b == nil || string(b.Bytes) != string(der) {
		t.Errorf("the PEM is not the certificate: %q", p)
	}
	var ferr problemBody
	e.do("GET", "/connections/"+id+"/certificates/"+certID+"?format=xml", e.token, nil, 400, &ferr)
	if !strings.Contains(ferr.Detail, "pem") {
		t.Errorf("unknown format: %+v", ferr)
	}
	e.do("GET", "/connections/"+id+"/certificates/nope", e.token, nil, 404, nil)
	other := e.newToken("other", []string{"someone-else"})
	e.do("GET", "/connections/"+id+"/certificates/"+certID, other, nil, 404, nil)
	e.do("POST", "/connections/"+id+"/certificates", other, `{}`, 404, nil)

	// Nothing can sync before the certificate is active.
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 409, &ferr)
	if !strings.Contains(ferr.Detail, thumb) {
		t.Errorf("sync before activation: %+v", ferr)
	}
	// Before the upload: 422 with the report naming Step 3; nothing changes.
	e.do("POST", "/connections/"+id+"/activate", e.token, nil, 422, &ferr)
	if ferr.Code != "setup_failed" || ferr.Step != "Step 3" {
		t.Fatalf("activate before the upload: %+v", ferr)
	}
	e.sb.UploadCertificate(idp.Certificate{DER: der})
	var rep map[string]any
	e.do("POST", "/connections/"+id+"/activate", e.token, nil, 200, &rep)
	checkRequired(t, doc, "DoctorReport", rep)
	conn = nil // a fresh map: Unmarshal merges into an old one
	e.do("GET", "/connections/"+id, e.token, nil, 200, &conn)
	active, _ := conn["credential"].(map[string]any)
	if active == nil || active["thumbprint"] != thumb || conn["pendingCredential"] != nil || conn["companyId"] != e.creds.CompanyID {
		t.Fatalf("after activation: %v", conn)
	}
	checkRequired(t, doc, "Credential", active)
	e.do("GET", "/connections/"+id+"/companies", e.token, nil, 200, nil)
	// The replica fills through the certificate's tokens.
	e.do("POST", "/connections/"+id+"/sync", e.token, map[string]any{"entities": []string{"customers"}}, 202, nil)
	e.waitRows(id, "customers")

	// Rotation to a new certificate.
	var next map[string]any
	st, hdr, b := e.call("POST", "/connections/"+id+"/certificates", e.token, `{"months":24}`)
	if st != 201 || json.Unmarshal(b, &next) != nil || next["thumbprint"] == thumb || !strings.HasSuffix(hdr.Get("Location"), "/certificates/"+next["id"].(string)) {
		t.Fatalf("new certificate: %d %s %v", st, b, hdr)
	}
	checkRequired(t, doc, "Credential", next)
	e.do("POST", "/connections/"+id+"/certificates", e.token, `{"months":99}`, 422, &ferr)
	e.do("POST", "/connections/"+id+"/certificates", e.token, `{"years":1}`, 400, nil)
	e.do("POST", "/connections/"+id+"/activate", e.token, nil, 422, nil)
	e.do("GET", "/connections/"+id+"/companies", e.token, nil, 200, nil) // the first one still serves
	e.sb.UploadCertificate(idp.Certificate{DER: e.download(id, next["id"].(string), "", "application/pkix-cert", next["thumbprint"].(string)+".cer")})
	e.do("POST", "/connections/"+id+"/activate", e.token, nil, 200, nil)
	e.do("GET", "/connections/"+id, e.token, nil, 200, &conn)
	if conn["credential"].(map[string]any)["thumbprint"] != next["thumbprint"] {
		t.Errorf("after the rotation: %v", conn["credential"])
	}

	// No private key anywhere: the key of the active certificate, in the forms it could take.
	key, _, err := e.db.ActiveSecret(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte(key.Reveal())
	e.scanSecrets(base64.StdEncoding.EncodeToString(raw)[:64], string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: raw}))[:90])
}

// download fetches a certificate and checks its content type and file name.
func (e *env) download(id, certID, query, ctype, filename string) []byte {
	e.t.Helper()
	st, hdr, b := e.call("GET", "/connections/"+id+"/certificates/"+certID+query, e.token, nil)
	if st != 200 || hdr.Get("Content-Type") != ctype || !strings.Contains(hdr.Get("Content-Disposition"), `filename="`+filename+`"`) {
		e.t.Fatalf("download %s%s: %d %v", certID, query, st, hdr)
	}
	return b
}

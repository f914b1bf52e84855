package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/secret"
)

// TestCLICertificate: `connection add --certificate` stores the connection with a generated
// certificate and writes the .cer/.pem; activate fails (Step 3, nothing changes) until the
// certificate is uploaded, then activates it; the connection reads BC; `rotate
// --certificate` moves to a new certificate the same way, without the old one stopping.
func TestCLICertificate(t *testing.T) {
	e := newCLIEnv(t, emulator.ScenarioOK)
	cr := e.srv.Credentials()
	dir := t.TempDir()
	first := filepath.Join(dir, "contoso.cer")
	code, out, errOut := e.run("", "connection", "add", "--name", "contoso", "--tenant", cr.TenantID, "--client-id", cr.ClientID,
		"--environment", cr.Environment, "--company", cr.Company, "--certificate", first, "--certificate-months", "6",
		"--authority-host", e.srv.AuthorityHost(), "--bc-base-url", e.srv.BCBaseURL(), "--ca-file", e.srv.CAFile)
	if code != 0 || !strings.Contains(out, "Upload certificate") || !strings.Contains(out, "connection activate") {
		t.Fatalf("connection add --certificate: %d\n%s\n%s", code, out, errOut)
	}
	thumb := readCertificateFiles(t, first)
	if !strings.Contains(out, thumb) {
		t.Errorf("the output does not show the thumbprint %s:\n%s", thumb, out)
	}
	if code, out, _ = e.run("", "connection", "show", "contoso"); code != 0 || !strings.Contains(out, "waits for its upload") || !strings.Contains(out, thumb) {
		t.Errorf("show before activation: %s", out)
	}
	code, out, errOut = e.run("", "connection", "activate", "contoso")
	if code == 0 || !strings.Contains(out, "Step 3") || !strings.Contains(out, "has not been uploaded") || !strings.Contains(errOut, "stays pending") {
		t.Fatalf("activate before the upload: %d\n%s\n%s", code, out, errOut)
	}
	upload := func(path string) {
		der, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e.srv.UploadCertificate(idp.Certificate{DER: der})
	}
	upload(first)
	if code, out, errOut = e.run("", "connection", "activate", "contoso"); code != 0 || !strings.Contains(out, "The setup is right") || !strings.Contains(out, "certificate "+thumb+" is now active") {
		t.Fatalf("activate after the upload: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = e.run("", "companies", "contoso"); code != 0 || !strings.Contains(out, "Company X") {
		t.Errorf("companies with the certificate: %d %s", code, out)
	}

	// Rotate to a new certificate: the old one serves until the new one is activated.
	second := filepath.Join(dir, "next")
	if code, out, errOut = e.run("", "connection", "rotate", "contoso", "--certificate", second); code != 0 || !strings.Contains(out, "stays in use") {
		t.Fatalf("rotate --certificate: %d\n%s\n%s", code, out, errOut)
	}
	thumb2 := readCertificateFiles(t, second+".cer")
	if code, _, _ = e.run("", "connection", "activate", "contoso"); code == 0 {
		t.Fatal("activated a certificate that was not uploaded")
	}
	if code, out, _ = e.run("", "doctor", "contoso"); code != 0 || !strings.Contains(out, thumb) {
		t.Errorf("the current certificate stopped working during the rotation: %d %s", code, out)
	}
	// The certificate can be written again for the upload.
	again := filepath.Join(dir, "again.cer")
	if code, out, errOut = e.run("", "connection", "certificate", "contoso", "--out", again); code != 0 || readCertificateFiles(t, again) != thumb2 {
		t.Fatalf("connection certificate: %d %s %s", code, out, errOut)
	}
	upload(again)
	if code, out, errOut = e.run("", "connection", "activate", "contoso"); code != 0 || !strings.Contains(out, thumb2) {
		t.Fatalf("activate the second certificate: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ = e.run("", "connection", "show", "contoso"); code != 0 || strings.Count(out, "retired") != 1 || !strings.Contains(out, "certificate "+thumb2+" expires") {
		t.Errorf("show after the rotation: %s", out)
	}
	// Wrong combinations are refused with a clear message.
	if code, _, errOut = e.run("x\n", "connection", "rotate", "contoso", "--certificate", second, "--secret-stdin"); code == 0 || !strings.Contains(errOut, "not both") {
		t.Errorf("rotate with a certificate and a secret: %d %s", code, errOut)
	}
	if code, _, errOut = e.run("", "connection", "rotate", "contoso", "--certificate", second, "--certificate-months", "99"); code == 0 || !strings.Contains(errOut, "certificate validity") {
		t.Errorf("99 months: %d %s", code, errOut)
	}
	// No private key was printed.
	if bytes.Contains(e.printed.Bytes(), []byte("PRIVATE KEY")) {
		t.Error("a private key was printed")
	}
}

// readCertificateFiles checks the .cer (DER) and the .pem beside it hold one certificate
// and returns its thumbprint; neither holds a private key.
func readCertificateFiles(t *testing.T, cer string) string {
	t.Helper()
	der, err := os.ReadFile(cer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		t.Fatalf("%s is not a DER certificate: %v", cer, err)
	}
	p, err := os.ReadFile(strings.TrimSuffix(cer, ".cer") + ".pem")
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(p)
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, der) || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("the .pem does not hold the .cer's certificate alone")
	}
	return secret.Thumbprint(der)
}

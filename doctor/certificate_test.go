package doctor_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/emulator/idp"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
)

// certificateFor makes the certificate bcconnector would generate for the sandbox's app.
func certificateFor(t *testing.T, notBefore, notAfter time.Time) secret.Certificate {
	t.Helper()
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "doctor test", NotBefore: notBefore, NotAfter: notAfter, Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// certificateConfig is sandboxConfig with a certificate instead of the secret.
func certificateConfig(sb *emulatortest.Sandbox, c *secret.Certificate) doctor.Config {
	cfg := sandboxConfig(sb)
	cfg.Input.Secret, cfg.Input.SecretEndDate, cfg.Input.Certificate = "", "", c
	return cfg
}

// tokenRewrite wraps the emulator so that a token request's form passes through fn first
// (what a proxy between bcconnector and Entra could do), with the request's path.
func tokenRewrite(fn func(r *http.Request, form url.Values)) emulatortest.Option {
	return emulatortest.Wrap(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				fn(r, form)
				enc := form.Encode()
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(enc)), int64(len(enc))
			}
			h.ServeHTTP(w, r)
		})
	})
}

// TestCertificateFailures: every way Entra refuses a certificate connection's assertion
// names Step 3 with its own problem and fix; a working certificate passes every check.
func TestCertificateFailures(t *testing.T) {
	t.Parallel()
	now := time.Now()
	okc := okCreds(t)
	for _, tc := range []struct {
		name    string
		cfg     emulator.Config
		opts    []emulatortest.Option
		upload  func(sb *emulatortest.Sandbox, c secret.Certificate)
		aadsts  string
		problem string // in Problem
		fix     string // in Fix
	}{
		{name: "not uploaded", upload: func(*emulatortest.Sandbox, secret.Certificate) {},
			aadsts: "AADSTS700027", problem: "has not been uploaded", fix: "Upload certificate"},
		{name: "uploaded to another app", upload: func(sb *emulatortest.Sandbox, _ secret.Certificate) {
			sb.UploadCertificate(idp.Certificate{DER: certificateFor(t, now.Add(-time.Hour), now.AddDate(1, 0, 0)).DER})
		}, aadsts: "AADSTS700027", problem: "has not been uploaded", fix: "Upload certificate"},
		{name: "expired in Entra", upload: func(sb *emulatortest.Sandbox, c secret.Certificate) {
			// The portal keeps the key's own dates; here they ended yesterday.
			sb.UploadCertificate(idp.Certificate{DER: c.DER, StartDate: now.AddDate(-1, 0, 0), EndDate: now.AddDate(0, 0, -1)})
		}, aadsts: "AADSTS700027", problem: "outside its validity", fix: "generate a new certificate"},
		{name: "signature altered on the way", upload: upload,
			opts: []emulatortest.Option{tokenRewrite(func(_ *http.Request, f url.Values) {
				a := []byte(f.Get("client_assertion"))
				i := bytes.LastIndexByte(a, '.') + 10
				a[i] ^= 'A' ^ 'B' // a signature character (both letters are base64url)
				if a[i] != 'A' && a[i] != 'B' {
					a[i] = 'A'
				}
				f.Set("client_assertion", string(a))
			})},
			aadsts: "AADSTS700027", problem: "did not match", fix: "generate a new certificate"},
		{name: "wrong audience", upload: upload, cfg: emulator.Config{Entra: emulator.EntraOptions{StrictAssertionAudience: true}},
			// A proxy that rewrites the tenant's GUID in the token URL to its domain (the
			// scenario's, which the seed fixes): the assertion names the URL bcconnector posted to.
			opts: []emulatortest.Option{tokenRewrite(func(r *http.Request, _ url.Values) {
				r.URL.Path = strings.Replace(r.URL.Path, "/"+okc.TenantID+"/", "/"+okc.TenantDomain+"/", 1)
			})},
			aadsts: "AADSTS50012", problem: "audience", fix: "authority host"},
		{name: "clock off", upload: upload, cfg: emulator.Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }},
			aadsts: "AADSTS700024", problem: "clock", fix: "NTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := emulatortest.Start(t, tc.cfg, tc.opts...)
			cert := certificateFor(t, now.Add(-time.Hour), now.AddDate(1, 0, 0))
			tc.upload(sb, cert)
			cfg := certificateConfig(sb, &cert)
			rep := doctor.Run(context.Background(), cfg)
			c, _ := rep.Check(doctor.CheckToken)
			if rep.OK || rep.FailedStep == nil || *rep.FailedStep != guide.Step3Secret || c.Status != doctor.Failed {
				t.Fatalf("failed step %v, token check %s\n%s", rep.FailedStep, c.Status, text(rep))
			}
			if c.Evidence == nil || !strings.Contains(c.Evidence.Description, tc.aadsts) ||
				!strings.Contains(c.Problem, tc.problem) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("token check: problem %q, fix %q, evidence %+v; want %s, %q, %q", c.Problem, c.Fix, c.Evidence, tc.aadsts, tc.problem, tc.fix)
			}
			if strings.Contains(text(rep), "client secret") && !strings.Contains(c.Fix, "secret") {
				t.Errorf("a certificate connection's report talks of a client secret:\n%s", text(rep))
			}
		})
	}
}

// okCreds are the credentials of the "ok" scenario (the same for every emulator of a seed).
func okCreds(t *testing.T) emulator.Credentials {
	e, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.Credentials()
}

func upload(sb *emulatortest.Sandbox, c secret.Certificate) {
	sb.UploadCertificate(idp.Certificate{DER: c.DER})
}

// TestCertificatePasses: with the certificate uploaded every check passes, the report names
// the certificate's thumbprint and end date, and warns at the guide's levels as it nears.
func TestCertificatePasses(t *testing.T) {
	t.Parallel()
	sb := emulatortest.Start(t, emulator.Config{})
	now := time.Now()
	cert := certificateFor(t, now.Add(-time.Hour), now.AddDate(0, 0, 10).Add(time.Hour))
	upload(sb, cert)
	rep := doctor.Run(context.Background(), certificateConfig(sb, &cert))
	if !rep.OK {
		t.Fatalf("not OK:\n%s", text(rep))
	}
	c, _ := rep.Check(doctor.CheckSecretExpiry)
	if c.Status != doctor.Warning || c.Title != "Certificate end date" || !strings.Contains(c.Problem, "expires in 10 days") ||
		!strings.Contains(strings.Join(c.Details, " "), cert.Thumbprint()) || !strings.Contains(c.Fix, "--certificate") {
		t.Errorf("end date check %+v", c)
	}
	if lvl, _ := guide.ExpiryLevel(cert.NotAfter(), now); lvl != guide.Expiry14 {
		t.Errorf("level %q", lvl)
	}
	// Expired by the doctor's clock: a Step 3 failure before anything is sent.
	cfg := certificateConfig(sb, &cert)
	cfg.Now = func() time.Time { return now.AddDate(0, 0, 11) }
	rep = doctor.Run(context.Background(), cfg)
	if in, _ := rep.Check(doctor.CheckInput); rep.OK || *rep.FailedStep != guide.Step3Secret || !strings.Contains(in.Problem, "expired") {
		t.Errorf("expired certificate:\n%s", text(rep))
	}
}

package idp

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// TestMSALConfidentialClientCertificate: Microsoft's authentication library itself (MSAL Go's
// confidential client, not through azidentity) gets tokens from the emulator with a
// certificate: its own assertion from CertFromPEM + NewCredFromCert (PS256, x5t#S256; with
// and without x5c), and an assertion handed to NewCredFromAssertionCallback the way the
// older MSALs sign it (RS256 with a SHA-1 x5t), with the strict audience and single-use jti
// checks on. An unregistered certificate gets Entra's AADSTS700027, and RS256 is refused when
// RejectRS256 says so. docs/EMULATOR.md records the result.
func TestMSALConfidentialClientCertificate(t *testing.T) {
	t.Parallel()
	now := time.Now() // MSAL stamps nbf/exp from the wall clock, so the emulator runs on it too
	key := testKey()
	der := selfSigned(t, key, now.Add(-time.Hour), now.AddDate(1, 0, 0))
	strict := func(c *Config) { c.Now = time.Now; c.StrictAssertionAudience = true; c.RejectReplayedAssertions = true }
	f := certFixture(t, strict, Certificate{DER: der})
	srv := httptest.NewTLSServer(f.s)
	t.Cleanup(srv.Close)
	client := func(t *testing.T, s *httptest.Server, tenant string, cred confidential.Credential, opts ...confidential.Option) confidential.Client {
		t.Helper()
		c, err := confidential.New(s.URL+"/"+tenant, certClient, cred,
			append([]confidential.Option{confidential.WithHTTPClient(s.Client()), confidential.WithInstanceDiscovery(false)}, opts...)...)
		must(t, err)
		return c
	}

	// The PEM a user exports: certificate and PKCS #8 key, read by MSAL's own CertFromPEM.
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...)
	certs, pk, err := confidential.CertFromPEM(pemData, "")
	must(t, err)
	cred, err := confidential.NewCredFromCert(certs, pk)
	must(t, err)
	for _, tc := range []struct {
		tenant string
		opts   []confidential.Option
	}{{tenantID, nil}, {tenantDomain, []confidential.Option{confidential.WithX5C()}}} {
		res, err := client(t, srv, tc.tenant, cred, tc.opts...).AcquireTokenByCredential(context.Background(), []string{BCDefaultScope})
		if err != nil {
			t.Fatalf("tenant %s (x5c %v): %v", tc.tenant, tc.opts != nil, err)
		}
		c, err := f.s.Verify(res.AccessToken)
		must(t, err)
		if c.AppID != certClient || c.AppIDACR != "2" || c.TID != tenantID || len(c.Roles) != 1 {
			t.Errorf("claims %+v", c)
		}
	}

	// An assertion of the older MSALs' kind through MSAL Go's assertion callback.
	rs256 := confidential.NewCredFromAssertionCallback(func(_ context.Context, o confidential.AssertionRequestOptions) (string, error) {
		return makeAssertion(t, time.Now(), o.TokenEndpoint, assertionOpts{alg: "RS256", sha1Thumb: true, key: key, der: der}), nil
	})
	if _, err := client(t, srv, tenantID, rs256).AcquireTokenByCredential(context.Background(), []string{BCDefaultScope}); err != nil {
		t.Errorf("RS256 assertion through the callback: %v", err)
	}
	noRS := certFixture(t, func(c *Config) { strict(c); c.RejectRS256 = true }, Certificate{DER: der})
	srvNoRS := httptest.NewTLSServer(noRS.s)
	t.Cleanup(srvNoRS.Close)
	if _, err := client(t, srvNoRS, tenantID, rs256).AcquireTokenByCredential(context.Background(), []string{BCDefaultScope}); err == nil || !strings.Contains(err.Error(), "AADSTS") {
		t.Errorf("RS256 with RejectRS256: %v, want an AADSTS error", err)
	}

	// A certificate the app does not have.
	other := otherKey()
	unreg, err := x509.ParseCertificate(selfSigned(t, other, now.Add(-time.Hour), now.AddDate(1, 0, 0)))
	must(t, err)
	bad, err := confidential.NewCredFromCert([]*x509.Certificate{unreg}, other)
	must(t, err)
	_, err = client(t, srv, tenantID, bad).AcquireTokenByCredential(context.Background(), []string{BCDefaultScope})
	if err == nil || !strings.Contains(err.Error(), "AADSTS700027") || !strings.Contains(err.Error(), "The key was not found.") {
		t.Errorf("unregistered certificate: %v", err)
	}
}

package guide

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	good := Input{
		TenantID: "7c0b7a3e-1111-4222-8333-944455556666", ClientID: "4f6c2b1d-1111-4222-8333-944455556666",
		Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456", Environment: "Production", Company: "Company X",
		SecretEndDate: "2027-11-26",
	}
	if _, notices, err := Validate(good, now); err != nil || len(notices) != 1 || notices[0].Message != "read as 26 November 2027 (2027-11-26)" {
		t.Fatalf("good input: %v %v, want only the end date's echo", err, notices)
	}
	cases := []struct {
		name  string
		edit  func(*Input)
		field string
		step  Step
		want  string
	}{
		{"empty tenant", func(in *Input) { in.TenantID = "" }, "tenant ID", Step2IDs, "empty"},
		{"tenant word", func(in *Input) { in.TenantID = "contoso" }, "tenant ID", Step2IDs, "neither a GUID"},
		{"tenant common", func(in *Input) { in.TenantID = "common" }, "tenant ID", Step2IDs, "AADSTS9001023"},
		{"client not guid", func(in *Input) { in.ClientID = "bizzjoiner-app" }, "client ID", Step2IDs, "not a GUID"},
		{"client equals tenant", func(in *Input) { in.ClientID = in.TenantID }, "client ID", Step2IDs, "same as the tenant ID"},
		{"secret is the secret ID", func(in *Input) { in.Secret = "0e2b8f5a-1111-4222-8333-944455556666" }, "client secret", Step3Secret, "Secret ID"},
		{"secret empty", func(in *Input) { in.Secret = "  " }, "client secret", Step3Secret, "empty"},
		{"secret short", func(in *Input) { in.Secret = "abc" }, "client secret", Step3Secret, "only 3 characters"},
		{"environment space", func(in *Input) { in.Environment = "My Prod" }, "environment", ConnectionSettings, "' '"},
		{"environment empty", func(in *Input) { in.Environment = "" }, "environment", ConnectionSettings, "empty"},
		{"company too long", func(in *Input) { in.Company = strings.Repeat("x", 31) }, "company", ConnectionSettings, "at most 30"},
		{"end date past", func(in *Input) { in.SecretEndDate = "2026-01-01" }, "secret end date", Step3Secret, "expired"},
		{"end date garbage", func(in *Input) { in.SecretEndDate = "next year" }, "secret end date", Step3Secret, "not a date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			_, _, err := Validate(in, now)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a FieldError, got %v", err)
			}
			if fe.Field != tc.field || fe.Step != tc.step || !strings.Contains(fe.Error(), tc.want) || fe.Fix == "" {
				t.Errorf("got %+v (%v), want field %q step %v containing %q", fe, fe, tc.field, tc.step, tc.want)
			}
			if strings.Contains(err.Error(), good.Secret.Reveal()) {
				t.Error("error message contains the secret")
			}
		})
	}
}

func TestValidateTrimsAndNotices(t *testing.T) {
	in := Input{TenantID: " contoso.onmicrosoft.com ", ClientID: "4F6C2B1D-1111-4222-8333-944455556666\n",
		Secret: "Kx38Q~abcdefghijklmnopqrstuvwxyz0123456 ", Environment: "Sandbox", SecretEndDate: "2026-12-05"}
	out, notices, err := Validate(in, now)
	if err != nil {
		t.Fatal(err)
	}
	if out.TenantID != "contoso.onmicrosoft.com" || out.ClientID != "4f6c2b1d-1111-4222-8333-944455556666" || strings.HasSuffix(out.Secret.Reveal(), " ") {
		t.Errorf("not cleaned: %+v", out)
	}
	var trimmed, expiry int
	for _, n := range notices {
		if strings.Contains(n.Message, "spaces were removed") {
			trimmed++
		}
		if strings.Contains(n.Message, "expires in 8 days") {
			expiry++
		}
	}
	if trimmed != 3 || expiry != 1 {
		t.Errorf("notices = %+v", notices)
	}
}

func TestExpiryLevel(t *testing.T) {
	for _, tc := range []struct {
		days float64
		want string
	}{{60, ExpiryNone}, {29.5, Expiry30}, {13, Expiry14}, {2, Expiry3}, {0.5, Expiry3}, {-1, ExpiryExpired}} {
		got, _ := ExpiryLevel(now.Add(time.Duration(tc.days*24)*time.Hour), now)
		if got != tc.want {
			t.Errorf("%v days: %q, want %q", tc.days, got, tc.want)
		}
	}
	if got, _ := ExpiryLevel(time.Time{}, now); got != ExpiryNone {
		t.Error("zero end date must not warn")
	}
}

func TestGuideValues(t *testing.T) {
	if got := DisplayName("Production", "Company X"); got != "Bizzjoiner – BC Connector – Production – Company X" {
		t.Errorf("DisplayName = %q", got)
	}
	u := AdminConsentURL("", "contoso.onmicrosoft.com", "4f6c2b1d-1111-4222-8333-944455556666")
	if !strings.HasPrefix(u, "https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?") ||
		!strings.Contains(u, "redirect_uri=https%3A%2F%2Fbusinesscentral.dynamics.com%2FOAuthLanding.htm") {
		t.Errorf("AdminConsentURL = %s", u)
	}
	if Step4Permissions.String() != "Step 4 – Assign API Permissions" || Step6BCAccess.Short() != "Step 6" {
		t.Error("step names")
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("contoso.onmicrosoft.com", "4f6c2b1d-1111-4222-8333-944455556666", "secret-value-1234567890", "Production", "Company X", "2027-01-01")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, tenant, client, secret, env, company, end string) {
		out, _, err := Validate(Input{tenant, client, asSecret(secret), end, env, company, nil}, now)
		if err == nil && (out.TenantID == "" || out.ClientID == "" || out.Secret == "" || out.Environment == "") {
			t.Fatalf("accepted empty values: %+v", out)
		}
		if err != nil && len(secret) >= 8 && strings.Contains(err.Error(), secret) && !strings.Contains(tenant+client+env+company+end, secret) {
			t.Fatalf("secret echoed in %v", err)
		}
	})
}

// asSecret converts a fuzzed string (the fuzz parameter hides the package name).
func asSecret(s string) secret.Secret { return secret.Secret(s) }

func TestCheckCertificate(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c, err := secret.GenerateCertificate(secret.CertificateOptions{Subject: "x", NotBefore: start, NotAfter: start.AddDate(1, 0, 0), Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secret.GenerateCertificate(secret.CertificateOptions{Subject: "x", NotBefore: start, NotAfter: start.AddDate(1, 0, 0), Bits: 2048})
	for _, tc := range []struct {
		cert secret.Certificate
		now  time.Time
		want string // "" = accepted
	}{
		{c, start.AddDate(0, 6, 0), ""},
		{c, time.Time{}, ""},
		{c, start.AddDate(1, 0, 1), "expired on 2027-12-01"},
		{c, start.Add(-time.Hour), "clock may be off"},
		{secret.Certificate{DER: c.DER, Key: other.Key}, start, "does not belong"},
	} {
		fe := CheckCertificate(tc.cert, tc.now)
		switch {
		case tc.want == "" && fe != nil:
			t.Errorf("at %s: %v", tc.now, fe)
		case tc.want != "" && (fe == nil || !strings.Contains(fe.Problem, tc.want) || fe.Step != Step3Secret || fe.Fix == ""):
			t.Errorf("at %s: %v, want a Step 3 problem containing %q", tc.now, fe, tc.want)
		}
	}
	// Validate takes the certificate instead of a secret, and its end date.
	out, _, err := Validate(Input{TenantID: "contoso.onmicrosoft.com", ClientID: "4f6c2b1d-1111-4222-8333-944455556666",
		Environment: "Production", Certificate: &c, SecretEndDate: "not looked at"}, start.AddDate(0, 1, 0))
	if err != nil || out.Certificate != &c || !out.SecretEndDate.Equal(c.NotAfter()) || !out.Credential().IsCertificate() {
		t.Errorf("Validate with a certificate: %+v %v", out.SecretEndDate, err)
	}
}

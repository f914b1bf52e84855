package guide

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/bizzjoiner/bcconnector/secret"
)

// FieldError is a value the admin typed that cannot be right. It names the field, the
// guide step the value comes from, what is wrong and what to do.
type FieldError struct {
	Field   string // "tenant ID", "client ID", "client secret", "environment", "company", "secret end date"
	Step    Step
	Problem string
	Fix     string
}

// Error reads like "client secret (Step 3 – Create a Client Secret): it looks like a
// GUID … Fix: …".
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s (%s): %s. Fix: %s", e.Field, e.Step, e.Problem, e.Fix)
}

// Notice is something the validation changed or wants the admin to know, without
// refusing the value.
type Notice struct {
	Field   string
	Message string
}

// Input is what the admin hands over at the end of the guide, plus the connection settings.
type Input struct {
	TenantID      string
	ClientID      string
	Secret        secret.Secret // never echoed in any message
	SecretEndDate string        // optional, YYYY-MM-DD or another form CheckSecretEndDate reads
	Environment   string
	Company       string // name or id; optional at validation time
	// Certificate, when set, is the credential instead of Secret: a certificate bcconnector
	// generated, whose .cer the admin uploads in Step 3 (Certificates tab). Its end date is
	// the certificate's, and SecretEndDate is ignored.
	Certificate *secret.Certificate
}

// Checked is an Input that passed validation, trimmed and parsed.
type Checked struct {
	TenantID, ClientID, Environment, Company string
	Secret                                   secret.Secret
	SecretEndDate                            time.Time // zero if not given
	Certificate                              *secret.Certificate
}

// Credential is the checked credential: the certificate when there is one, else the secret.
func (c Checked) Credential() secret.Credential {
	return secret.Credential{Secret: c.Secret, Certificate: c.Certificate}
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)
)

// IsGUID reports whether s is a GUID in 8-4-4-4-12 form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// IsTenant reports whether s can name a tenant in Entra's URL: a GUID or a domain such
// as contoso.onmicrosoft.com (anything else is AADSTS900023, bc-entra-facts §1.4).
func IsTenant(s string) bool { return IsGUID(s) || len(s) <= 253 && domainRE.MatchString(s) }

// Validate checks every field and returns the cleaned values, notices (e.g. spaces that
// were removed) and all problems at once as an errors.Join of *FieldError.
func Validate(in Input, now time.Time) (Checked, []Notice, error) {
	var out Checked
	var notices []Notice
	var errs []error
	trim := func(field, v string) string {
		t := strings.TrimSpace(v)
		if t != v && t != "" {
			notices = append(notices, Notice{Field: field, Message: "leading or trailing spaces were removed"})
		}
		return t
	}
	var fe *FieldError
	if out.TenantID, fe = CheckTenant(trim("tenant ID", in.TenantID)); fe != nil {
		errs = append(errs, fe)
	}
	if out.ClientID, fe = CheckClientID(trim("client ID", in.ClientID)); fe != nil {
		errs = append(errs, fe)
	}
	if in.Certificate != nil {
		if fe = CheckCertificate(*in.Certificate, now); fe != nil {
			errs = append(errs, fe)
		}
		out.Certificate = in.Certificate
		out.SecretEndDate = in.Certificate.NotAfter()
	} else if out.Secret, fe = CheckSecret(secret.Secret(trim("client secret", in.Secret.Reveal()))); fe != nil {
		// The secret is trimmed like the others; its value is never copied into a string
		// that outlives this call.
		errs = append(errs, fe)
	}
	if out.Environment, fe = CheckEnvironment(trim("environment", in.Environment)); fe != nil {
		errs = append(errs, fe)
	}
	out.Company = trim("company", in.Company)
	if out.Company != "" {
		if _, fe = CheckCompany(out.Company); fe != nil {
			errs = append(errs, fe)
		}
	}
	if d := trim("secret end date", in.SecretEndDate); d != "" && in.Certificate == nil {
		end, n, fe := CheckSecretEndDate(d, now)
		if fe != nil {
			errs = append(errs, fe)
		}
		if n != nil {
			notices = append(notices, *n)
		}
		out.SecretEndDate = end
	}
	if out.ClientID != "" && out.ClientID == out.TenantID {
		errs = append(errs, &FieldError{Field: "client ID", Step: Step2IDs,
			Problem: "it is the same as the tenant ID",
			Fix:     "on the app's Overview page, copy 'Application (client) ID' for the client ID and 'Directory (tenant) ID' for the tenant ID; they are different values"})
	}
	return out, notices, errors.Join(errs...)
}

// spacesProblem is the one wording for a value with leading or trailing spaces, for callers
// that check values as given (Validate trims them first, with a Notice).
const spacesProblem = "it has leading or trailing spaces or line breaks"

// CheckTenant accepts a tenant GUID or a verified domain such as contoso.onmicrosoft.com.
func CheckTenant(v string) (string, *FieldError) {
	if fe := checkTenantBasics(v); fe != nil {
		return "", fe
	}
	fe := tenantError("")
	switch {
	case IsGUID(v):
		if v == "00000000-0000-0000-0000-000000000000" {
			fe.Problem = "it is the empty GUID"
			break
		}
		return strings.ToLower(v), nil
	case domainRE.MatchString(v):
		return strings.ToLower(v), nil
	default:
		fe.Problem = notATenant(v)
	}
	return "", fe
}

// checkTenantBasics applies the tenant rules no working value breaks: not empty, no
// surrounding spaces, a specific tenant, and only letters, digits, '.' and '-'
// (azidentity's own rule).
func checkTenantBasics(v string) *FieldError {
	switch {
	case v == "":
		return tenantError("it is empty")
	case strings.TrimSpace(v) != v:
		return tenantError(spacesProblem)
	case strings.EqualFold(v, "common") || strings.EqualFold(v, "organizations") || strings.EqualFold(v, "consumers"):
		return tenantError(fmt.Sprintf("%q is not a tenant; client credentials need your own tenant (AADSTS9001023)", v))
	case strings.ContainsFunc(v, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '.' || r == '-')
	}):
		return tenantError(notATenant(v))
	}
	return nil
}

func notATenant(v string) string {
	return fmt.Sprintf("%q is neither a GUID (8-4-4-4-12 hex digits) nor a domain such as contoso.onmicrosoft.com", redactLong(v))
}

func tenantError(problem string) *FieldError {
	return &FieldError{Field: "tenant ID", Step: Step2IDs, Problem: problem,
		Fix: "in the Entra admin center open App registrations → your app → Overview and copy 'Directory (tenant) ID'"}
}

// CheckSendable applies, to the values as given, the rules a tenant ID, client ID and
// secret must meet before any request carries them (package entra calls it): every rule
// of CheckClientID, and the part of CheckTenant and CheckSecret that no working value
// breaks. Validate adds the stricter rules that catch what an admin most likely got wrong
// (a domain's shape, a secret's length, a Secret ID instead of the Value); values that
// bypass them reach Entra, whose answer the doctor explains.
func CheckSendable(tenant, client string, sec secret.Secret) *FieldError {
	if fe := checkTenantBasics(tenant); fe != nil {
		return fe
	}
	if _, fe := CheckClientID(client); fe != nil {
		return fe
	}
	return checkSecretBasics(sec)
}

// CheckSendableCertificate is CheckSendable for a certificate credential: the tenant and
// client rules, and a certificate Entra can accept (CheckCertificate without the dates,
// which Entra judges).
func CheckSendableCertificate(tenant, client string, cert secret.Certificate) *FieldError {
	if fe := checkTenantBasics(tenant); fe != nil {
		return fe
	}
	if _, fe := CheckClientID(client); fe != nil {
		return fe
	}
	return CheckCertificate(cert, time.Time{})
}

// CheckCertificate checks a certificate credential bcconnector generated: it parses, its
// key is RSA of at least 2048 bits and belongs to it, and (unless now is zero) it is valid
// now. The key is never part of a message.
func CheckCertificate(cert secret.Certificate, now time.Time) *FieldError {
	fe := &FieldError{Field: "certificate", Step: Step3Secret}
	if err := cert.Check(); err != nil {
		fe.Problem = strings.TrimPrefix(err.Error(), "secret: ")
		fe.Fix = "generate a new certificate in bcconnector, upload its .cer under Certificates & secrets → Certificates → Upload certificate, then check again"
		return fe
	}
	if now.IsZero() {
		return nil
	}
	x, _ := cert.X509() // Check parsed it
	switch {
	case now.Before(x.NotBefore):
		fe.Problem = "the certificate is valid only from " + x.NotBefore.UTC().Format(time.RFC3339) + "; this machine's clock may be off"
		fe.Fix = "check the clock of the machine running bcconnector, or generate a new certificate"
	case !now.Before(x.NotAfter):
		fe.Problem = "the certificate expired on " + x.NotAfter.UTC().Format(time.DateOnly)
		fe.Fix = "generate a new certificate in bcconnector, upload its .cer under Certificates & secrets → Certificates, and rotate it in"
	default:
		return nil
	}
	return fe
}

// CheckClientID accepts the Application (client) ID, a GUID.
func CheckClientID(v string) (string, *FieldError) {
	if IsGUID(v) && v != "00000000-0000-0000-0000-000000000000" {
		return strings.ToLower(v), nil
	}
	problem := "it is empty"
	switch {
	case v != "" && strings.TrimSpace(v) != v && IsGUID(strings.TrimSpace(v)):
		problem = spacesProblem
	case v != "":
		problem = fmt.Sprintf("%q is not a GUID (8-4-4-4-12 hex digits)", redactLong(v))
	}
	return "", &FieldError{Field: "client ID", Step: Step2IDs, Problem: problem,
		Fix: "in the Entra admin center open App registrations → your app → Overview and copy 'Application (client) ID' (not the Object ID)"}
}

// CheckSecret rejects values that cannot be a client secret's Value. The secret itself is
// never repeated in the message.
func CheckSecret(sec secret.Secret) (secret.Secret, *FieldError) {
	if fe := checkSecretBasics(sec); fe != nil {
		return "", fe
	}
	v := sec.Reveal() // inspected here, never returned or printed
	fe := &FieldError{Field: "client secret", Step: Step3Secret}
	switch {
	case LooksLikeSecretID(sec):
		// The portal shows "Value" and "Secret ID" side by side; the ID is a GUID.
		fe.Problem = "it looks like a GUID, which is the Secret ID, not the secret's Value"
		fe.Fix = "under Certificates & secrets the Value is shown only once, right after 'Add'; if you did not copy it, create a new client secret and paste its Value"
	case strings.ContainsFunc(v, unicode.IsSpace):
		fe.Problem = "it contains spaces or line breaks inside it"
		fe.Fix = "copy the Value again with the copy button next to it, without surrounding text"
	case len(v) < 16:
		fe.Problem = fmt.Sprintf("it has only %d characters; Entra secret values are about 40", len(v))
		fe.Fix = "copy the whole Value with the copy button next to it"
	default:
		return sec, nil
	}
	return "", fe
}

// checkSecretBasics applies the secret rules no working value breaks: not empty, no
// surrounding spaces.
func checkSecretBasics(sec secret.Secret) *FieldError {
	v := sec.Reveal() // inspected here, never returned or printed
	fe := &FieldError{Field: "client secret", Step: Step3Secret}
	switch {
	case v == "":
		fe.Problem = "it is empty"
		fe.Fix = "paste the secret's Value, copied right after creating it under Certificates & secrets"
	case strings.TrimSpace(v) != v:
		fe.Problem = spacesProblem
		fe.Fix = "paste the secret's Value without them, copied with the copy button next to it"
	default:
		return nil
	}
	return fe
}

// CheckEnvironment accepts a BC environment name: 1–30 letters, digits, '-' or '_'.
func CheckEnvironment(v string) (string, *FieldError) {
	fe := &FieldError{Field: "environment", Step: ConnectionSettings,
		Fix: "use the environment name exactly as the Business Central admin center lists it, e.g. Production or Sandbox"}
	switch {
	case v == "":
		fe.Problem = "it is empty"
	case len(v) > 30:
		fe.Problem = fmt.Sprintf("it has %d characters; environment names have at most 30", len(v))
	default:
		for i, r := range v {
			if !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')) {
				fe.Problem = fmt.Sprintf("character %q at position %d is not allowed (letters, digits, '-' and '_' only)", r, i+1)
				return "", fe
			}
		}
		return v, nil
	}
	return "", fe
}

// CheckCompany accepts a company name (at most 30 characters in BC) or a company GUID.
func CheckCompany(v string) (string, *FieldError) {
	if IsGUID(v) {
		return strings.ToLower(v), nil
	}
	if n := len([]rune(v)); n > 30 {
		return "", &FieldError{Field: "company", Step: ConnectionSettings,
			Problem: fmt.Sprintf("it has %d characters; Business Central company names have at most 30", n),
			Fix:     "pick the company from the list the connection shows, or copy its name from Business Central's Companies page"}
	}
	return v, nil
}

// Expiry levels: warnings start 30 days before the end date and escalate at 14 and 3.
const (
	ExpiryNone    = ""
	Expiry30      = "30"
	Expiry14      = "14"
	Expiry3       = "3"
	ExpiryExpired = "expired"
)

// ExpiryLevel says how close a secret end date is: ExpiryNone, Expiry30, Expiry14,
// Expiry3 or ExpiryExpired, and the whole days left. A zero end date is ExpiryNone.
func ExpiryLevel(end, now time.Time) (string, int) {
	if end.IsZero() {
		return ExpiryNone, 0
	}
	left := end.Sub(now)
	days := int(left.Hours() / 24)
	switch {
	case left <= 0:
		return ExpiryExpired, 0
	case days < 3:
		return Expiry3, days
	case days < 14:
		return Expiry14, days
	case days < 30:
		return Expiry30, days
	}
	return ExpiryNone, days
}

func redactLong(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// LooksLikeSecretID reports whether sec is a GUID: the Secret ID the portal shows next to
// the secret's Value, pasted by mistake.
func LooksLikeSecretID(sec secret.Secret) bool { return IsGUID(sec.Reveal()) }

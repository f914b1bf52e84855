package idp

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// aadError is one Entra STS error: the OAuth error value, the AADSTS number, the HTTP status and
// the message that follows "AADSTSnnnn: " in error_description (bc-entra-facts §1.3, §1.4).
type aadError struct {
	status int
	err    string
	code   int
	msg    string
}

// errorBody is the Entra error response body, keys in Entra's order (bc-entra-facts §1.3).
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// entraTimestamp is Entra's timestamp layout: "yyyy-MM-dd HH:mm:ssZ", a space, not a T.
const entraTimestamp = "2006-01-02 15:04:05Z"

func (e aadError) body(rc *reqCtx) errorBody {
	ts := rc.now.UTC().Format(entraTimestamp)
	return errorBody{
		Error: e.err,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.code, e.msg, rc.traceID, rc.correlationID, ts),
		ErrorCodes:    []int{e.code},
		Timestamp:     ts,
		TraceID:       rc.traceID,
		CorrelationID: rc.correlationID,
		ErrorURI:      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(e.code),
	}
}

// The AADSTS errors of bc-entra-facts §1.4 and §11 item 3. Message texts are Entra's
// (observed or documented); where the reference has only a pattern, the text is the
// documented description.

func errTenantMalformed(t string) aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 900023,
		fmt.Sprintf("Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain.", t)}
}

func errTenantEmptyGUID(t string) aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 90002,
		fmt.Sprintf("Requested tenant identifier '%s' is not valid. Tenant identifiers may not be an empty GUID.", t)}
}

func errTenantNotFound(t string) aadError {
	return aadError{http.StatusBadRequest, "invalid_tenant", 90002,
		fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t)}
}

// errCommonEndpoint answers /common and /consumers (bc-entra-facts §1.1) and, by extension,
// /organizations, which names no tenant either [UNCONFIRMED for organizations]. The `error`
// value is not in the reference ("?"); invalid_request is the best guess [UNCONFIRMED].
func errCommonEndpoint() aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 9001023,
		"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."}
}

func errMethodNotAllowed(method string) aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 900561,
		fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", method)}
}

func errMissingParam(name string) aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 900144,
		fmt.Sprintf("The request body must contain the following parameter: '%s'.", name)}
}

func errBadRequestFormat() aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 90004,
		"The request isn't properly formatted."}
}

func errResourceParam() aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 901002,
		"The 'resource' request parameter isn't supported."}
}

// errUnsupportedGrant: the reference gives only "unsupported grant type"; this wording is
// the one seen in Entra responses [UNCONFIRMED exact text].
func errUnsupportedGrant(gt string) aadError {
	return aadError{http.StatusBadRequest, "unsupported_grant_type", 70003,
		fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt)}
}

func errScopeNoDefault(scope string) aadError {
	return aadError{http.StatusBadRequest, "invalid_scope", 1002012,
		fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)}
}

func errMultipleResources() aadError {
	return aadError{http.StatusBadRequest, "invalid_scope", 700022,
		"The provided value for the input parameter scope isn't valid because it contains more than one resource."}
}

func errResourceNotFound(resource, tenantName string) aadError {
	return aadError{http.StatusBadRequest, "invalid_resource", 500011,
		fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, tenantName)}
}

func errAppNotFound(appID, tenantName string) aadError {
	return aadError{http.StatusBadRequest, "unauthorized_client", 700016,
		fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", appID, tenantName)}
}

// errMissingServicePrincipal is AADSTS7000229 as observed in 2025 for a client whose
// service principal is gone from the tenant (auth-jobs-delivery-facts §2). The error value
// and status are not in the reference; invalid_client 400 is the guess [UNCONFIRMED].
func errMissingServicePrincipal(appID, tenantID string) aadError {
	return aadError{http.StatusBadRequest, "invalid_client", 7000229,
		fmt.Sprintf("The client application %s is missing service principal in the tenant %s. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119", appID, tenantID)}
}

// errAdminConsentRequired is AADSTS90094 (AdminConsentRequired): a user who may not consent
// followed an admin-consent link in a tenant whose admin disabled user consent
// (auth-jobs-delivery-facts §2). Entra's redirect shape for it is UNCONFIRMED; the emulator
// redirects with error=access_denied, as for a declined consent.
func errAdminConsentRequired() aadError {
	return aadError{http.StatusForbidden, "access_denied", 90094,
		"Admin consent is required for the permissions requested by this application. An administrator of the tenant must grant it."}
}

// errAdminConsentWorkflow is AADSTS90095 (AdminConsentRequiredRequestAccess): as 90094, in a
// tenant with the admin consent workflow on, where the user may ask an admin for approval.
func errAdminConsentWorkflow() aadError {
	return aadError{http.StatusForbidden, "access_denied", 90095,
		"Admin consent is required for the permissions requested by this application. You can request approval from an administrator of the tenant."}
}

func errNoCredential() aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 7000218,
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
}

func errAppDisabled(status int, appID, appName string) aadError {
	return aadError{status, "unauthorized_client", 7000112,
		fmt.Sprintf("Application '%s'(%s) is disabled.", appID, appName)}
}

func errSecretExpired(appID string) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 7000222,
		fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", appID)}
}

func errBadSecret(appID string) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 7000215,
		fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)}
}

// The certificate-credential errors of auth-jobs-delivery-facts §1. All are invalid_client
// with 401, as for a wrong secret; the status of 50027, 50012 and 700024 is not in the
// reference [UNCONFIRMED].

// certDocs is where Entra's certificate errors point.
const certDocs = "Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials ."

// errInvalidJWT is AADSTS50027 with a reason; the 2016 wording for a missing thumbprint is
// "Invalid JWT token. No certificate thumbprint specified in token header." The other
// reasons are the emulator's [UNCONFIRMED].
func errInvalidJWT(reason string) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 50027, "Invalid JWT token. " + reason}
}

// errAssertionType: a client_assertion with another client_assertion_type. Entra's code for
// this is not in the reference [UNCONFIRMED]; AADSTS50027 is the closest.
func errAssertionType(typ string) aadError {
	return errInvalidJWT(fmt.Sprintf("The client_assertion_type '%s' is not supported; send %s.", clip(typ), jwtBearer))
}

// keyEntraDate is how Entra prints a key's dates in AADSTS700027 ("Start=09/10/2018 11:07:21").
const keyEntraDate = "01/02/2006 15:04:05"

func foundKey(start, end time.Time) string {
	return fmt.Sprintf("Found key 'Start=%s, End=%s'", start.UTC().Format(keyEntraDate), end.UTC().Format(keyEntraDate))
}

// errKeyNotFound is AADSTS700027 in its 2026 wording: no certificate of the app has the
// thumbprint the assertion names.
func errKeyNotFound(thumbprint, appID string) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 700027,
		fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. Review the documentation at https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to learn more.]", thumbprint, appID)}
}

// errKeyExpired is AADSTS700027 for a registered key outside its start and end dates.
func errKeyExpired(thumbprint string, start, end time.Time) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 700027,
		fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s', %s]", thumbprint, foundKey(start, end))}
}

// errAssertionSignature: the key was found but the signature does not verify. The reason
// text is observed; that client assertions get 700027 for it is UNCONFIRMED.
func errAssertionSignature(thumbprint string, start, end time.Time) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 700027,
		fmt.Sprintf("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s', %s]", thumbprint, foundKey(start, end))}
}

// errWeakKey: a certificate key below the minimum (AADSTS50032 WeakRsaKey; the minimum and
// the wording are UNCONFIRMED).
func errWeakKey(bits, minBits int) aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 50032,
		fmt.Sprintf("WeakRsaKey - The certificate's RSA key has %d bits; keys of at least %d bits are required.", bits, minBits)}
}

// errAssertionAudience is the 2017 wording for a wrong aud; the current code is UNCONFIRMED.
func errAssertionAudience() aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 50012,
		"Client assertion audience claim does not match Realm issuer."}
}

// assertionTime is the time layout of AADSTS700024 ("2021-06-03T02:59:39.1862108Z").
const assertionTime = "2006-01-02T15:04:05.0000000Z"

func errAssertionTime(now, nbf, exp time.Time) aadError {
	from := "(none)"
	if !nbf.IsZero() {
		from = nbf.UTC().Format(assertionTime)
	}
	return aadError{http.StatusUnauthorized, "invalid_client", 700024,
		fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. %s",
			now.UTC().Format(assertionTime), from, exp.UTC().Format(assertionTime), certDocs)}
}

// errSubjectMismatch is AADSTS50048 SubjectMismatchesIssuer (reference-error-codes.md).
func errSubjectMismatch() aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 50048,
		"Subject mismatches Issuer claim in the client assertion. Contact the tenant admin."}
}

// errAssertionClientMismatch: iss = sub but not the client_id sent. AADSTS700021 is Entra's
// ClientAssertionApplicationIdMismatch; it is not in the reference [UNCONFIRMED].
func errAssertionClientMismatch() aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 700021,
		"Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://aka.ms/certCreds ."}
}

// errAssertionReplayed: a jti seen before, with Config.RejectReplayedAssertions. Entra
// documents no code for it [UNCONFIRMED]; the emulator answers AADSTS50027.
func errAssertionReplayed() aadError {
	return errInvalidJWT("The client assertion's jti was used before; send a new assertion with a fresh jti for every request.")
}

func errInvalidInstance() aadError {
	return aadError{http.StatusBadRequest, "invalid_instance", 50049,
		"Unknown or invalid instance."}
}

func errMalformedDiscovery() aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 50050,
		"The request is malformed."}
}

func errNoReplyAddress() aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 900971,
		"No reply address provided."}
}

func errReplyMismatch(uri, appID string) aadError {
	return aadError{http.StatusBadRequest, "invalid_request", 50011,
		fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", uri, appID)}
}

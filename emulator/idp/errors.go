package idp

import (
	"fmt"
	"net/http"
	"strconv"
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

// errAssertionUnsupported: the emulator's apps have no certificate or federated credentials,
// so any client_assertion fails as an assertion signed by an unregistered key would.
func errAssertionUnsupported() aadError {
	return aadError{http.StatusUnauthorized, "invalid_client", 700027,
		"Client assertion failed signature validation. The emulator supports client secrets only; register a secret and send client_secret."}
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

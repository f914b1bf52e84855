package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBodyBytes bounds a subscriptions request body; a subscription is a few hundred bytes.
const maxBodyBytes = 1 << 20

// Handle serves the subscriptions API of one API route for an authenticated caller
// (bc-entra-facts §7.1):
//
//	GET    …/subscriptions              200 {"@odata.context":…,"value":[…]}
//	POST   …/subscriptions              201 + subscription (after the handshake)
//	GET    …/subscriptions('{id}')      200 + subscription
//	PATCH  …/subscriptions('{id}')      200 + subscription (If-Match required; handshake again)
//	DELETE …/subscriptions('{id}')      204 (If-Match required)
//
// owner is the caller's user id (stored as userId / systemCreatedBy / systemModifiedBy).
// apiPrefix is the route the request came in on, "api/v2.0" or "api/{pub}/{grp}/{ver}"; a
// subscription's resource must use the same one. id is the unquoted key of
// subscriptions('{id}'), "" for the collection. writeErr writes a BC error body (and the
// CorrelationId suffix); nil writes a plain {"error":{"code","message"}}.
func (m *Manager) Handle(w http.ResponseWriter, r *http.Request, owner, apiPrefix, id string, writeErr func(w http.ResponseWriter, status int, code, message string)) {
	if writeErr == nil {
		writeErr = writeBCError
	}
	fail := func(err error) {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Status: http.StatusInternalServerError, Code: CodeInternalServerError, Message: err.Error()}
		}
		writeErr(w, e.Status, e.Code, e.Message)
	}
	base := serviceRoot(r)
	apiPrefix = strings.Trim(apiPrefix, "/")

	if id == "" {
		switch r.Method {
		case http.MethodGet:
			subs := m.List()
			list := make([]wireSubscription, len(subs))
			for i, s := range subs {
				list[i] = s.wire("")
			}
			writeJSON(w, http.StatusOK, struct {
				Context string             `json:"@odata.context"`
				Value   []wireSubscription `json:"value"`
			}{base + "/$metadata#subscriptions", list})
		case http.MethodPost:
			in, err := readBody(r)
			if err != nil {
				fail(err)
				return
			}
			var url, res, state string
			if in.NotificationURL != nil {
				url = *in.NotificationURL
			}
			if in.Resource != nil {
				res = *in.Resource
			}
			if in.ClientState != nil {
				state = *in.ClientState
			}
			s, err := m.create(r.Context(), owner, apiPrefix, url, res, state)
			if err != nil {
				fail(err)
				return
			}
			w.Header().Set("Location", base+"/subscriptions('"+s.SubscriptionID+"')")
			writeJSON(w, http.StatusCreated, s.wire(base+"/$metadata#subscriptions/$entity"))
		default:
			fail(methodNotAllowed(r.Method, "Collection"))
		}
		return
	}

	switch r.Method {
	case http.MethodGet:
		s, ok := m.Get(id)
		if !ok {
			fail(errNotFound(id))
			return
		}
		writeJSON(w, http.StatusOK, s.wire(base+"/$metadata#subscriptions/$entity"))
	case http.MethodPatch:
		in, err := readBody(r)
		if err != nil {
			fail(err)
			return
		}
		s, err := m.update(r.Context(), owner, apiPrefix, id, r.Header.Get("If-Match"), Patch(in))
		if err != nil {
			fail(err)
			return
		}
		writeJSON(w, http.StatusOK, s.wire(base+"/$metadata#subscriptions/$entity"))
	case http.MethodDelete:
		if err := m.Delete(id, r.Header.Get("If-Match")); err != nil {
			fail(err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(methodNotAllowed(r.Method, "Entity"))
	}
}

// methodNotAllowed uses BC's wording (bc-entra-facts §3.3, BadRequest_MethodNotAllowed).
func methodNotAllowed(method, edmType string) *Error {
	return &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: fmt.Sprintf(
		"'%s' requests for 'subscriptions' of EdmType '%s' are not allowed within Dynamics 365 Business Central OData web services.",
		clip(method), edmType)}
}

// serviceRoot is the request URL up to the API route, for @odata.context and Location.
func serviceRoot(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.Path
	if i := strings.LastIndex(path, "/subscriptions"); i >= 0 {
		path = path[:i]
	}
	return scheme + "://" + r.Host + path
}

// bc-entra-facts §4.4: JSON responses carry odata.metadata=minimal and OData-Version 4.0.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshalNoEscape(v)
	if err != nil {
		writeBCError(w, http.StatusInternalServerError, CodeInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeBCError is the fallback error writer (bc-entra-facts §3.2 shape, without the
// correlation suffix).
func writeBCError(w http.ResponseWriter, status int, code, message string) {
	body, _ := marshalNoEscape(map[string]map[string]string{"error": {"code": code, "message": message}})
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// subscriptionBody is a POST or PATCH body: the writable properties, each nil when absent or
// null.
type subscriptionBody struct {
	NotificationURL *string
	Resource        *string
	ClientState     *string
}

// readOnlyProperties are subscription properties a body may carry (Microsoft's own create
// example sends them) but that the server sets; they are ignored.
var readOnlyProperties = map[string]bool{
	"subscriptionId": true, "userId": true, "lastModifiedDateTime": true, "expirationDateTime": true,
	"timestamp": true, "systemCreatedAt": true, "systemCreatedBy": true, "systemModifiedAt": true,
	"systemModifiedBy": true,
}

func readBody(r *http.Request) (subscriptionBody, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return subscriptionBody{}, errBadRequest("Invalid Request Body: %s", err.Error())
	}
	if len(data) > maxBodyBytes {
		return subscriptionBody{}, errBadRequest("Invalid Request Body: larger than %d bytes. Send only notificationUrl, resource and clientState.", maxBodyBytes)
	}
	return parseSubscriptionBody(data, r.Method == http.MethodPatch)
}

// parseSubscriptionBody decodes a subscriptions POST/PATCH body. An empty body is allowed for
// PATCH (a plain renewal). Unknown properties are rejected the way OData does; read-only
// properties and instance annotations ("@odata.etag", …) are ignored.
func parseSubscriptionBody(data []byte, allowEmpty bool) (subscriptionBody, error) {
	var out subscriptionBody
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		if allowEmpty {
			return out, nil
		}
		return out, errBadRequest("Invalid Request Body: it is empty. Send a JSON object with notificationUrl, resource and optionally clientState.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return out, errBadRequest("Invalid Request Body: %s. Send a JSON object with notificationUrl, resource and optionally clientState.", jsonErrText(err))
	}
	if obj == nil {
		return out, errBadRequest("Invalid Request Body: expected a JSON object, got null.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return out, errBadRequest("Invalid Request Body: unexpected data after the JSON object.")
	}
	for name, raw := range obj {
		var dst **string
		switch name {
		case notificationURLFieldName:
			dst = &out.NotificationURL
		case resourceFieldName:
			dst = &out.Resource
		case clientStateFieldName:
			dst = &out.ClientState
		default:
			if readOnlyProperties[name] || strings.Contains(name, "@") {
				continue
			}
			// OData's wording for an undeclared property.
			return out, errBadRequest("The property '%s' does not exist on type 'Microsoft.NAV.subscriptions'. Make sure to only use property names that are defined by the type.", clip(name))
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, errBadRequest("Invalid Request Body: the property '%s' must be a JSON string.", name)
		}
		*dst = &s
	}
	return out, nil
}

// jsonErrText shortens encoding/json errors for a message.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d (%s)", se.Offset, se.Error())
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "expected a JSON object, got a JSON " + te.Value
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the JSON ends early"
	}
	return err.Error()
}

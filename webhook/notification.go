package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ChangeType is a notification's changeType (bc-entra-facts §7.3).
type ChangeType string

// The change types BC sends.
const (
	ChangeCreated ChangeType = "created"
	ChangeUpdated ChangeType = "updated"
	ChangeDeleted ChangeType = "deleted"
	// ChangeCollection replaces the single-record notifications when more than 1,000 records
	// of a subscription changed in one coalescing window (§7.3). It is also what a Hint says
	// when this package itself cannot tell which records changed.
	ChangeCollection ChangeType = "collection"
)

// notification is one element of a notification POST's "value" array (bc-entra-facts §7.3):
//
//	{"subscriptionId":"…","clientState":"…","expirationDateTime":"2018-10-29T12:50:30Z",
//	 "resource":"api/v2.0/companies(…)/customers(130bbd17-…)","changeType":"created",
//	 "lastModifiedDateTime":"2018-10-26T12:54:26.057Z"}
type notification struct {
	SubscriptionID       string `json:"subscriptionId"`
	ClientState          string `json:"clientState"`
	ExpirationDateTime   string `json:"expirationDateTime"`
	Resource             string `json:"resource"`
	ChangeType           string `json:"changeType"`
	LastModifiedDateTime string `json:"lastModifiedDateTime"`
}

// errNotPayload: the body is JSON but not {"value":[…]}.
var errNotPayload = errors.New(`the body is not a BC notification payload {"value":[…]}`)

// parseNotifications reads a notification POST body, {"value":[…]} (bc-entra-facts §7.3), as
// a stream, so a large batch is never held as one document. It returns the well-formed items
// and how many elements of "value" it skipped because they were not notification objects
// with a subscriptionId. Other members of the top-level object are skipped. When the body is
// cut short or not such an object, the items read so far are returned with the error.
func parseNotifications(r io.Reader) (items []notification, skipped int, err error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return nil, 0, err
	}
	sawValue := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return items, skipped, err
		}
		name, _ := tok.(string)
		if name != "value" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return items, skipped, err
			}
			continue
		}
		sawValue = true
		if err := expectDelim(dec, '['); err != nil {
			return items, skipped, err
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return items, skipped, err
			}
			var n notification
			if json.Unmarshal(raw, &n) != nil || n.SubscriptionID == "" {
				skipped++
				continue
			}
			items = append(items, n)
		}
		if err := expectDelim(dec, ']'); err != nil {
			return items, skipped, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return items, skipped, err
	}
	if !sawValue {
		return items, skipped, errNotPayload
	}
	return items, skipped, nil
}

// expectDelim reads the next token and checks that it is the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return fmt.Errorf("%w: found %s where %q was expected", errNotPayload, clip(fmt.Sprint(tok)), string(d))
	}
	return nil
}

// notifiedResource is what a notification's resource says about the change.
type notifiedResource struct {
	// EntitySet is the last path segment's name, e.g. "customers".
	EntitySet string
	// Key is the record key of a single-entity change, unquoted and unescaped; "" for a
	// collection.
	Key string
	// Since is the lower bound of a collection's $filter=lastModifiedDateTime gt …; zero
	// when absent.
	Since time.Time
}

// parseResource reads a notification's resource (bc-entra-facts §7.3), relative or absolute:
//
//	api/v2.0/companies({id})/customers({guid})                        single entity, GUID key
//	/api/v2.0/companies({id})/items('ITEM%2F1')                       Code key, quoted, URI-escaped
//	/api/v2.0/companies({id})/salesInvoices?$filter=lastModifiedDateTime%20gt%202018-10-15T11:00:00Z
//	/api/v2.0/companies({id})/salesInvoices                           collection without a bound
func parseResource(res string) (notifiedResource, error) {
	var out notifiedResource
	path, query, _ := strings.Cut(res, "?")
	if i := strings.Index(path, "://"); i >= 0 {
		u, err := url.Parse(res)
		if err != nil {
			return out, fmt.Errorf("resource %q is not a URL: %w", clip(res), err)
		}
		path, query = u.EscapedPath(), u.RawQuery
	}
	path = strings.TrimRight(path, "/")
	seg := path
	// A quoted key is URI-escaped, so its '/' arrive as %2F: the last '/' ends the path.
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		seg = path[i+1:]
	}
	name, key, hasKey := strings.Cut(seg, "(")
	out.EntitySet = name
	if hasKey {
		if !strings.HasSuffix(key, ")") {
			return out, fmt.Errorf("resource %q: key of %q lacks its ')'", clip(res), clip(name))
		}
		key = strings.TrimSuffix(key, ")")
		k, err := unquoteKey(key)
		if err != nil {
			return out, fmt.Errorf("resource %q: %w", clip(res), err)
		}
		out.Key = k
	}
	if name == "" {
		return out, fmt.Errorf("resource %q names no entity set", clip(res))
	}
	for part := range strings.SplitSeq(query, "&") {
		v, ok := strings.CutPrefix(part, "$filter=")
		if !ok {
			continue
		}
		// PathUnescape keeps '+', which a time offset may hold; BC writes spaces as %20.
		f, err := url.PathUnescape(v)
		if err != nil {
			return out, fmt.Errorf("resource %q: $filter is not URI-escaped: %w", clip(res), err)
		}
		fields := strings.Fields(f)
		if len(fields) != 3 || !strings.EqualFold(fields[0], "lastModifiedDateTime") || (fields[1] != "gt" && fields[1] != "ge") {
			return out, fmt.Errorf("resource %q: $filter %q is not lastModifiedDateTime gt <time>", clip(res), clip(f))
		}
		t, err := time.Parse(time.RFC3339Nano, fields[2])
		if err != nil {
			return out, fmt.Errorf("resource %q: $filter time %q: %w", clip(res), clip(fields[2]), err)
		}
		out.Since = t.UTC()
	}
	return out, nil
}

// unquoteKey turns a URL key into the record key: a GUID or integer as is, a quoted string
// ('…', URI-escaped, ' doubled) into its value.
func unquoteKey(k string) (string, error) {
	u, err := url.PathUnescape(k)
	if err != nil {
		return "", fmt.Errorf("key %q is not URI-escaped: %w", clip(k), err)
	}
	if strings.HasPrefix(u, "'") {
		if len(u) < 2 || !strings.HasSuffix(u, "'") {
			return "", fmt.Errorf("key %q lacks its closing quote", clip(k))
		}
		return strings.ReplaceAll(u[1:len(u)-1], "''", "'"), nil
	}
	if u == "" {
		return "", errors.New("key is empty")
	}
	return u, nil
}

// parseTime reads a BC Edm.DateTimeOffset; zero when empty or malformed.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// clip shortens outside input for error messages and logs.
func clip(s string) string {
	n := 120
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/odata"
)

// listQuery is a parsed set of OData query options (bc-entra-facts §4.2–4.3).
type listQuery struct {
	filter        *odata.Filter
	orderBy       []odata.OrderBy
	sel           map[string]bool
	selList       []string
	expand        []odata.ExpandItem
	top, skip     int
	hasTop        bool
	count         bool
	token         *skipToken
	pageSize      int
	schemaVersion string
	ent           *bcschema.Entity // the entity rendered; nil: the table's
}

// entity is the entity rows are rendered with: the request's (with extension fields added
// since the table was made, Emulator.AddExtensionField), else the table's.
func (q *listQuery) entity(tab *table) *bcschema.Entity {
	if q.ent != nil {
		return q.ent
	}
	return tab.ent
}

// supportedOptions are the system query options BC's API pages accept; others (e.g.
// $search, $apply: UNCONFIRMED, assumed unsupported, §4.2) are rejected.
var supportedOptions = map[string]bool{
	"$filter": true, "$select": true, "$expand": true, "$orderby": true, "$top": true,
	"$skip": true, "$count": true, "$skiptoken": true, "$schemaversion": true, "$format": true,
}

// filterOptions are the OData options for an entity with the configured UNCONFIRMED knobs.
func (e *Emulator) filterOptions(ent *bcschema.Entity, schemaVersion string) odata.Options {
	opt := odata.OptionsFor(ent, schemaVersion)
	opt.CaseInsensitive = e.cfg.Filter.CaseInsensitive
	opt.EnumALNames = e.cfg.Filter.EnumALNames
	opt.IgnoreFilterOnLambda = e.cfg.Filter.IgnoreFilterOnLambda
	return opt
}

func odataErr(err error) *apiError {
	if oe, ok := err.(*odata.Error); ok {
		return &apiError{Status: oe.Status, Code: oe.Code, Message: oe.Message}
	}
	return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
}

// parseListQuery reads the query options of a GET on a collection or entity.
func (e *Emulator) parseListQuery(r *http.Request, ent *bcschema.Entity) (*listQuery, *apiError) {
	v := r.URL.Query()
	for k := range v {
		if strings.HasPrefix(k, "$") && !supportedOptions[k] {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "The query parameter '%s' is not supported.", k)
		}
	}
	q := &listQuery{schemaVersion: v.Get("$schemaversion")}
	opt := e.filterOptions(ent, q.schemaVersion)
	fields := odata.FieldsOf(ent)
	var err error
	if s := v.Get("$filter"); s != "" {
		if q.filter, err = odata.ParseFilter(s, fields, opt); err != nil {
			return nil, odataErr(err)
		}
	}
	if s := v.Get("$orderby"); s != "" {
		if q.orderBy, err = odata.ParseOrderBy(s, fields, opt); err != nil {
			return nil, odataErr(err)
		}
		if len(q.orderBy) == 1 && q.orderBy[0].Field == "id" && !q.orderBy[0].Desc {
			q.orderBy = nil // the natural order
		}
	}
	if s := v.Get("$select"); s != "" {
		if q.selList, err = odata.ParseSelect(s, fields, opt); err != nil {
			return nil, odataErr(err)
		}
		q.sel = make(map[string]bool, len(q.selList))
		for _, f := range q.selList {
			q.sel[f] = true
		}
	}
	if s := v.Get("$expand"); s != "" {
		if q.expand, err = odata.ParseExpand(s); err != nil {
			return nil, odataErr(err)
		}
		for _, x := range q.expand {
			if !hasNavigation(ent, x.Navigation) {
				return nil, errf(http.StatusBadRequest, codeInvalidRequestURL, "Could not find a property named '%s' on type '%s'.", x.Navigation, ent.EdmTypeName())
			}
		}
	}
	if s := v.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", s)
		}
		q.top, q.hasTop = n, true
	}
	if s := v.Get("$skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", s)
		}
		q.skip = n
	}
	if s := v.Get("$count"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid value '%s' for $count query option found. Valid values are 'true' and 'false'.", s)
		}
		q.count = b
	}
	if s := v.Get("$skiptoken"); s != "" {
		tok, err := decodeSkipToken(s)
		if err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "The skip token '%s' is not valid.", s)
		}
		q.token = tok
	}
	size, aerr := e.pageSize(r)
	if aerr != nil {
		return nil, aerr
	}
	q.pageSize = size
	return q, nil
}

const codeInvalidRequestURL = "BadRequest_InvalidRequestUrl"

func hasNavigation(ent *bcschema.Entity, name string) bool {
	for _, n := range ent.Navigation {
		if n.Name == name {
			return true
		}
	}
	return false
}

// pageSize applies Prefer: odata.maxpagesize below the server cap (§4.3).
func (e *Emulator) pageSize(r *http.Request) (int, *apiError) {
	size := e.cfg.MaxPageSize
	for _, pref := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(pref, ",") {
			val, ok := strings.CutPrefix(strings.TrimSpace(p), "odata.maxpagesize=")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n <= 0 {
				return 0, errf(http.StatusBadRequest, codeBadRequest, "The value '%s' of the odata.maxpagesize preference is not a positive integer.", val)
			}
			if n > e.cfg.MaxPageSize {
				if e.cfg.PageSizeAboveCap413 {
					return 0, errf(http.StatusRequestEntityTooLarge, codeBadRequest, "The requested page size %d exceeds the maximum page size of %d.", n, e.cfg.MaxPageSize)
				}
				n = e.cfg.MaxPageSize
			}
			size = n
		}
	}
	return size, nil
}

// skipToken is the opaque continuation of a page: the sort keys and id of the last row sent.
type skipToken struct {
	Keys []tokenValue `json:"k,omitempty"`
	ID   string       `json:"i"`
}

type tokenValue struct {
	T string `json:"t"`
	V string `json:"v"`
}

func encodeSkipToken(keys []any, id string) string {
	tok := skipToken{ID: id}
	for _, k := range keys {
		tok.Keys = append(tok.Keys, toTokenValue(k))
	}
	b, _ := json.Marshal(tok)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(s string) (*skipToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var tok skipToken
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, err
	}
	for _, k := range tok.Keys {
		if _, err := fromTokenValue(k); err != nil {
			return nil, err
		}
	}
	return &tok, nil
}

func toTokenValue(v any) tokenValue {
	switch x := v.(type) {
	case string:
		return tokenValue{"s", x}
	case float64:
		return tokenValue{"f", strconv.FormatFloat(x, 'g', -1, 64)}
	case int64:
		return tokenValue{"i", strconv.FormatInt(x, 10)}
	case bool:
		return tokenValue{"b", strconv.FormatBool(x)}
	case time.Time:
		return tokenValue{"t", x.UTC().Format(time.RFC3339Nano)}
	default:
		return tokenValue{"n", ""}
	}
}

func fromTokenValue(t tokenValue) (any, error) {
	switch t.T {
	case "s":
		return t.V, nil
	case "f":
		return strconv.ParseFloat(t.V, 64)
	case "i":
		return strconv.ParseInt(t.V, 10, 64)
	case "b":
		return strconv.ParseBool(t.V)
	case "t":
		return time.Parse(time.RFC3339Nano, t.V)
	case "n":
		return nil, nil
	}
	return nil, fmt.Errorf("bad token value type %q", t.T)
}

// nextLink is the request URL with $skiptoken replaced and $skip dropped (§4.3: absolute,
// opaque).
func nextLink(r *http.Request, token string) string {
	q := r.URL.Query()
	q.Del("$skip")
	q.Set("$skiptoken", token)
	return "https://" + r.Host + r.URL.Path + "?" + encodeQuery(q)
}

// encodeQuery encodes like url.Values.Encode but with %20 for spaces, as BC does.
func encodeQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(queryEscaper.Replace(url.QueryEscape(k)))
			b.WriteByte('=')
			b.WriteString(queryEscaper.Replace(url.QueryEscape(val)))
		}
	}
	return b.String()
}

// queryEscaper undoes escaping that OData URLs do not need, so links read like BC's.
var queryEscaper = strings.NewReplacer("+", "%20", "%24", "$", "%27", "'", "%28", "(", "%29", ")", "%2C", ",", "%3A", ":")

package bc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Page is one page of an entity set.
type Page struct {
	// Records are the page's entities in BC's order.
	Records []Record
	// NextLink is @odata.nextLink exactly as BC sent it; "" on the last page. It is
	// opaque: follow it with Client.NextPage, never edit it (bc-entra-facts §4.3).
	NextLink string
	// Count is @odata.count when Query.Count asked for it, else -1.
	Count int64
	// Context is @odata.context.
	Context string
}

// DecodePage reads a collection response ({"@odata.context":…,"value":[…],
// "@odata.nextLink":…}) as a stream: each entity is copied once out of the reader into the
// page's records, so a 20,000-row page is never held twice.
func DecodePage(r io.Reader) (*Page, error) {
	p := &Page{Count: -1}
	err := decodePage(r, p, func(rec Record) error {
		p.Records = append(p.Records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// decodePage reads a collection body and hands every entity of "value" to yield; the
// page's links and count are stored in p (whose Records it leaves alone). The body is read
// once into one buffer and every record's Raw is a slice of it, so a 20,000-row page is
// held once, and each entity is scanned by hand and checked with json.Valid instead of
// going through encoding/json's decoder twice.
func decodePage(r io.Reader, p *Page, yield func(Record) error) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return pageError(err)
	}
	start := skipSpace(body, 0)
	end, complete := skipValue(body, start)
	if start == len(body) || (!complete && body[start] == '{') {
		// Empty, or cut short on the way: a transport fault, retried like one.
		return &bodyError{io.ErrUnexpectedEOF}
	}
	if !complete || body[start] != '{' {
		return malformed("the page is not a JSON object")
	}
	if skipSpace(body, end) != len(body) {
		return malformed("data after the JSON object")
	}
	sawValue := false
	var inner error
	err = scanObject(body, func(key, val []byte) bool {
		switch {
		case keyEquals(key, "value"):
			sawValue = true
			inner = decodeValues(val, yield)
		case keyEquals(key, "@odata.nextLink"):
			p.NextLink = jsonStringOr(val, &inner, "@odata.nextLink")
		case keyEquals(key, "@odata.context"):
			p.Context = jsonStringOr(val, &inner, "@odata.context")
		case keyEquals(key, "@odata.count"):
			n, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil {
				inner = malformed("@odata.count is not an integer: %.40s", val)
			}
			p.Count = n
		default:
			if !json.Valid(val) {
				inner = malformed("member %q is not valid JSON", key)
			}
		}
		return inner == nil
	})
	switch {
	case inner != nil:
		return inner
	case err != nil:
		return malformed("%v", err)
	}
	if !sawValue {
		return malformed(`no "value" array (is this a single entity?)`)
	}
	return nil
}

// decodeValues yields each entity of the "value" array.
func decodeValues(arr []byte, yield func(Record) error) error {
	if len(arr) == 0 || arr[0] != '[' {
		return malformed(`"value" is not an array`)
	}
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for n := 0; ; n++ {
		end, ok := skipValue(arr, i)
		if !ok {
			return malformed("entity %d is not complete", n)
		}
		raw := arr[i:end:end]
		if !json.Valid(raw) {
			return malformed("entity %d is not valid JSON", n)
		}
		rec, err := newRecord(raw)
		if err != nil {
			return malformed("entity %d: %v", n, err)
		}
		if err := yield(rec); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		switch {
		case i < len(arr) && arr[i] == ']':
			return nil
		case i < len(arr) && arr[i] == ',':
			i = skipSpace(arr, i+1)
		default:
			return malformed(`"value" is not a well-formed array after entity %d`, n)
		}
	}
}

// jsonStringOr decodes a string member or records why it is not one.
func jsonStringOr(val []byte, bad *error, name string) string {
	s, ok := jsonString(val)
	if !ok {
		*bad = malformed("%s is not a JSON string", name)
	}
	return s
}

// pageError keeps read failures (*bodyError, retried by the client) distinguishable from
// malformed JSON.
func pageError(err error) error {
	if isBodyError(err) {
		return err
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &bodyError{io.ErrUnexpectedEOF}
	}
	return &malformedError{err}
}

// malformedError marks a response body that is not the JSON BC sends; a gateway fault
// rather than data, so reads retry it like a transport error.
type malformedError struct{ err error }

func (e *malformedError) Error() string { return "bc: malformed response: " + e.err.Error() }
func (e *malformedError) Unwrap() error { return e.err }

func malformed(format string, args ...any) error {
	return &malformedError{fmt.Errorf(format, args...)}
}

package bc

import (
	"errors"
	"fmt"
	"io"
	"slices"
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
// "@odata.nextLink":…}): the body is read once into one buffer and every record's Raw is a
// slice of it, so a 20,000-row page is never held twice. A body that is not valid JSON,
// anywhere, gives an error and no page.
func DecodePage(r io.Reader) (*Page, error) {
	p := &Page{Count: -1}
	err := decodePage(r, 0, p, func(rec Record) error {
		p.Records = append(p.Records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// decodePage reads a collection body and hands every entity of "value" to yield; the
// page's links and count are stored in p (whose Records it leaves alone). sizeHint, when
// above 0, is the body's expected length (Content-Length, or an estimate from the rows
// asked for), so the buffer is allocated once instead of doubling its way up.
//
// The body is validated as it is scanned, in one pass (scan.go): each entity's end, its
// id, ETag and lastModifiedDateTime are found while its JSON is checked, instead of
// skipping it, checking it with json.Valid and scanning it again. yield may see records of
// a page that turns out to be malformed further on; the error says so, and callers keep
// the records only when there is none (fetchPage, DecodePage), so a malformed page is
// never half-applied.
func decodePage(r io.Reader, sizeHint int, p *Page, yield func(Record) error) error {
	body, err := readBody(r, sizeHint)
	if err != nil {
		return pageError(err)
	}
	start := skipWS(body, 0)
	if start == len(body) {
		// Empty: a transport fault, retried like one.
		return &bodyError{io.ErrUnexpectedEOF}
	}
	if body[start] != '{' {
		return malformed("the page is not a JSON object")
	}
	sawValue := false
	end, err := validObject(body, start, 1, func(key []byte, esc bool, v int) (int, error) {
		switch {
		case keyEquals(key, "value"):
			sawValue = true
			return decodeValues(body, v, yield)
		case keyEquals(key, "@odata.nextLink"):
			return stringMember(body, v, "@odata.nextLink", &p.NextLink)
		case keyEquals(key, "@odata.context"):
			return stringMember(body, v, "@odata.context", &p.Context)
		case keyEquals(key, "@odata.count"):
			end, err := validValue(body, v, 1)
			if err != nil {
				return 0, err
			}
			n, err := strconv.ParseInt(string(body[v:end]), 10, 64)
			if err != nil {
				return 0, malformed("@odata.count is not an integer: %.40s", body[v:end])
			}
			p.Count = n
			return end, nil
		default:
			return validValue(body, v, 1)
		}
	})
	switch {
	case errors.Is(err, errTruncated):
		// Cut short on the way: a transport fault, retried like one.
		return &bodyError{io.ErrUnexpectedEOF}
	case err != nil:
		var se *syntaxError
		if errors.As(err, &se) {
			return malformed("%v", se)
		}
		return err // malformed already, or yield's own
	}
	if skipWS(body, end) != len(body) {
		return malformed("data after the JSON object")
	}
	if !sawValue {
		return malformed(`no "value" array (is this a single entity?)`)
	}
	return nil
}

// stringMember scans a member's value that must be a JSON string into *dst.
func stringMember(body []byte, v int, name string, dst *string) (int, error) {
	end, err := validValue(body, v, 1)
	if err != nil {
		return 0, err
	}
	s, ok := jsonString(body[v:end])
	if !ok {
		return 0, malformed("%s is not a JSON string", name)
	}
	*dst = s
	return end, nil
}

// decodeValues scans the "value" array starting at arr[i] and yields each entity.
func decodeValues(body []byte, i int, yield func(Record) error) (int, error) {
	if i >= len(body) {
		return 0, errTruncated
	}
	if body[i] != '[' {
		if _, err := validValue(body, i, 1); err != nil {
			return 0, err
		}
		return 0, malformed(`"value" is not an array`)
	}
	return validArray(body, i, 2, func(n, at int) (int, error) {
		rec, end, err := scanRecord(body, at)
		if err != nil {
			var se *syntaxError
			if errors.As(err, &se) {
				return 0, malformed("entity %d: %v", n, se)
			}
			return 0, err
		}
		if err := yield(rec); err != nil {
			return 0, err
		}
		return end, nil
	})
}

// scanRecord validates the entity starting at b[i] and parses its hot-path fields.
func scanRecord(b []byte, i int) (Record, int, error) {
	if i < len(b) && b[i] != '{' {
		if _, err := validValue(b, i, 2); err != nil {
			return Record{}, 0, err
		}
		return Record{}, 0, malformed("an entity is not a JSON object")
	}
	var f hotFields
	end, err := validObject(b, i, 3, func(key []byte, esc bool, v int) (int, error) {
		end, err := validValue(b, v, 3)
		if err != nil {
			return 0, err
		}
		if esc || len(key) == 2 || len(key) == 11 || len(key) == 16 || len(key) == 20 {
			f.take(key, b[v:end]) // only these lengths can be one of its keys
		}
		return end, nil
	})
	if err != nil {
		return Record{}, 0, err
	}
	rec := f.record(b[i:end:end])
	return rec, end, nil
}

// minBodyBuffer is the first buffer of a body of unknown size; maxBodyHint caps the
// buffer a size hint allocates up front (BC's largest pages are some tens of MB).
const (
	minBodyBuffer = 64 << 10
	maxBodyHint   = 256 << 20
)

// readBody reads r to its end into one buffer of sizeHint (+1, so the end is seen
// without growing it); without a hint, or past it, the buffer doubles.
func readBody(r io.Reader, sizeHint int) ([]byte, error) {
	size := minBodyBuffer
	if sizeHint > 0 {
		size = min(sizeHint, maxBodyHint) + 1
	}
	buf := make([]byte, 0, size)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf))
		}
	}
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

package bc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// arenaChunk is the size of the blocks that hold the raw JSON of a page's records: one
// allocation per block instead of one per record.
const arenaChunk = 256 << 10

// arena hands out append-only byte slices carved from shared blocks.
type arena struct{ buf []byte }

func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunk/8 {
		return bytes.Clone(b)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	// The capacity limit keeps an append to one record from overwriting the next.
	return a.buf[start:len(a.buf):len(a.buf)]
}

// rawSink receives one value from json.Decoder.Decode without a per-call allocation.
type rawSink struct {
	a   *arena
	out []byte
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *rawSink) UnmarshalJSON(b []byte) error {
	s.out = s.a.copy(b)
	return nil
}

// pageDecoder holds the state of decoding one page.
type pageDecoder struct {
	arena arena
	sink  rawSink
}

// decodePage streams a collection body: every entity of "value" goes to yield as it is
// read; the page's links and count are stored in p (whose Records it leaves alone).
func decodePage(r io.Reader, p *Page, yield func(Record) error) error {
	d := &pageDecoder{}
	d.sink.a = &d.arena
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{', "a page"); err != nil {
		return err
	}
	sawValue := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return pageError(err)
		}
		key, _ := tok.(string)
		switch key {
		case "value":
			sawValue = true
			if err := expectDelim(dec, '[', `"value"`); err != nil {
				return err
			}
			for i := 0; dec.More(); i++ {
				if err := dec.Decode(&d.sink); err != nil {
					return pageError(err)
				}
				rec, err := newRecord(d.sink.out)
				if err != nil {
					return malformed("entity %d: %v", i, err)
				}
				if err := yield(rec); err != nil {
					return err
				}
			}
			if err := expectDelim(dec, ']', `the end of "value"`); err != nil {
				return err
			}
		case "@odata.nextLink":
			if err := dec.Decode(&p.NextLink); err != nil {
				return pageError(err)
			}
		case "@odata.context":
			if err := dec.Decode(&p.Context); err != nil {
				return pageError(err)
			}
		case "@odata.count":
			if err := dec.Decode(&p.Count); err != nil {
				return pageError(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return pageError(err)
			}
		}
	}
	if err := expectDelim(dec, '}', "the end of the page"); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return malformed("data after the JSON object")
		}
		return pageError(err)
	}
	if !sawValue {
		return malformed(`no "value" array (is this a single entity?)`)
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		return pageError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return malformed("want %q to start %s, got %v", string(want), what, tok)
	}
	return nil
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

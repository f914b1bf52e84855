package syncer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// batchFromPage turns a page of a target into a replica batch: the documents (with their
// expanded lines cut out of the stored JSON) and, per line set, the complete lines of those
// documents.
func batchFromPage(t Target, children []*bcschema.Entity, recs []bc.Record) (store.ReplicaBatch, error) {
	b := store.ReplicaBatch{Key: t.key(), Upserts: make([]store.ReplicaRow, 0, len(recs))}
	if len(children) > 0 {
		b.Children = make([]store.ChildReplace, len(children))
		for i, c := range children {
			b.Children[i].EntitySet = c.EntitySet
		}
	}
	for _, r := range recs {
		raw := r.Raw
		for i, c := range children {
			nav := c.Parent.Navigation
			lines, ok := r.Lookup(nav)
			if !ok {
				return b, fmt.Errorf("%s %s came without its %s (expected $expand)", t.EntitySet, r.ID, nav)
			}
			rows, err := lineRows(lines, r.ID)
			if err != nil {
				return b, fmt.Errorf("%s of %s %s: %w", nav, t.EntitySet, r.ID, err)
			}
			b.Children[i].ParentIDs = append(b.Children[i].ParentIDs, r.ID)
			b.Children[i].Rows = append(b.Children[i].Rows, rows...)
			if raw, err = stripMember(raw, nav); err != nil {
				return b, err
			}
		}
		b.Upserts = append(b.Upserts, store.ReplicaRow{ID: r.ID, ETag: r.ETag, LastModified: r.LastModified, Raw: raw})
	}
	return b, nil
}

// lineRows decodes an expanded collection of lines.
func lineRows(arr json.RawMessage, parentID string) ([]store.ReplicaRow, error) {
	var buf bytes.Buffer
	buf.Grow(len(arr) + 12)
	buf.WriteString(`{"value":`)
	buf.Write(arr)
	buf.WriteString(`}`)
	page, err := bc.DecodePage(&buf)
	if err != nil {
		return nil, err
	}
	rows := make([]store.ReplicaRow, len(page.Records))
	for i, r := range page.Records {
		rows[i] = store.ReplicaRow{ID: r.ID, ETag: r.ETag, LastModified: r.LastModified, Raw: r.Raw, ParentID: parentID}
	}
	return rows, nil
}

// stripMember removes one top-level member from a JSON object without re-encoding the
// rest, so the stored entity stays byte for byte what BC sent.
func stripMember(obj json.RawMessage, name string) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return obj, fmt.Errorf("entity is not a JSON object")
	}
	for first := true; dec.More(); first = false {
		// After the previous value (or "{"): the cut starts here, taking the comma with it.
		start := int(dec.InputOffset())
		t, err := dec.Token()
		if err != nil {
			return obj, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return obj, err
		}
		if key, _ := t.(string); key != name {
			continue
		}
		end := int(dec.InputOffset())
		if first {
			// The first member has no comma before it: take the one after it instead.
			for end < len(obj) && (obj[end] == ' ' || obj[end] == '\n' || obj[end] == '\r' || obj[end] == '\t') {
				end++
			}
			if end < len(obj) && obj[end] == ',' {
				end++
			}
		}
		out := make(json.RawMessage, 0, len(obj)-(end-start))
		out = append(out, obj[:start]...)
		return append(out, obj[end:]...), nil
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return obj, err
	}
	return obj, nil
}

package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// IsIdentifier reports whether s is an SQL identifier that needs no quoting rules beyond
// double quotes: 1 to maxLen ASCII letters, digits and underscores, not starting with a
// digit.
func IsIdentifier(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidEntitySet checks that an entity set name can name a replica table: an identifier
// (letters, digits, underscores) of at most 100 characters, as BC's are. Its error wraps
// ErrInvalid.
func ValidEntitySet(name string) error {
	if !IsIdentifier(name, 100) {
		return fmt.Errorf("%w: entity set name %q is not an identifier (letters, digits and underscores, at most 100, not starting with a digit); use the entity set name from the API's URL", ErrInvalid, name)
	}
	return nil
}

// Validate checks that every part of the key is set and the entity set name is valid
// (see ValidEntitySet). Its error wraps ErrInvalid.
func (k ReplicaKey) Validate() error {
	switch {
	case k.ConnectionID == "":
		return fmt.Errorf("%w: replica key has no ConnectionID", ErrInvalid)
	case k.CompanyID == "":
		return fmt.Errorf("%w: replica key has no CompanyID", ErrInvalid)
	case k.EntitySet == "":
		return fmt.Errorf("%w: replica key has no EntitySet", ErrInvalid)
	}
	return ValidEntitySet(k.EntitySet)
}

// validRaw checks that raw looks like a JSON object. It does not parse it: rows come from
// BC responses that the caller has decoded, and a full check would add a quarter to
// ApplyBatch's time. (Malformed JSON would make queries of the view's field columns fail
// for that row.)
func validRaw(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}'
}

func validRowID(what, set, id string) error {
	if id == "" || !utf8.ValidString(id) {
		return fmt.Errorf("%w: %s: %s %q is empty or not UTF-8", ErrInvalid, set, what, id)
	}
	return nil
}

func validRows(set string, rows []ReplicaRow, parents map[string]bool) error {
	for i, r := range rows {
		if err := validRowID(fmt.Sprintf("row %d's ID", i), set, r.ID); err != nil {
			return err
		}
		switch {
		case !utf8.ValidString(r.ETag):
			return fmt.Errorf("%w: %s row %s: ETag is not UTF-8", ErrInvalid, set, r.ID)
		case !validRaw(r.Raw):
			return fmt.Errorf("%w: %s row %s: Raw is not a JSON object; pass the entity's JSON as BC sent it", ErrInvalid, set, r.ID)
		case parents != nil && r.ParentID == "":
			return fmt.Errorf("%w: %s line %s has no ParentID; set it to the line's documentId", ErrInvalid, set, r.ID)
		case parents != nil && !parents[r.ParentID]:
			return fmt.Errorf("%w: %s line %s belongs to document %s, which is not in the ChildReplace's ParentIDs; list every document whose lines are given", ErrInvalid, set, r.ID, r.ParentID)
		}
	}
	return nil
}

// Validate checks a batch before a store applies it: the key (see ReplicaKey.Validate),
// IDs non-empty UTF-8, Raw a JSON object (only its braces are checked: it must be the
// JSON as decoded from BC's response), lines with a ParentID that is one of their
// ChildReplace's ParentIDs, and a Checkpoint that is valid JSON. Its error wraps
// ErrInvalid and names the entity set and the row.
func (b *ReplicaBatch) Validate() error {
	if err := b.Key.Validate(); err != nil {
		return err
	}
	if err := validRows(b.Key.EntitySet, b.Upserts, nil); err != nil {
		return err
	}
	for _, id := range b.Deletes {
		if err := validRowID("an id in Deletes", b.Key.EntitySet, id); err != nil {
			return err
		}
	}
	for _, c := range b.Children {
		if err := ValidEntitySet(c.EntitySet); err != nil {
			return err
		}
		parents := make(map[string]bool, len(c.ParentIDs))
		for _, p := range c.ParentIDs {
			if err := validRowID("an id in ChildReplace.ParentIDs", c.EntitySet, p); err != nil {
				return err
			}
			parents[p] = true
		}
		if err := validRows(c.EntitySet, c.Rows, parents); err != nil {
			return err
		}
	}
	if b.Schema != nil {
		if err := b.Schema.Validate(); err != nil {
			return err
		}
	}
	if b.Checkpoint != nil && !b.CheckpointDone && !json.Valid(b.Checkpoint) {
		return fmt.Errorf("%w: %s: Checkpoint %q is not valid JSON", ErrInvalid, b.Key.EntitySet, b.CheckpointName)
	}
	return nil
}

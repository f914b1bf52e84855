package store

import (
	"context"
	"fmt"
	"time"
)

// OpSchema is the change log entry of a replicated set whose schema changed (a field
// added or removed by an extension update): ID is empty and ETag carries the set's new
// schema version as a decimal number. Outbound webhooks send it as schema.changed.
const OpSchema Op = "schema"

// SetSchema is the shape of a replicated entity set as BC's $metadata describes it: the
// API it is in, its key, its fields with their EDM types, and whether it has
// lastModifiedDateTime.
type SetSchema struct {
	// API is the API route below api/: "v2.0", "contoso/inventory/v1.0".
	API string `json:"api"`
	// EntitySet is the set's name in BC's URLs (the replica's name may differ for custom
	// APIs, see ReplicaKey.EntitySet).
	EntitySet string `json:"entitySet"`
	// Key lists the key fields in order (several for a composite key).
	Key []string `json:"key"`
	// LastModified is whether the set has lastModifiedDateTime.
	LastModified bool `json:"lastModified"`
	// Fields are the set's fields in $metadata order.
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one field of a SetSchema.
type SchemaField struct {
	Name string `json:"name"`
	// Type is the EDM type ("Edm.String", …; an enum's qualified type name).
	Type      string `json:"type"`
	MaxLength int    `json:"maxLength,omitempty"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	// Extension marks a field a table extension added to a standard set.
	Extension bool `json:"extension,omitempty"`
}

// Validate checks what a store needs of a schema: an entity set, fields with names and
// types, names used once, key fields among the fields. Its error wraps ErrInvalid.
func (s *SetSchema) Validate() error {
	if s.EntitySet == "" || s.API == "" {
		return fmt.Errorf("%w: schema without API or entity set (%q, %q)", ErrInvalid, s.API, s.EntitySet)
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if f.Name == "" || f.Type == "" {
			return fmt.Errorf("%w: schema of %s: a field without name or type (%q, %q)", ErrInvalid, s.EntitySet, f.Name, f.Type)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: schema of %s: field %q twice", ErrInvalid, s.EntitySet, f.Name)
		}
		seen[f.Name] = true
	}
	for _, k := range s.Key {
		if !seen[k] {
			return fmt.Errorf("%w: schema of %s: key %q is not a field", ErrInvalid, s.EntitySet, k)
		}
	}
	return nil
}

// Diff returns the names of the fields next has that s lacks, and those s has that next
// lacks, and whether anything else (types, key, API) differs.
func (s *SetSchema) Diff(next *SetSchema) (added, removed []string, other bool) {
	old := map[string]SchemaField{}
	for _, f := range s.Fields {
		old[f.Name] = f
	}
	cur := map[string]bool{}
	for _, f := range next.Fields {
		cur[f.Name] = true
		if o, ok := old[f.Name]; !ok {
			added = append(added, f.Name)
		} else if o != f {
			other = true
		}
	}
	for _, f := range s.Fields {
		if !cur[f.Name] {
			removed = append(removed, f.Name)
		}
	}
	if s.API != next.API || s.EntitySet != next.EntitySet || s.LastModified != next.LastModified || fmt.Sprint(s.Key) != fmt.Sprint(next.Key) {
		other = true
	}
	return added, removed, other
}

// StoredSchema is the schema of a replicated set as the store keeps it, with its version.
type StoredSchema struct {
	Key    ReplicaKey `json:"-"`
	Schema SetSchema  `json:"schema"`
	// Version starts at 1 and grows by one with every change of the schema.
	Version int `json:"version"`
	// Added and Removed are the field names of the last change (empty for version 1).
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// ChangedAt is when the store first saw this version.
	ChangedAt time.Time `json:"changedAt"`
}

// SchemaStore reads the schemas batches recorded (ReplicaBatch.Schema).
type SchemaStore interface {
	// ReplicaSchemas lists the stored schemas of a connection's sets, by company and
	// entity set.
	ReplicaSchemas(ctx context.Context, connectionID string) ([]StoredSchema, error)
}

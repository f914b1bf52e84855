// Package permset knows which Business Central tables each API v2.0 entity set reads and
// writes, and generates the AL source of a least-privilege permission set ("BIZZJOINER
// CONNECTOR") that a customer installs instead of broad sets such as D365 BUS FULL ACCESS
// (setup guide Step 6: Microsoft Entra Applications > User Permission Sets).
//
// The mapping is data (tables.json, embedded): for every entity set of bcschema it lists the
// real tables a GET reads (tabledata R), the tables a POST/PATCH/DELETE touches with the
// permission letters needed, and extra grants a GET needs when the caller can write the
// document header (the APIV2 pages then recalculate invoice discounts while reading). Each
// entry names the AL page (microsoft/ALAppExtensions, Apps/W1/APIV2) and BaseApp codeunits it
// was read from, and whether it was verified against that source.
//
// API pages often sit on buffer tables: salesInvoices reads "Sales Invoice Entity Aggregate"
// plus "Sales Header" (drafts) and "Sales Invoice Header" (posted), and silently drops the rows
// of whichever it cannot read (bc-entra-facts §3.4). Temporary source tables need no permission;
// the real tables behind them do.
package permset

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

//go:embed tables.json
var tablesJSON []byte

// Format is the value of the "format" field tables.json must carry.
const Format = "bcconnector-permset/1"

// Table is one table data permission: the AL table name (as used in permission sets, e.g.
// "Sales Invoice Header"), its object ID (informational; 0 when not confirmed) and the
// permission letters, a subset of "RIMD" in that order.
type Table struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Perms string `json:"perms"`
}

// Source names a file a mapping entry was read from.
type Source struct {
	Repo   string `json:"repo"`
	Path   string `json:"path"`
	Commit string `json:"commit"` // "" when read through the code index without a pinned commit
	Note   string `json:"note,omitempty"`
}

// Conditional is a grant a GET needs only when the caller holds write permission (I, M or D)
// on Table: the sales/purchase document pages call RedistributeInvoiceDiscounts in
// OnAfterGetRecord when the header table is writable, which may modify lines while reading.
type Conditional struct {
	Table  string  // the table whose writability triggers the grants
	Grants []Table // extra permissions then needed
	Why    string
}

// Entry is the mapping of one entity set.
type Entry struct {
	EntitySet    string
	Read         []Table // Perms is always "R"
	Write        []Table // empty for read-only entity sets
	WhenWritable []Conditional
	Verified     bool // the APIV2 page (and codeunits in Sources) was read for this entry
	// ActionsCovered reports that Write also covers the set's bound actions (jobQueueEntries'
	// restart). Actions that post or send documents are otherwise out of scope.
	ActionsCovered bool
	Sources        []Source
	Notes          []string
}

// mapping is the parsed tables.json.
type mapping struct {
	entries map[string]*Entry
	names   []string // sorted entity set names
	sources []Source // document-level sources
}

type fileGrant struct {
	Table string `json:"table"`
	Perms string `json:"perms"`
}

type fileEntry struct {
	EntitySet    string      `json:"entitySet"`
	Read         []string    `json:"read"`
	Write        []fileGrant `json:"write"`
	WhenWritable []struct {
		Table  string      `json:"table"`
		Why    string      `json:"why"`
		Grants []fileGrant `json:"grants"`
	} `json:"whenWritable"`
	Verified       bool     `json:"verified"`
	ActionsCovered bool     `json:"actionsCovered"`
	Sources        []Source `json:"sources"`
	Notes          []string `json:"notes"`
}

type file struct {
	Format  string         `json:"format"`
	Sources []Source       `json:"sources"`
	Tables  map[string]int `json:"tables"`
	Entries []fileEntry    `json:"entries"`
}

var (
	loadOnce sync.Once
	loaded   *mapping
	loadErr  error
)

// load parses the embedded tables.json once. The result is shared and never modified.
func load() (*mapping, error) {
	loadOnce.Do(func() { loaded, loadErr = parse(tablesJSON) })
	return loaded, loadErr
}

// mustLoad is for the accessors whose signatures have no error: the mapping is compiled
// into the binary and TestMappingLoads guards it, so a failure is a build defect.
func mustLoad() *mapping {
	m, err := load()
	if err != nil {
		panic(err)
	}
	return m
}

func parse(data []byte) (*mapping, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("permset: parse tables.json: %w", err)
	}
	if f.Format != Format {
		return nil, fmt.Errorf("permset: tables.json format %q, want %q", f.Format, Format)
	}
	for name := range f.Tables {
		if err := checkTableName(name); err != nil {
			return nil, fmt.Errorf("permset: tables.json: %w", err)
		}
	}
	table := func(es, name, perms string) (Table, error) {
		id, ok := f.Tables[name]
		if !ok {
			return Table{}, fmt.Errorf("permset: tables.json entry %s: table %q is not in the tables catalog", es, name)
		}
		if !validPerms(perms) {
			return Table{}, fmt.Errorf("permset: tables.json entry %s: table %q has permissions %q, want letters of RIMD in that order", es, name, perms)
		}
		return Table{ID: id, Name: name, Perms: perms}, nil
	}
	m := &mapping{entries: make(map[string]*Entry, len(f.Entries)), sources: f.Sources}
	for _, fe := range f.Entries {
		if fe.EntitySet == "" {
			return nil, fmt.Errorf("permset: tables.json has an entry without entitySet")
		}
		if _, dup := m.entries[fe.EntitySet]; dup {
			return nil, fmt.Errorf("permset: tables.json lists entity set %s twice", fe.EntitySet)
		}
		e := &Entry{EntitySet: fe.EntitySet, Verified: fe.Verified, ActionsCovered: fe.ActionsCovered, Sources: fe.Sources, Notes: fe.Notes}
		for _, name := range fe.Read {
			t, err := table(fe.EntitySet, name, "R")
			if err != nil {
				return nil, err
			}
			e.Read = append(e.Read, t)
		}
		for _, g := range fe.Write {
			t, err := table(fe.EntitySet, g.Table, g.Perms)
			if err != nil {
				return nil, err
			}
			e.Write = append(e.Write, t)
		}
		for _, c := range fe.WhenWritable {
			if _, ok := f.Tables[c.Table]; !ok {
				return nil, fmt.Errorf("permset: tables.json entry %s: whenWritable table %q is not in the tables catalog", fe.EntitySet, c.Table)
			}
			cond := Conditional{Table: c.Table, Why: c.Why}
			for _, g := range c.Grants {
				t, err := table(fe.EntitySet, g.Table, g.Perms)
				if err != nil {
					return nil, err
				}
				cond.Grants = append(cond.Grants, t)
			}
			e.WhenWritable = append(e.WhenWritable, cond)
		}
		m.entries[fe.EntitySet] = e
		m.names = append(m.names, fe.EntitySet)
	}
	sort.Strings(m.names)
	return m, nil
}

// Tables returns the tables behind an entity set: read holds what a GET reads (Perms "R"),
// write what a POST/PATCH/DELETE touches with its permission letters. ok is false for an
// unknown entity set (names are case-sensitive, as in BC URLs). The slices are copies.
// Conditional grants (Entry.WhenWritable) are not included; see Mapping.
func Tables(entitySet string) (read, write []Table, ok bool) {
	e, ok := mustLoad().entries[entitySet]
	if !ok {
		return nil, nil, false
	}
	return append([]Table(nil), e.Read...), append([]Table(nil), e.Write...), true
}

// Mapping returns every entry of the mapping, sorted by entity set name. The entries are
// deep copies; changing them does not affect the package.
func Mapping() []Entry {
	m := mustLoad()
	out := make([]Entry, 0, len(m.names))
	for _, name := range m.names {
		out = append(out, m.entries[name].clone())
	}
	return out
}

func (e *Entry) clone() Entry {
	c := *e
	c.Read = append([]Table(nil), e.Read...)
	c.Write = append([]Table(nil), e.Write...)
	c.Sources = append([]Source(nil), e.Sources...)
	c.Notes = append([]string(nil), e.Notes...)
	c.WhenWritable = nil
	for _, w := range e.WhenWritable {
		w.Grants = append([]Table(nil), w.Grants...)
		c.WhenWritable = append(c.WhenWritable, w)
	}
	return c
}

// validPerms reports whether p is a non-empty subsequence of "RIMD" (direct permissions only,
// in AL's canonical order).
func validPerms(p string) bool {
	if p == "" {
		return false
	}
	rest := "RIMD"
	for _, r := range p {
		i := strings.IndexRune(rest, r)
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	return true
}

// maxTableName is AL's limit on object names (AL0305).
const maxTableName = 30

// checkTableName rejects names that cannot be written as an AL object identifier.
func checkTableName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty table name")
	case len([]rune(name)) > maxTableName:
		return fmt.Errorf("table name %q is longer than %d characters, the AL limit for object names", name, maxTableName)
	case strings.ContainsAny(name, "\"\r\n\t"):
		return fmt.Errorf("table name %q contains a double quote or control character, which AL identifiers cannot hold", name)
	}
	return nil
}

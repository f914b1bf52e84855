// Package sqlstore is what the SQL implementations of package store share (store/sqlite
// and store/postgres): the logic that does not depend on the SQL dialect (applying a
// batch, numbering the change log, sealing secrets, merging sync state), and whole
// implementations of store interfaces written once on a small driver layer (driver.go):
// the audit log, express setup, outbound endpoints, client secrets, re-sealing and the
// change log's retention ([Stores]). Each store keeps its own SQL for the rest.
package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// SecretAAD binds a sealed client secret to its row: moving the sealed bytes to another
// secret or connection makes them fail authentication. Both stores use it, so sealed
// values mean the same in either.
func SecretAAD(connID, secretID string) []byte {
	return []byte("bcconnector/client-secret\x00" + connID + "\x00" + secretID)
}

// EndpointSecretAAD binds a sealed signing secret of an outbound webhook endpoint to its
// row, as SecretAAD does for client secrets (a different prefix, so neither kind opens as
// the other).
func EndpointSecretAAD(endpointID, secretID string) []byte {
	return []byte("bcconnector/endpoint-secret\x00" + endpointID + "\x00" + secretID)
}

// Reseal opens a stored secret with kr and seals it again with kr's primary key; ok is
// false (and nothing is done) when it is sealed with the primary key already.
func Reseal(kr *secret.Keyring, connID, secretID string, sealed []byte) (resealed []byte, ok bool, err error) {
	resealed, ok, err = ResealAAD(kr, SecretAAD(connID, secretID), sealed)
	if err != nil {
		return nil, false, fmt.Errorf("re-seal client secret %s of connection %s: %w", secretID, connID, err)
	}
	return resealed, ok, nil
}

// ResealAAD is Reseal for a value sealed with additional data aad.
func ResealAAD(kr *secret.Keyring, aad, sealed []byte) (resealed []byte, ok bool, err error) {
	if !kr.NeedsReseal(sealed) {
		return nil, false, nil
	}
	pt, err := kr.Open(sealed, aad)
	if err != nil {
		return nil, false, err
	}
	defer clear(pt)
	if resealed, err = kr.Seal(pt, aad); err != nil {
		return nil, false, err
	}
	return resealed, true, nil
}

// ReplicaKeyColumns are the columns of a replica view that are not schema fields. A field
// with one of these names gets no column of its own.
var ReplicaKeyColumns = []string{"connection_id", "company_id", "id", "etag", "last_modified", "parent_id", "raw"}

// ViewFields returns the fields of ent that get a column in its replica view: all but
// Edm.Stream and filter-only fields (BC never sends them) and fields named like a key
// column (compared case-insensitively when fold is set, as SQLite compares names). Field
// names must be identifiers of at most maxLen bytes. taken is called for a field that
// loses its column to a key column.
func ViewFields(ent *bcschema.Entity, maxLen int, fold bool, taken func(field string)) ([]*bcschema.Field, error) {
	norm := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	seen := map[string]bool{}
	for _, k := range ReplicaKeyColumns {
		seen[k] = true
	}
	var out []*bcschema.Field
	for _, f := range ent.Fields {
		if f == nil || f.Type == bcschema.TypeStream || f.FilterOnly {
			continue
		}
		if !store.IsIdentifier(f.Name, maxLen) {
			return nil, fmt.Errorf("%w: field %q of entity set %s is not an identifier (letters, digits and underscores, at most %d); fix the entity's schema", store.ErrInvalid, f.Name, ent.EntitySet, maxLen)
		}
		if n := norm(f.Name); seen[n] {
			if n != "id" && taken != nil {
				taken(f.Name)
			}
			continue
		} else {
			seen[n] = true
		}
		out = append(out, f)
	}
	return out, nil
}

// Known is the stored version of a row: its ETag, and its raw JSON when the ETag is
// empty (then only the JSON tells whether it changed).
type Known struct {
	ETag string
	Raw  []byte
}

// Ascending reports whether the rows' ids are strictly ascending (a full sync's page).
func Ascending(rows []store.ReplicaRow) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i].ID <= rows[i-1].ID {
			return false
		}
	}
	return true
}

// Classify applies rows, in order, to the stored versions: a row not stored is an
// insert, one with another ETag (or, without ETags, other JSON) an update, the rest
// unchanged. It counts them in res, logs each insert and update with log, updates stored
// as it goes (an id given twice is applied twice) and returns the rows to write: the last
// version of each id that changed, in the order of their last occurrence.
func Classify(rows []store.ReplicaRow, stored map[string]Known, res *store.ApplyResult, log func(op store.Op, id, etag string)) []store.ReplicaRow {
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		last[r.ID] = i
	}
	dirty := make(map[string]bool, len(last))
	for _, r := range rows {
		s, ok := stored[r.ID]
		var op store.Op
		switch {
		case !ok:
			op = store.OpInsert
			res.Inserted++
		case s.ETag != r.ETag || r.ETag == "" && !bytes.Equal(s.Raw, r.Raw):
			op = store.OpUpdate
			res.Updated++
		default:
			res.Unchanged++
			continue
		}
		stored[r.ID] = Known{ETag: r.ETag, Raw: r.Raw}
		dirty[r.ID] = true
		log(op, r.ID, r.ETag)
	}
	var write []store.ReplicaRow
	for i, r := range rows {
		if dirty[r.ID] && last[r.ID] == i {
			write = append(write, r)
		}
	}
	return write
}

// SegmentMax is the most changes one change log segment holds; it bounds what reading
// the log decodes beyond what it returns.
const SegmentMax = 1000

// Segment is the changes of one scope made by one batch, numbered First..Last (counted
// from 1 within the batch until the batch takes its sequence numbers), as a JSON array of
// [op, id, etag].
type Segment struct {
	Scope       int64
	First, Last int64
	Changes     string
}

// ChangeLog collects a batch's changes in segments.
type ChangeLog struct {
	// N is how many changes were added.
	N        int64
	segs     []Segment
	cur      []byte
	curN     int
	curScope int64
}

// Add logs a change of scope, opening a new segment when the open one is full or of
// another scope.
func (l *ChangeLog) Add(scope int64, op store.Op, id, etag string) {
	if l.curN > 0 && (l.curScope != scope || l.curN == SegmentMax) {
		l.closeSegment()
	}
	l.N++
	if l.curN == 0 {
		l.curScope = scope
		l.cur = append(l.cur[:0], '[')
	} else {
		l.cur = append(l.cur, ',')
	}
	l.curN++
	l.cur = append(l.cur, `["`...)
	l.cur = append(l.cur, op...)
	l.cur = append(l.cur, `",`...)
	l.cur = appendJSONString(l.cur, id)
	l.cur = append(l.cur, ',')
	l.cur = appendJSONString(l.cur, etag)
	l.cur = append(l.cur, ']')
}

func (l *ChangeLog) closeSegment() {
	if l.curN == 0 {
		return
	}
	l.cur = append(l.cur, ']')
	l.segs = append(l.segs, Segment{Scope: l.curScope, First: l.N - int64(l.curN) + 1, Last: l.N, Changes: string(l.cur)})
	l.curN = 0
}

// Segments closes the open segment and returns all, numbered from 1.
func (l *ChangeLog) Segments() []Segment {
	l.closeSegment()
	return l.segs
}

// appendJSONString appends s (valid UTF-8) as a JSON string.
// The bytes between escapes are appended as whole runs: byte by byte, this was about
// half of a first full sync's change log cost (an id and an ETag per row).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '"' && c != '\\' && c >= 0x20 {
			continue
		}
		b = append(b, s[start:i]...)
		if c < 0x20 {
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, '\\', c)
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// DecodeSegment appends to out the changes of a stored segment that starts at Seq first
// and whose Seq is above since, until out holds limit changes. c carries the segment's
// scope and time.
func DecodeSegment(out []store.Change, first, since int64, limit int, changes []byte, c store.Change) ([]store.Change, error) {
	var entries [][3]string
	if err := json.Unmarshal(changes, &entries); err != nil {
		return out, fmt.Errorf("change log segment %d: %w", first, err)
	}
	for i, e := range entries {
		if seq := first + int64(i); seq > since && len(out) < limit {
			c.Seq, c.Op, c.ID, c.ETag = seq, store.Op(e[0]), e[1], e[2]
			out = append(out, c)
		}
	}
	return out, nil
}

// CheckpointChanges compares a set's checkpoints before and after UpdateSyncState's fn:
// the names removed, and the names added or changed (both sorted). Every value in cur must
// be valid JSON, otherwise the error wraps store.ErrInvalid.
func CheckpointChanges(set string, old, cur map[string]json.RawMessage) (removed, changed []string, err error) {
	for name, v := range cur {
		if !json.Valid(v) {
			return nil, nil, fmt.Errorf("%w: %s: checkpoint %q is not valid JSON", store.ErrInvalid, set, name)
		}
		if prev, ok := old[name]; !ok || !bytes.Equal(prev, v) {
			changed = append(changed, name)
		}
	}
	for name := range old {
		if _, keep := cur[name]; !keep {
			removed = append(removed, name)
		}
	}
	sort.Strings(removed)
	sort.Strings(changed)
	return removed, changed, nil
}

// SortSyncStates orders states by connection, company and entity set, as SyncStates and
// AllSyncStates return them (in Go, so both stores agree whatever the collation).
func SortSyncStates(states []store.SyncState) {
	sort.Slice(states, func(i, j int) bool {
		if states[i].Key.ConnectionID != states[j].Key.ConnectionID {
			return states[i].Key.ConnectionID < states[j].Key.ConnectionID
		}
		if states[i].Key.CompanyID != states[j].Key.CompanyID {
			return states[i].Key.CompanyID < states[j].Key.CompanyID
		}
		return states[i].Key.EntitySet < states[j].Key.EntitySet
	})
}

// Credential is a credential about to be stored (AddSecret, AddCertificate): its kind, the
// value to seal, a certificate's DER and the end date.
type Credential struct {
	Kind    store.CredentialKind
	Value   secret.Secret
	DER     []byte
	EndDate time.Time
}

// SecretCredential checks a client secret for AddSecret; the error wraps store.ErrInvalid.
func SecretCredential(v secret.Secret, end time.Time) (Credential, error) {
	if v.IsZero() {
		return Credential{}, fmt.Errorf("%w: the client secret is empty; paste the secret's Value (not its Secret ID) from Certificates & secrets (guide Step 3)", store.ErrInvalid)
	}
	return Credential{Kind: store.CredentialSecret, Value: v, EndDate: end}, nil
}

// CertificateCredential checks a certificate for AddCertificate (see
// [secret.Certificate.Check]); its end date is the certificate's NotAfter. The error wraps
// store.ErrInvalid and says what to do.
func CertificateCredential(cert secret.Certificate) (Credential, error) {
	if err := cert.Check(); err != nil {
		return Credential{}, fmt.Errorf("%w: certificate credential: %v", store.ErrInvalid, err)
	}
	return Credential{Kind: store.CredentialCertificate, Value: cert.Key, DER: cert.DER, EndDate: cert.NotAfter()}, nil
}

// plan is what the connections table keeps in its sync_plan column: the companies a
// connection syncs and its schedules. JSON, so later settings need no migration of either store.
type plan struct {
	Companies    []store.Company           `json:"companies,omitempty"`
	AllCompanies bool                      `json:"allCompanies,omitempty"`
	Schedule     store.Schedule            `json:"schedule,omitzero"`
	SetSchedules map[string]store.Schedule `json:"setSchedules,omitempty"`
}

// EncodePlan returns the sync_plan column of c: "" when it has nothing beyond the
// defaults (one company, serve's schedule), as every connection stored before the column.
func EncodePlan(c store.Connection) string {
	p := plan{Companies: c.Companies, AllCompanies: c.AllCompanies, Schedule: c.Schedule, SetSchedules: c.SetSchedules}
	if len(p.Companies) == 0 && !p.AllCompanies && p.Schedule.IsZero() && len(p.SetSchedules) == 0 {
		return ""
	}
	b, _ := json.Marshal(p) // plain strings and bools: cannot fail
	return string(b)
}

// DecodePlan sets c's fields from its sync_plan column.
func DecodePlan(s string, c *store.Connection) error {
	if s == "" {
		return nil
	}
	var p plan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return fmt.Errorf("connection %s: sync_plan: %w", c.ID, err)
	}
	c.Companies, c.AllCompanies, c.Schedule, c.SetSchedules = p.Companies, p.AllCompanies, p.Schedule, p.SetSchedules
	if len(c.Companies) == 0 {
		c.Companies = nil
	}
	return nil
}

// OperatorAAD is the additional data the operator app's credential is sealed with.
func OperatorAAD() []byte { return []byte(store.OperatorSecretAADPurpose) }

// CheckConsent checks a consent record for SetConsent; the error wraps store.ErrInvalid.
func CheckConsent(c store.Consent) error {
	switch {
	case c.ConnectionID == "":
		return fmt.Errorf("%w: consent: the connection ID is empty", store.ErrInvalid)
	case c.State != store.ConsentPending && c.State != store.ConsentGranted && c.State != store.ConsentRefused && c.State != store.ConsentRevoked:
		return fmt.Errorf("%w: consent state %q must be pending, granted, refused or revoked", store.ErrInvalid, c.State)
	case len(c.Nonce) < 16:
		return fmt.Errorf("%w: consent nonce must be at least 16 characters (store.NewID gives 16)", store.ErrInvalid)
	case len(c.Error) > 200 || len(c.ErrorDescription) > 2000 || len(c.Tenant) > 256:
		return fmt.Errorf("%w: consent error (200 bytes), description (2000) or tenant (256) too long", store.ErrInvalid)
	}
	return nil
}

// SealOperatorApp checks an operator app for SetOperatorApp (store.OperatorApp.Normalize),
// stamps it and seals its credential's value with kr's primary key.
func SealOperatorApp(kr *secret.Keyring, app store.OperatorApp, value secret.Secret, now time.Time) (store.OperatorApp, []byte, error) {
	if err := app.Normalize(value); err != nil {
		return store.OperatorApp{}, nil, err
	}
	app.UpdatedAt = now
	if !app.EndDate.IsZero() {
		app.EndDate = app.EndDate.UTC().Truncate(time.Microsecond)
	}
	sealed, err := kr.Seal([]byte(value.Reveal()), OperatorAAD())
	if err != nil {
		return store.OperatorApp{}, nil, err
	}
	app.KeyID = kr.PrimaryID()
	return app, sealed, nil
}

// NextSchema compares a batch's schema with the stored one (stored is nil when there is
// none): the version to store (0: keep the stored one) and the fields added and removed.
func NextSchema(stored *store.SetSchema, storedVersion int, next *store.SetSchema) (version int, added, removed []string) {
	if stored == nil {
		return 1, nil, nil
	}
	added, removed, other := stored.Diff(next)
	if len(added) == 0 && len(removed) == 0 && !other {
		return 0, nil, nil
	}
	return storedVersion + 1, added, removed
}

// JSONList encodes names as a JSON array ("[]" for none).
func JSONList(names []string) string {
	if len(names) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(names)
	return string(b)
}

// One replica view per entity set serves every connection.
//
// Connections differ in the fields they see of one set: a table extension installed in
// one tenant and not another, another version of a custom API. The view's columns are
// the union of them, which grows and shrinks only with a schema, never with who called
// last: EnsureReplica adds the columns of the fields its entity has that the view lacks
// and drops none (MergeViewFields), and a batch whose schema removed fields drops those
// columns only when no stored schema of the set lists them any more. Rows of a
// connection without a field read NULL in its column. What a connection may filter and
// order by is its own fields (Readable): those of its stored schema, or, for a set that
// never recorded one (synced before schema discovery), the view's columns but the
// extension fields other connections' schemas brought.

// MergeViewFields returns the fields of a set's view after EnsureReplica of an entity
// whose view fields are wanted: the current view's fields in their order, then each
// wanted field the view lacks, in wanted's order (names compared case-insensitively when
// fold is set, as SQLite compares them). changed reports whether a field was added.
func MergeViewFields(current, wanted []*bcschema.Field, fold bool) (out []*bcschema.Field, changed bool) {
	norm := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	have := make(map[string]bool, len(current))
	for _, f := range current {
		have[norm(f.Name)] = true
	}
	out = slices.Clone(current)
	for _, f := range wanted {
		if !have[norm(f.Name)] {
			have[norm(f.Name)] = true
			out = append(out, f)
			changed = true
		}
	}
	return out, changed
}

// Readable returns which view columns a replica key may filter and order by: with own,
// its stored schema, the fields it lists; without, every column but the names in
// foreign (the extension fields other connections' schemas list). fold compares names
// case-insensitively.
func Readable(own *store.SetSchema, foreign map[string]bool, fold bool) func(field string) bool {
	norm := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	if own == nil {
		return func(field string) bool { return !foreign[norm(field)] }
	}
	mine := make(map[string]bool, len(own.Fields))
	for _, f := range own.Fields {
		mine[norm(f.Name)] = true
	}
	return func(field string) bool { return mine[norm(field)] }
}

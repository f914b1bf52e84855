package permset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// Defaults of Options.
const (
	DefaultObjectID = 50100
	DefaultName     = "BIZZJOINER CONNECTOR"
	DefaultCaption  = "Bizzjoiner Connector"
)

// Per-tenant extensions own object IDs 50000-99999; the generated file is meant to be
// compiled into one.
const (
	minObjectID = 50000
	maxObjectID = 99999
)

// maxAssignableName is AL0305's limit for an assignable permission set's name.
const maxAssignableName = 20

// APIV2AppID is the app ID of Microsoft's API v2.0 extension (_Exclude_APIV2_), which an
// extension must depend on to reference the APIV2 pages (Options.PageExecute).
const APIV2AppID = "10cb69d9-bc8a-4d27-970a-9e110e9db2a5"

// Options tunes Generate. The zero value gives the defaults.
type Options struct {
	// ObjectID is the permissionset object ID, in the per-tenant extension range
	// 50000-99999. Default DefaultObjectID (50100).
	ObjectID int
	// Name is the permission set name users see and assign. At most 20 characters (AL0305
	// for assignable sets). Default DefaultName ("BIZZJOINER CONNECTOR", the name the setup
	// guide's Step 6 tells the admin to assign).
	Name string
	// Caption is the display caption. Default DefaultCaption.
	Caption string
	// PageExecute also grants Execute on the APIV2 page (or query) behind each entity set.
	// Default false: table data only. BC 18 answered a missing page permission with "You do
	// not have the following permissions on Page APIV2 - Customers: Execute"
	// (bc-entra-facts §3.4); whether current versions still check it for API pages is
	// UNCONFIRMED. Referencing the pages requires the extension to depend on Microsoft's
	// _Exclude_APIV2_ app (APIV2AppID).
	PageExecute bool
	// Custom names the table behind a custom API page, keyed by the connection's entry
	// for its set ("publisher/group/version/entitySet"): $metadata does not say which
	// table a page reads (its AL SourceTable), so only the caller can know it (from the
	// extension's source). A custom set listed without a table is named in the header
	// comment as not covered, with what to add.
	Custom map[string]Table
}

func (o Options) withDefaults() (Options, error) {
	if o.ObjectID == 0 {
		o.ObjectID = DefaultObjectID
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Caption == "" {
		o.Caption = DefaultCaption
	}
	if o.ObjectID < minObjectID || o.ObjectID > maxObjectID {
		return o, fmt.Errorf("permset: object ID %d is outside the per-tenant extension range %d-%d; pick a free ID from your extension's app.json idRanges", o.ObjectID, minObjectID, maxObjectID)
	}
	if strings.TrimSpace(o.Name) != o.Name {
		return o, fmt.Errorf("permset: permission set name %q has leading or trailing spaces; remove them", o.Name)
	}
	if n := len([]rune(o.Name)); n > maxAssignableName {
		return o, fmt.Errorf("permset: permission set name %q has %d characters; AL allows at most %d for an assignable permission set (AL0305)", o.Name, n, maxAssignableName)
	}
	if strings.ContainsAny(o.Name, "\"") || hasControl(o.Name) {
		return o, fmt.Errorf("permset: permission set name %q contains a double quote or control character; use letters, digits, spaces and punctuation other than \"", o.Name)
	}
	if hasControl(o.Caption) {
		return o, fmt.Errorf("permset: caption %q contains a control character (line break or tab); use a single line", o.Caption)
	}
	return o, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// UnknownEntitySetError reports entity set names that are not in the API v2.0 schema.
type UnknownEntitySetError struct {
	Unknown     []string            // in the order given
	Suggestions map[string][]string // close matches per unknown name; may be empty
}

func (e *UnknownEntitySetError) Error() string {
	var b strings.Builder
	b.WriteString("permset: unknown API v2.0 entity set")
	if len(e.Unknown) > 1 {
		b.WriteString("s")
	}
	for i, name := range e.Unknown {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %q", name)
		if s := e.Suggestions[name]; len(s) > 0 {
			fmt.Fprintf(&b, " (did you mean %s?)", strings.Join(quoteAll(s), " or "))
		}
	}
	b.WriteString("; entity set names are case-sensitive, as in BC URLs (e.g. salesInvoices)")
	return b.String()
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// ReadOnlyEntitySetError reports entity sets listed for writing that API v2.0 only reads.
type ReadOnlyEntitySetError struct {
	EntitySets []string
}

func (e *ReadOnlyEntitySetError) Error() string {
	return fmt.Sprintf("permset: API v2.0 only reads %s (GET only, no writes or actions); list them as read, not write", strings.Join(e.EntitySets, ", "))
}

// Permissions resolves entity sets to the merged table data permissions a permission set
// needs: read for every set in read and write and for their parents and lines (what a sync
// of them reads, bcschema.Schema.Replicated), the write letters for every set in write,
// and the conditional grants (Entry.WhenWritable) whose trigger table ends up writable.
// The result is sorted by table name (case-insensitive) with one entry per table.
func Permissions(read, write []string) ([]Table, error) {
	r, err := resolve(read, write)
	if err != nil {
		return nil, err
	}
	return r.tables, nil
}

type resolution struct {
	read, write []string // validated, deduplicated, sorted; read excludes sets also in write
	tables      []Table
	// customKnown and customUnknown are the custom API sets with and without a table.
	customKnown, customUnknown []string
}

// isCustomEntry reports a custom API set as a connection lists it:
// "publisher/group/version/entitySet".
func isCustomEntry(name string) bool { return strings.Count(name, "/") == 3 }

// resolveWith is resolve with custom API sets: those with a table in custom grant it (R,
// RIMD for writes); the others are listed as not covered.
func resolveWith(read, write []string, custom map[string]Table) (*resolution, error) {
	var stdRead, stdWrite []string
	var extra []Table
	var known, unknown []string
	seen := map[string]bool{}
	split := func(names []string, w bool, std *[]string) error {
		for _, raw := range names {
			name := strings.TrimSpace(raw)
			if !isCustomEntry(name) {
				*std = append(*std, raw)
				continue
			}
			t, ok := custom[name]
			if ok {
				if err := checkTableName(t.Name); err != nil {
					return fmt.Errorf("permset: the table of custom API set %s: %w", name, err)
				}
				t.Perms = "R"
				if w {
					t.Perms = "RIMD"
				}
				extra = append(extra, t)
			}
			if !seen[name] {
				seen[name] = true
				if ok {
					known = append(known, name)
				} else {
					unknown = append(unknown, name)
				}
			}
		}
		return nil
	}
	if err := split(read, false, &stdRead); err != nil {
		return nil, err
	}
	if err := split(write, true, &stdWrite); err != nil {
		return nil, err
	}
	res := &resolution{}
	if len(stdRead) > 0 || len(stdWrite) > 0 || len(seen) == 0 {
		var err error
		if res, err = resolve(stdRead, stdWrite); err != nil {
			return nil, err
		}
	}
	if len(extra) > 0 {
		perms := map[string]Table{}
		for _, t := range res.tables {
			perms[t.Name] = t
		}
		for _, t := range extra {
			cur := perms[t.Name]
			cur.Name, cur.Perms = t.Name, mergePerms(cur.Perms, t.Perms)
			if cur.ID == 0 {
				cur.ID = t.ID
			}
			perms[t.Name] = cur
		}
		res.tables = res.tables[:0]
		for _, t := range perms {
			res.tables = append(res.tables, t)
		}
		sort.Slice(res.tables, func(i, j int) bool { return lessName(res.tables[i].Name, res.tables[j].Name) })
	}
	sort.Strings(known)
	sort.Strings(unknown)
	res.customKnown, res.customUnknown = known, unknown
	return res, nil
}

func resolve(read, write []string) (*resolution, error) {
	m, err := load()
	if err != nil {
		return nil, err
	}
	schema, err := bcschema.Load()
	if err != nil {
		return nil, err
	}
	if len(read) == 0 && len(write) == 0 {
		return nil, errors.New("permset: no entity sets given; name the API v2.0 entity sets the connector reads or writes (e.g. customers,salesInvoices)")
	}
	unknown := &UnknownEntitySetError{Suggestions: map[string][]string{}}
	seenUnknown := map[string]bool{}
	check := func(names []string) map[string]bool {
		set := map[string]bool{}
		for _, raw := range names {
			name := strings.TrimSpace(raw)
			if name == "" {
				continue
			}
			if _, ok := m.entries[name]; !ok {
				if !seenUnknown[name] {
					seenUnknown[name] = true
					unknown.Unknown = append(unknown.Unknown, name)
					if s := closeMatches(name, m.names); len(s) > 0 {
						unknown.Suggestions[name] = s
					}
				}
				continue
			}
			set[name] = true
		}
		return set
	}
	// A sync reads every set with its parent and lines ($expand), so the grant covers them
	// too: the permission set matches what the sync reads (bcschema Replicated).
	readSet, writeSet := check(schema.Replicated(append(append([]string(nil), read...), write...))), check(write)
	if len(unknown.Unknown) > 0 {
		return nil, unknown
	}
	if len(readSet) == 0 && len(writeSet) == 0 {
		return nil, errors.New("permset: no entity sets given; name the API v2.0 entity sets the connector reads or writes (e.g. customers,salesInvoices)")
	}
	var readOnly []string
	for name := range writeSet {
		e, ok := schema.EntitySet(name)
		if !ok {
			return nil, fmt.Errorf("permset: entity set %s is mapped but missing from bcschema; the mapping and the schema are out of step", name)
		}
		if !writable(e) {
			readOnly = append(readOnly, name)
		}
	}
	if len(readOnly) > 0 {
		sort.Strings(readOnly)
		return nil, &ReadOnlyEntitySetError{EntitySets: readOnly}
	}

	perms := map[string]string{} // table name -> letters
	ids := map[string]int{}
	grant := func(t Table) bool {
		merged := mergePerms(perms[t.Name], t.Perms)
		changed := merged != perms[t.Name]
		perms[t.Name] = merged
		ids[t.Name] = t.ID
		return changed
	}
	selected := map[string]bool{}
	for name := range readSet {
		selected[name] = true
	}
	for name := range writeSet {
		selected[name] = true
	}
	for name := range selected {
		for _, t := range m.entries[name].Read {
			grant(t)
		}
	}
	for name := range writeSet {
		for _, t := range m.entries[name].Write {
			grant(t)
		}
	}
	// Conditional grants can make further trigger tables writable; iterate to a fixpoint.
	for changed := true; changed; {
		changed = false
		for name := range selected {
			for _, c := range m.entries[name].WhenWritable {
				if !strings.ContainsAny(perms[c.Table], "IMD") {
					continue
				}
				for _, t := range c.Grants {
					if grant(t) {
						changed = true
					}
				}
			}
		}
	}

	res := &resolution{}
	for name := range writeSet {
		res.write = append(res.write, name)
	}
	for name := range readSet {
		if !writeSet[name] {
			res.read = append(res.read, name)
		}
	}
	sort.Strings(res.read)
	sort.Strings(res.write)
	for name, p := range perms {
		res.tables = append(res.tables, Table{ID: ids[name], Name: name, Perms: p})
	}
	sort.Slice(res.tables, func(i, j int) bool { return lessName(res.tables[i].Name, res.tables[j].Name) })
	return res, nil
}

// writable reports whether the entity set accepts POST, PATCH or DELETE or has bound actions.
func writable(e *bcschema.Entity) bool {
	return e.Allows("POST") || e.Allows("PATCH") || e.Allows("DELETE") || len(e.Actions) > 0
}

// mergePerms returns the union of two permission letter sets in RIMD order.
func mergePerms(a, b string) string {
	var out []byte
	for _, c := range []byte("RIMD") {
		if strings.IndexByte(a, c) >= 0 || strings.IndexByte(b, c) >= 0 {
			out = append(out, c)
		}
	}
	return string(out)
}

func lessName(a, b string) bool {
	la, lb := strings.ToLower(a), strings.ToLower(b)
	if la != lb {
		return la < lb
	}
	return a < b
}

// Generate writes the AL source of an assignable permissionset object granting the table
// data permissions the given entity sets need (see Permissions): read for every set in read,
// read and write for every set in write. Entity set names are case-sensitive; unknown names
// give an *UnknownEntitySetError with close matches, write sets that API v2.0 only reads a
// *ReadOnlyEntitySetError.
//
// Bound actions that post or send documents (post, shipAndInvoice, ...) are not covered; the
// file says so in its header when such a set is written.
func Generate(w io.Writer, read, write []string, opt Options) error {
	opt, err := opt.withDefaults()
	if err != nil {
		return err
	}
	res, err := resolveWith(read, write, opt.Custom)
	if err != nil {
		return err
	}
	m, _ := load()
	schema, _ := bcschema.Load()

	var lines []string
	for _, t := range res.tables {
		lines = append(lines, fmt.Sprintf("tabledata %s = %s", alIdent(t.Name), t.Perms))
	}
	if opt.PageExecute {
		var objs []string
		for _, name := range append(append([]string(nil), res.read...), res.write...) {
			e, _ := schema.EntitySet(name)
			if kind, objName, ok := parseALObject(e.AL.Object); ok {
				objs = append(objs, fmt.Sprintf("%s %s = X", kind, alIdent(objName)))
			}
		}
		sort.Strings(objs)
		lines = append(lines, objs...)
	}

	bw := bufio.NewWriter(w)
	writeHeader(bw, res, m, schema, opt)
	fmt.Fprintf(bw, "permissionset %d %s\n{\n", opt.ObjectID, alIdent(opt.Name))
	fmt.Fprintf(bw, "    Assignable = true;\n")
	fmt.Fprintf(bw, "    Caption = %s;\n", alString(opt.Caption))
	if len(lines) > 0 {
		fmt.Fprintf(bw, "    Permissions =\n")
		for i, l := range lines {
			sep := ","
			if i == len(lines)-1 {
				sep = ";"
			}
			fmt.Fprintf(bw, "        %s%s\n", l, sep)
		}
	}
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}

func writeHeader(w *bufio.Writer, res *resolution, m *mapping, schema *bcschema.Schema, opt Options) {
	c := func(format string, args ...any) {
		line := strings.TrimRight("// "+fmt.Sprintf(format, args...), " ")
		fmt.Fprintln(w, line)
	}
	c("Generated by bcconnector permission-set from the API v2.0 table mapping in")
	c("github.com/bizzjoiner/bcconnector/permset (tables.json). Regenerate instead of editing.")
	c("")
	c("Least-privilege permission set for the Bizzjoiner Connector's Microsoft Entra application:")
	c("assign it on the application's card under Microsoft Entra Applications (setup guide")
	c("Step 6) instead of broad permission sets.")
	c("")
	wrapList(c, "Read:  ", res.read)
	wrapList(c, "Write: ", res.write)
	c("")
	c("Table mapping: the APIV2 pages in microsoft/ALAppExtensions (Apps/W1/APIV2/app/src/pages)")
	c("and the BaseApp code they call (StefanMaron/MSDyn365BC.Code.History); the commit each")
	c("entry was read at is in tables.json.")
	var unverified []string
	for _, name := range append(append([]string(nil), res.read...), res.write...) {
		if !m.entries[name].Verified {
			unverified = append(unverified, name)
		}
	}
	sort.Strings(unverified)
	if len(unverified) > 0 {
		wrapList(c, "Inferred, not read from source: ", unverified)
	}
	var actions []string
	for _, name := range res.write {
		e, _ := schema.EntitySet(name)
		if m.entries[name].ActionsCovered {
			continue
		}
		for _, a := range e.Actions {
			actions = append(actions, name+"/"+strings.TrimPrefix(a, "Microsoft.NAV."))
		}
	}
	if len(actions) > 0 {
		wrapList(c, "Not covered (bound actions that post or send): ", actions)
	}
	if len(res.customKnown) > 0 {
		wrapList(c, "Custom API pages, with the tables given for them: ", res.customKnown)
	}
	if len(res.customUnknown) > 0 {
		wrapList(c, "Not covered (custom API pages; $metadata does not name the table behind a page): ", res.customUnknown)
		c("Add tabledata \"<the page's SourceTable>\" = R (RIMD to write) for each, from the extension's source.")
	}
	if opt.PageExecute {
		c("Page and query execute permissions reference Microsoft's API v2.0 extension: add a")
		c("dependency on _Exclude_APIV2_ (id %s, publisher Microsoft) in app.json.", APIV2AppID)
	} else {
		c("Table data only; if BC reports a missing Execute permission on an APIV2 page,")
		c("regenerate with page execute permissions.")
	}
	if len(res.tables) == 0 && len(res.customUnknown) == 0 {
		c("The entity sets above need no table data permissions.")
	}
}

// wrapList writes "prefix a, b, c" as comment lines of at most ~96 columns. Continuation
// lines align with the first item for short prefixes and are indented by four otherwise.
func wrapList(c func(string, ...any), prefix string, items []string) {
	if len(items) == 0 {
		c("%s(none)", prefix)
		return
	}
	indent := strings.Repeat(" ", len(prefix))
	if len(prefix) > 12 {
		c("%s", strings.TrimRight(prefix, " "))
		prefix, indent = "    ", "    "
	}
	line := prefix
	for i, it := range items {
		piece := it
		if i < len(items)-1 {
			piece += ","
		}
		if len(line)+len(piece)+1 > 93 && line != prefix && line != indent {
			c("%s", line)
			line = indent
		}
		if line != prefix && line != indent {
			line += " "
		}
		line += piece
	}
	c("%s", line)
}

var simpleIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// alKeywords are AL reserved words that must be quoted when used as an object name.
var alKeywords = map[string]bool{
	"and": true, "array": true, "as": true, "asserterror": true, "begin": true, "case": true,
	"codeunit": true, "const": true, "controladdin": true, "div": true, "do": true, "dotnet": true,
	"downto": true, "else": true, "end": true, "entitlement": true, "enum": true, "event": true,
	"exit": true, "false": true, "for": true, "foreach": true, "function": true, "if": true,
	"in": true, "interface": true, "internal": true, "label": true, "local": true, "mod": true,
	"not": true, "of": true, "or": true, "page": true, "permissionset": true, "procedure": true,
	"profile": true, "protected": true, "query": true, "record": true, "repeat": true,
	"report": true, "system": true, "table": true, "tabledata": true, "then": true, "to": true,
	"true": true, "trigger": true, "until": true, "var": true, "while": true, "with": true,
	"xmlport": true, "xor": true,
}

// alIdent writes an object name as an AL identifier: bare when it is a plain identifier
// that is not a reserved word, otherwise in double quotes. Names never contain a double
// quote (checkTableName, Options validation), so no escaping is needed inside the quotes.
func alIdent(name string) string {
	if simpleIdent.MatchString(name) && !alKeywords[strings.ToLower(name)] {
		return name
	}
	return `"` + name + `"`
}

// alString writes an AL text literal; a single quote is escaped by doubling it.
func alString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

var alObjectRe = regexp.MustCompile(`^(page|query) \d+ "([^"]+)"$`)

// parseALObject splits bcschema's ALObject.Object, e.g. `page 30009 "APIV2 - Customers"`.
func parseALObject(obj string) (kind, name string, ok bool) {
	m := alObjectRe.FindStringSubmatch(obj)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// closeMatches returns up to three known names close to name (same name in another case, a
// prefix/substring match, or within a small edit distance), keeping only the closest ones.
func closeMatches(name string, known []string) []string {
	type cand struct {
		name string
		dist int
	}
	ln := strings.ToLower(name)
	var cands []cand
	for _, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(ln, lk)
		switch {
		case lk == ln:
			d = 0
		case len(ln) >= 4 && (strings.HasPrefix(lk, ln) || strings.Contains(lk, ln)):
			if d > 2 {
				d = 2
			}
		}
		limit := 2
		if len(ln) >= 8 {
			limit = 3
		}
		if d <= limit {
			cands = append(cands, cand{k, d})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for i := 0; i < len(cands) && i < 3 && cands[i].dist == cands[0].dist; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

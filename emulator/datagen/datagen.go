// Package datagen generates the emulator's seed data: deterministic, realistic records for every
// entity set of the BC API v2.0 schema, computed lazily so that a company can hold 1,000,000
// generalLedgerEntries without any of them being stored.
//
// Row i of an entity set is a pure function of (seed, company ID, entity set, i): the same inputs
// give the same record byte for byte, in any order and from any goroutine, and generating a row
// never generates the rows before it. Records follow the emulator's data contract
// (docs/ARCHITECTURE.md, "Data representation"): a map[string]any holding every schema field
// except Edm.Stream and filter-only fields, with string, float64, int64, bool, "YYYY-MM-DD"
// dates and time.Time (UTC, millisecond precision) values, wire-form enum values, blank GUIDs for
// unset references and strings within the field's maxLength.
//
// Rows are ordered the way the emulator serves them: the key (id) grows strictly with the row
// index (lexicographically, as lower-case canonical GUID strings) while looking random;
// lastModifiedDateTime, entryNumber, number, postingDate (ledger entries, journals, documents)
// and a line's documentId grow with it too.
// IndexRange turns a filter on such a field into an index range, which is how `$filter=
// lastModifiedDateTime gt …` over a million G/L entries costs O(log n) instead of a scan.
//
// References are real: a salesInvoice's customerId, customerNumber and customerName are those of
// a generated customer row, its lines point at generated items and accounts, and its totals are
// the sum of its lines (bc-entra-facts §11: "a faithful local sandbox").
package datagen

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// The generated history spans two calendar years, independent of the wall clock:
// lastModifiedDateTime of row i of a set with n rows is epoch + i/n of the span.
var (
	epoch   = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	epochMs = epoch.UnixMilli()
	spanMs  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() - epochMs
)

// dayCacheBefore/After bound the boxed "YYYY-MM-DD" strings kept per Generator: the history span
// plus room for due dates and employment dates. Dates outside are formatted on demand.
const (
	dayCacheBefore = 366 * 3
	dayCacheAfter  = 366 * 4
)

// Generator produces seed rows. It is safe for concurrent use; per-company state (a few numbers
// per entity set, and for child sets a prefix-sum table of rows per parent) is built on first
// use and kept for the Generator's lifetime, so pass only company IDs the emulator knows.
type Generator struct {
	seed   uint64
	schema *bcschema.Schema
	defs   map[string]*setDef
	order  []*setDef // schema order

	companies sync.Map // company ID, as given and lower-cased -> *company

	days      []any // boxed dates from epoch-dayCacheBefore
	chart     []int // chart row -> chartOfAccounts index (or -1 - extra number)
	chartNums []any // boxed account numbers per chart row
	roleAccts [roleSalaries + 1][]int
	posting   []int
}

// New returns a Generator for the given seed and sizes. Sets missing from sizes get the "small"
// preset's count; nil sizes means the small preset. Counts beyond the supported maxima are
// clamped (use ParseSizes to validate user input).
func New(seed int64, sizes Sizes) *Generator {
	g := &Generator{seed: mix64(uint64(seed) ^ 0x5eed), schema: bcschema.MustLoad(), defs: map[string]*setDef{}}
	small, _ := Preset("small")
	for _, e := range g.schema.Entities {
		n, ok := sizes[e.EntitySet]
		if !ok {
			n = small[e.EntitySet]
		}
		limit := maxRows
		if e.Parent != nil {
			limit = maxPerParent
		}
		n = min(max(n, 0), limit)
		d := &setDef{name: e.EntitySet, ent: e, size: n, salt: hashString(e.EntitySet)}
		if len(e.Key) > 0 {
			d.keyField = e.Key[0] // before compile: children look at their parent's key
		}
		g.defs[d.name] = d
		g.order = append(g.order, d)
	}
	g.days = make([]any, dayCacheBefore+dayCacheAfter)
	for k := range g.days {
		g.days[k] = epoch.AddDate(0, 0, k-dayCacheBefore).Format(time.DateOnly)
	}
	g.buildChart(g.defs["accounts"].size)
	for _, d := range g.order {
		g.compile(d)
	}
	return g
}

// setDef is what a Generator knows about one entity set, independent of the company.
type setDef struct {
	name string
	ent  *bcschema.Entity
	size int    // rows, or rows per parent for child sets
	salt uint64 // hashString(name)

	parent   *setDef // schema parent (child sets)
	childMin int     // minimum rows per parent
	mirror   *setDef // rows mirror the base set's rows (agedAccountsReceivables -> customers)
	limit    int     // cap on the count (fixed tables, singletons); 0 = none
	keyField string  // the OData key field ("id", "systemId", …); "" for API queries
	series   *seriesDef
	doc      *docDef
	line     *lineDef
	enumBox  map[string]map[string]any // field -> wire value -> boxed value
	enumList map[string][]any          // field -> boxed non-blank values

	fields []fieldGen
	fast   func(s *setState, i int) map[string]any
	mono   map[string]*monoField
	limits []strLimit
}

type seriesDef struct {
	prefix      string
	start, step int64
	width       int // minimum digits: "C" + 5 digits gives C00010
}

type strLimit struct {
	name string
	max  int
}

// company is the per-company state: its home country and the lazily initialised sets.
type company struct {
	g    *Generator
	id   string
	key  uint64
	home *homeCountry
	loc  *locale
	lcy  string
	// foreignCountries are the countries (indexes into countries) that addresses abroad use:
	// those with a locale and a row in this company's countriesRegions.
	foreignCountries []int
	// currencies are the currencyTable indexes of the company's currencies (LCY excluded).
	currencies []int
	sets       map[string]*setState
}

// setState is one entity set of one company.
type setState struct {
	def *setDef
	c   *company
	key uint64

	once   sync.Once
	n      int
	idBase uint64
	idStep uint64
	lmStep int64
	num    series
	prefix []int32 // child sets: prefix[p] = first child row of parent p; len = parents+1

	cacheOnce sync.Once
	ids       []any // boxed keys, for small sets that other rows reference often
}

// company returns the state of a company, creating it on first use. Company IDs are GUIDs
// that BC accepts in any case: the state is keyed by the lower-cased ID, and each spelling seen
// is also remembered so that the hot path does not lower-case.
func (g *Generator) company(companyID string) *company {
	if c, ok := g.companies.Load(companyID); ok {
		return c.(*company)
	}
	id := strings.ToLower(companyID)
	c, _ := g.companies.LoadOrStore(id, g.newCompany(id))
	if id != companyID {
		g.companies.Store(companyID, c)
	}
	return c.(*company)
}

func (g *Generator) newCompany(id string) *company {
	c := &company{g: g, id: id, key: g.companyKey(id), sets: make(map[string]*setState, len(g.order))}
	c.home = g.homeOf(id)
	c.loc = locales[c.home.country]
	c.lcy = countryByCode(c.home.country).currency
	for _, d := range g.order {
		c.sets[d.name] = &setState{def: d, c: c, key: mix64(c.key ^ d.salt)}
	}
	nCountries := min(g.defs["countriesRegions"].size, len(countries))
	for k := 0; k < nCountries; k++ {
		if _, ok := locales[countries[k].code]; ok && countries[k].code != c.home.country {
			c.foreignCountries = append(c.foreignCountries, k)
		}
	}
	for k, cur := range currencyTable {
		if cur.code != c.lcy {
			c.currencies = append(c.currencies, k)
		}
	}
	return c
}

func (g *Generator) companyKey(id string) uint64 { return mix64(g.seed ^ hashLower(id)) }

// homeOf is the home country of a company ID, without creating the company's state.
func (g *Generator) homeOf(id string) *homeCountry {
	return &homeCountries[pick(sub(g.companyKey(id), 1), len(homeCountries))]
}

func countryByCode(code string) *country {
	for k := range countries {
		if countries[k].code == code {
			return &countries[k]
		}
	}
	return &countries[0]
}

// set returns the state of the named set; it panics only on a programming error in this package
// (every schema set has a state).
func (c *company) set(name string) *setState { return c.sets[name] }

// count returns the number of rows of the named set.
func (c *company) count(name string) int { return c.sets[name].count() }

func (g *Generator) state(companyID, entitySet string) *setState {
	if _, ok := g.defs[entitySet]; !ok {
		return nil
	}
	return g.company(companyID).sets[entitySet]
}

func (s *setState) count() int {
	s.once.Do(s.init)
	return s.n
}

func (s *setState) init() {
	d := s.def
	switch {
	case d.parent != nil:
		s.initChildren()
	case d.mirror != nil:
		s.n = min(d.size, s.c.count(d.mirror.name))
	default:
		s.n = d.size
	}
	if d.limit > 0 {
		s.n = min(s.n, d.limit)
	}
	n := uint64(max(s.n, 1))
	s.idBase = (s.key >> 33) & 0x7fffffff
	s.idStep = max((0xffffffff-s.idBase)/n, 1)
	s.lmStep = max(spanMs/int64(n), 1)
	if d.series != nil {
		s.num = newSeries(d.series.prefix, d.series.start, d.series.step, s.n, d.series.width)
	}
}

// initChildren builds the prefix-sum table of rows per parent once per (company, set): parents
// get between childMin and size rows, decided by a hash of the parent row.
func (s *setState) initChildren() {
	d := s.def
	parents := s.c.count(d.parent.name)
	s.prefix = make([]int32, parents+1)
	lo, hi := min(d.childMin, d.size), d.size
	total := 0
	for p := 0; p < parents; p++ {
		k := lo
		if hi > lo {
			k += pick(rowKey(s.key^0xc417d, p), hi-lo+1)
		}
		if total+k > maxRows {
			k = 0
		}
		total += k
		s.prefix[p+1] = int32(total)
	}
	s.n = total
}

// parentOf returns the parent row of child row i and i's position among its siblings.
func (s *setState) parentOf(i int) (p, pos int) {
	s.count()
	parents := len(s.prefix) - 1
	p = sort.Search(parents, func(p int) bool { return int(s.prefix[p+1]) > i })
	return p, i - int(s.prefix[p])
}

// children returns the child rows [lo, hi) of parent p.
func (s *setState) children(p int) (lo, hi int) {
	s.count()
	if p < 0 || p >= len(s.prefix)-1 {
		return 0, 0
	}
	return int(s.prefix[p]), int(s.prefix[p+1])
}

// keyAt returns the key of row i: a GUID whose first 32 bits grow strictly with i from a
// per-(company, set) random base, the rest random-looking.
func (s *setState) keyAt(i int) string {
	s.count()
	if m := s.def.mirror; m != nil {
		return s.c.set(m.name).keyAt(i)
	}
	k := rowKey(s.key^0x1d5, i)
	prefix := uint32(s.idBase + uint64(i)*s.idStep + k%s.idStep)
	g := formatGUID(prefix, mix64(k), mix64(k^golden))
	if s.def.keyField == "subscriptionId" {
		return strings.ReplaceAll(g, "-", "")
	}
	return g
}

// keyAny is keyAt boxed, cached for sets small enough to be referenced by many rows.
func (s *setState) keyAny(i int) any {
	if n := s.count(); n <= 4096 {
		s.cacheOnce.Do(func() {
			s.ids = make([]any, n)
			for j := range s.ids {
				s.ids[j] = s.keyAt(j)
			}
		})
		return s.ids[i]
	}
	return s.keyAt(i)
}

// lmAt returns lastModifiedDateTime of row i in Unix milliseconds: strictly increasing with i,
// spread over the two-year history.
func (s *setState) lmAt(i int) int64 {
	s.count()
	return epochMs + int64(i)*s.lmStep + int64(rowKey(s.key^0x1a57, i)%uint64(s.lmStep))
}

// dayAt returns the day index (days since epoch) of row i's lastModifiedDateTime.
func (s *setState) dayAt(i int) int { return int((s.lmAt(i) - epochMs) / 86_400_000) }

// day returns the boxed "YYYY-MM-DD" of a day index relative to epoch.
func (g *Generator) day(d int) any {
	if k := d + dayCacheBefore; k >= 0 && k < len(g.days) {
		return g.days[k]
	}
	return epoch.AddDate(0, 0, d).Format(time.DateOnly)
}

func (g *Generator) dayString(d int) string { return g.day(d).(string) }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// blankDate and blankTime are BC's "not set" values (bc-entra-facts §11.10, schema conventions).
var (
	blankDate any = "0001-01-01"
	blankTime any = time.Time{}
	blankGUID any = bcschema.BlankGUID
)

// Count returns the number of base rows of the entity set in the company, 0 for an unknown set.
// Root-scoped sets (companies, subscriptions) take any scope string, e.g. the environment name.
func (g *Generator) Count(companyID, entitySet string) int {
	s := g.state(companyID, entitySet)
	if s == nil {
		return 0
	}
	return s.count()
}

// Row returns base row i of the entity set in the company, a fresh map the caller may modify.
// It returns nil for an unknown set or i outside [0, Count).
func (g *Generator) Row(companyID, entitySet string, i int) map[string]any {
	s := g.state(companyID, entitySet)
	if s == nil || i < 0 || i >= s.count() {
		return nil
	}
	return g.rowAt(s, i)
}

// rowAt generates row i of s; i may lie beyond the seed rows (Added).
func (g *Generator) rowAt(s *setState, i int) map[string]any {
	if s.def.fast != nil {
		return s.def.fast(s, i)
	}
	x := &rowCtx{s: s, c: s.c, g: g, i: i, k: rowKey(s.key, i), parent: -1}
	if s.def.parent != nil {
		x.parent, x.pos = s.parentOf(i)
	}
	m := make(map[string]any, len(s.def.fields))
	for _, f := range s.def.fields {
		m[f.name] = f.gen(x)
	}
	for _, l := range s.def.limits {
		if v, ok := m[l.name].(string); ok && len(v) > l.max {
			m[l.name] = truncate(v, l.max)
		}
	}
	return m
}

// truncate cuts s to at most n characters (BC's maxLength counts characters, not bytes).
func truncate(s string, n int) string {
	k := 0
	for idx := range s {
		if k == n {
			return strings.TrimRight(s[:idx], " ,")
		}
		k++
	}
	return s
}

// Key returns the key (id) of base row i without generating the row, "" when out of range. For
// API query sets without a key (customerSales, vendorPurchases) it is the mirrored row's id.
func (g *Generator) Key(companyID, entitySet string, i int) string {
	s := g.state(companyID, entitySet)
	if s == nil || i < 0 || i >= s.count() {
		return ""
	}
	return s.keyAt(i)
}

// IndexOf returns the index of the base row whose key equals key (case-insensitive GUID), in
// O(log n).
func (g *Generator) IndexOf(companyID, entitySet, key string) (int, bool) {
	s := g.state(companyID, entitySet)
	if s == nil {
		return 0, false
	}
	n := s.count()
	key = strings.ToLower(key)
	i := sort.Search(n, func(i int) bool { return s.keyAt(i) >= key })
	if i < n && s.keyAt(i) == key {
		return i, true
	}
	return 0, false
}

// ChildRange returns the half-open index range [lo, hi) of the rows of childSet (a set with a
// schema parent, e.g. salesInvoiceLines) that belong to parent row parentIndex. Lines of one
// document are contiguous and ordered by sequence. It returns (0, 0) for a set without a parent
// or a parent index out of range.
func (g *Generator) ChildRange(companyID, childSet string, parentIndex int) (lo, hi int) {
	s := g.state(companyID, childSet)
	if s == nil || s.def.parent == nil {
		return 0, 0
	}
	return s.children(parentIndex)
}

// ParentIndex returns the parent row of child row childIndex of childSet in O(log n), or -1 for
// a set without a parent or an index out of range.
func (g *Generator) ParentIndex(companyID, childSet string, childIndex int) int {
	s := g.state(companyID, childSet)
	if s == nil || s.def.parent == nil || childIndex < 0 || childIndex >= s.count() {
		return -1
	}
	p, _ := s.parentOf(childIndex)
	return p
}

// Parent returns the schema parent set of a child set ("salesInvoices" for "salesInvoiceLines"),
// or "" for a top-level set.
func (g *Generator) Parent(entitySet string) string {
	if d, ok := g.defs[entitySet]; ok && d.parent != nil {
		return d.parent.name
	}
	return ""
}

// CompanyNames returns the names a generated company goes by: name (the companies.name used in
// ?company= URLs, e.g. "CRONUS UK") and displayName ("CRONUS UK Ltd."). They follow the home
// country the company's data is generated for (its addresses, local currency and tax system).
func (g *Generator) CompanyNames(companyID string) (name, displayName string) {
	c := g.company(companyID)
	return c.home.shortName, c.home.displayName
}

// LocalCurrency returns the company's local currency code (generalLedgerSetup.localCurrencyCode).
func (g *Generator) LocalCurrency(companyID string) string { return g.company(companyID).lcy }

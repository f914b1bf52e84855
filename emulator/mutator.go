package emulator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// MutatorConfig makes the emulator change its data by itself, as users and posting
// routines do in a live BC, so incremental sync and webhooks have something to follow.
// Changes go through the same write path as API writes.
type MutatorConfig struct {
	// Rate is changes per second; 0 disables the mutator.
	Rate float64
	// EntitySets to change; default customers, vendors, items, contacts and
	// generalLedgerEntries (new postings). customers, vendors, items, contacts and employees
	// get complete new records (address, phone, e-mail… as the seed's), deletions and
	// plausible edits (phone, e-mail, address, credit limit, price). A document set
	// (salesOrders, salesInvoices, …) gets documents created with item lines and deleted,
	// header updates (order reference, dates), and lines added, changed (quantity) and
	// deleted. Other sets get only such edits, if they have one of those fields.
	EntitySets []string
	// Company to change; default the demo company (Company X in Production).
	Company CompanyRef
}

type mutator struct {
	e     *Emulator
	cfg   MutatorConfig // the running mutator's; Mutate passes its own
	stopC chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu  sync.Mutex // held for a whole step: one step's draws come from rng in order
	rng *rand.Rand
}

// MutationStats counts the changes the mutator made (failed attempts are not counted).
type MutationStats struct {
	Inserts int64 `json:"inserts"`
	Updates int64 `json:"updates"`
	Deletes int64 `json:"deletes"`
	// Lines counts the changes among the above that were made to document lines.
	Lines int64 `json:"lines"`
}

// Changes is the total number of changes.
func (s MutationStats) Changes() int64 { return s.Inserts + s.Updates + s.Deletes }

type mutationCounts struct{ inserts, updates, deletes, lines atomic.Int64 }

func (c *mutationCounts) snapshot() MutationStats {
	return MutationStats{Inserts: c.inserts.Load(), Updates: c.updates.Load(), Deletes: c.deletes.Load(), Lines: c.lines.Load()}
}

// StopMutation stops the mutator for good (the data stops changing by itself) and returns
// what it changed. It is safe to call more than once, and without a mutator.
func (e *Emulator) StopMutation() MutationStats {
	if e.mutator != nil {
		e.mutator.stop()
	}
	return e.mutations.snapshot()
}

// MutationStats returns what the mutator changed so far.
func (e *Emulator) MutationStats() MutationStats { return e.mutations.snapshot() }

func (e *Emulator) startMutator(cfg MutatorConfig) *mutator {
	if len(cfg.EntitySets) == 0 {
		cfg.EntitySets = defaultMutationSets
	}
	if cfg.Company.CompanyID == "" {
		cfg.Company = e.DemoCompanyRef()
	}
	m := &mutator{e: e, cfg: cfg, rng: rand.New(rand.NewPCG(uint64(e.cfg.Seed), 0x6d75)), stopC: make(chan struct{})}
	m.wg.Add(1)
	go m.run()
	return m
}

func (m *mutator) run() {
	defer m.wg.Done()
	interval := time.Duration(float64(time.Second) / m.cfg.Rate)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stopC:
			return
		case <-t.C:
			_ = m.step(m.cfg)
		}
	}
}

func (m *mutator) stop() {
	m.once.Do(func() { close(m.stopC) })
	m.wg.Wait()
}

// Mutate makes n changes at once through the mutator's logic (for tests and benchmarks of
// incremental sync), independent of the configured rate. The changes follow from the seed:
// two emulators with the same seed and clock that are mutated alike hold the same data.
// Successive calls go on where the last one stopped instead of repeating it.
func (e *Emulator) Mutate(n int, cfg MutatorConfig) error {
	if len(cfg.EntitySets) == 0 {
		cfg.EntitySets = defaultMutationSets
	}
	if cfg.Company.CompanyID == "" {
		cfg.Company = e.DemoCompanyRef()
	}
	e.manualOnce.Do(func() {
		e.manual = &mutator{e: e, rng: rand.New(rand.NewPCG(uint64(e.cfg.Seed), 0x6d76))}
	})
	for i := 0; i < n; i++ {
		if err := e.manual.step(cfg); err != nil {
			return err
		}
	}
	return nil
}

// defaultMutationSets are what MutatorConfig.EntitySets defaults to.
var defaultMutationSets = []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries"}

// step makes one change, as a user or a posting routine in BC would: a new G/L posting; in a
// document set a document or line change (document); in customers, vendors, items, contacts
// and employees a new complete record (20%), a deletion (10%) or a plausible edit (70%,
// edit); in other sets only edits, when the set has a field a user plausibly edits.
func (m *mutator) step(cfg MutatorConfig) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := cfg.EntitySets[m.rng.IntN(len(cfg.EntitySets))]
	roll := m.rng.Float64()
	e, ref := m.e, cfg.Company
	_, c, ent, err := e.resolveRef(ref, set)
	if err != nil {
		return err
	}
	cnt := &e.mutations
	if set == "generalLedgerEntries" {
		return count(&cnt.inserts, nil, m.post(ref, c))
	}
	if lineSet := m.lineSet(ent); lineSet != "" {
		err := m.document(ref, ent, lineSet, roll)
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == codeDialog {
			return nil // a posted document refuses changes, as in BC
		}
		return err
	}
	_, canAdd := e.gen.Added(c.ID, set, 0)
	switch {
	case canAdd && roll < 0.2:
		return count(&cnt.inserts, nil, m.add(ref, c, set))
	case canAdd && roll < 0.3:
		id, ok := m.randomID(ref, set)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, nil, e.Delete(ref, set, id))
	default:
		id, ok := m.randomID(ref, set)
		if !ok {
			return nil
		}
		row, _, _ := e.Get(ref, set, id)
		fields := m.edit(c, ent, row)
		if len(fields) == 0 {
			return nil
		}
		_, err := e.Update(ref, set, id, fields)
		return count(&cnt.updates, nil, err)
	}
}

// lineSet returns the document lines of ent ("" if ent is not a document set).
func (m *mutator) lineSet(ent *bcschema.Entity) string {
	for _, ch := range m.e.sch().Children(ent) {
		if ch.Parent.ChildField == "documentId" {
			return ch.EntitySet
		}
	}
	return ""
}

// count adds one to c (and to lines, if given) when err is nil.
func count(c, lines *atomic.Int64, err error) error {
	if err == nil {
		c.Add(1)
		if lines != nil {
			lines.Add(1)
		}
	}
	return err
}

// add creates the next new record of set as datagen.Generator.Added makes it: complete,
// with a number that continues the seed's series (left to BC's number series if taken).
func (m *mutator) add(ref CompanyRef, c *company, set string) error {
	e := m.e
	row, _ := e.gen.Added(c.ID, set, c.nextNumber("mutator/"+set, 0))
	fields := wireFields(row)
	delete(fields, "lastModifiedDateTime")
	ent, _ := e.sch().EntitySet(set)
	if _, taken := findBy(e.tableOf(c, ent), "number", fields["number"]); taken {
		delete(fields, "number")
	}
	if set == "employees" {
		fields["employmentDate"] = e.cfg.Now().UTC().Format(time.DateOnly) // a new hire
	}
	_, err := e.Create(ref, set, fields)
	return err
}

// wireFields turns a generated or stored row into a write body (times as BC writes them).
func wireFields(row map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range publicRow(row) {
		if t, ok := v.(time.Time); ok {
			v = formatDateTime(t)
		}
		out[k] = v
	}
	return out
}

// edit returns a plausible change to row, as a user makes it: a new phone number, e-mail
// address, mobile number or job title, a move to another address in the same country, a
// changed credit limit or a new price. nil when the set has none of these fields.
func (m *mutator) edit(c *company, ent *bcschema.Entity, row map[string]any) map[string]any {
	has := func(f string) bool { _, ok := ent.Field(f); return ok && row != nil }
	var kinds []string
	for _, k := range []struct{ kind, field string }{
		{"phone", "phoneNumber"}, {"email", "email"}, {"address", "addressLine1"}, {"mobile", "mobilePhoneNumber"},
		{"mobile", "mobilePhone"}, {"jobTitle", "jobTitle"}, {"creditLimit", "creditLimit"}, {"price", "unitPrice"},
	} {
		if has(k.field) {
			kinds = append(kinds, k.kind)
		}
	}
	if len(kinds) == 0 {
		return nil
	}
	kind := kinds[m.rng.IntN(len(kinds))]
	switch kind {
	case "creditLimit":
		cur, _ := row["creditLimit"].(float64)
		next := cur + float64(1+m.rng.IntN(4))*5000*float64(1-2*m.rng.IntN(2))
		if next <= 0 {
			next = float64(2+m.rng.IntN(9)) * 5000
		}
		return map[string]any{"creditLimit": next}
	case "price":
		cur, _ := row["unitPrice"].(float64)
		if cur <= 0 {
			return nil
		}
		return map[string]any{"unitPrice": newPrice(cur, 0.02+0.08*m.rng.Float64(), m.rng.IntN(3) == 0)}
	}
	donor := m.donor(c, ent, row)
	if donor == nil {
		return nil
	}
	switch kind {
	case "phone":
		return pickFields(donor, "phoneNumber")
	case "mobile":
		if f := firstField(ent, "mobilePhoneNumber", "mobilePhone"); f != "" && row[f] != "" {
			if v, _ := donor["phoneNumber"].(string); v != "" {
				return map[string]any{f: v}
			}
		}
		return pickFields(donor, "phoneNumber")
	case "email":
		// Another person at the same domain: the contact person changed.
		cur, _ := row["email"].(string)
		local, _, _ := strings.Cut(fmt.Sprint(donor["email"]), "@")
		if _, dom, ok := strings.Cut(cur, "@"); ok && local != "" {
			return map[string]any{"email": local + "@" + dom}
		}
		return pickFields(donor, "phoneNumber")
	case "jobTitle":
		if row["jobTitle"] == "" || donor["jobTitle"] == nil || donor["jobTitle"] == row["jobTitle"] {
			return pickFields(donor, "phoneNumber")
		}
		return pickFields(donor, "jobTitle")
	default: // address: moved within the country
		return pickFields(donor, "addressLine1", "addressLine2", "city", "state", "postalCode")
	}
}

// donor is a generated new record whose phone number and address fit row's country: the
// source of an edit's new values.
func (m *mutator) donor(c *company, ent *bcschema.Entity, row map[string]any) map[string]any {
	set := ent.EntitySet
	if _, ok := m.e.gen.Added(c.ID, set, 0); !ok {
		set = "customers"
	}
	country, _ := row["country"].(string)
	for try := 0; try < 16; try++ {
		d, ok := m.e.gen.Added(c.ID, set, 100_000+m.rng.IntN(1_000_000))
		if !ok {
			return nil
		}
		if country == "" || d["country"] == country {
			return d
		}
	}
	return nil
}

// newPrice moves a price by frac up or down, rounded as the seed's prices are.
func newPrice(cur, frac float64, down bool) float64 {
	if down {
		frac = -frac
	}
	p := cur * (1 + frac)
	if p < 10 {
		return math.Max(math.Round(p*100)/100, 0.01)
	}
	if p = math.Round(p); p == cur {
		p++
	}
	return p
}

func pickFields(src map[string]any, names ...string) map[string]any {
	out := map[string]any{}
	for _, n := range names {
		if v, ok := src[n]; ok {
			out[n] = v
		}
	}
	return out
}

func firstField(ent *bcschema.Entity, names ...string) string {
	for _, n := range names {
		if _, ok := ent.Field(n); ok {
			return n
		}
	}
	return ""
}

// commentTexts are what users write on comment lines.
var commentTexts = []string{
	"Deliver to the loading dock at the rear entrance", "Call the customer before delivery",
	"Partial delivery accepted", "Gift wrapping requested", "Price as agreed by phone",
	"Invoice to the head office", "Fragile: handle with care",
}

// document changes a document set: a new document with 1–4 item lines (15%), a deleted
// document (10%), a header update (25%: the customer's order reference, a delivery or due
// date, the vendor's invoice number), or a line added (20%), changed (20%: its quantity, or
// a comment's text) or deleted (10%). Posted documents refuse changes; such a step changes
// nothing.
func (m *mutator) document(ref CompanyRef, ent *bcschema.Entity, lineSet string, roll float64) error {
	e, cnt, set := m.e, &m.e.mutations, ent.EntitySet
	lineEnt, _ := e.sch().EntitySet(lineSet)
	today := e.cfg.Now().UTC()
	switch {
	case roll < 0.15:
		partySet, numField := "customers", "customerNumber"
		if vendorDocs[set] {
			partySet, numField = "vendors", "vendorNumber"
		}
		if !customerDocs[set] && !vendorDocs[set] {
			return nil
		}
		pid, ok := m.randomID(ref, partySet)
		if !ok {
			return nil
		}
		party, _, _ := e.Get(ref, partySet, pid)
		lines := make([]any, 1+m.rng.IntN(4))
		for i := range lines {
			line, ok := m.itemLine(ref, lineEnt)
			if !ok {
				return nil
			}
			lines[i] = line
		}
		body := map[string]any{"id": m.guid(), numField: party["number"], lineSet: lines}
		for k, v := range m.headerEdit(ent, today, true) {
			body[k] = v
		}
		_, err := e.Create(ref, set, body)
		if err == nil {
			cnt.lines.Add(int64(len(lines)))
			cnt.inserts.Add(int64(len(lines)))
		}
		return count(&cnt.inserts, nil, err)
	case roll < 0.25:
		id, ok := m.randomID(ref, set)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, nil, e.Delete(ref, set, id))
	case roll < 0.5:
		id, ok := m.randomID(ref, set)
		if !ok {
			return nil
		}
		fields := m.headerEdit(ent, today, false)
		if len(fields) == 0 {
			return nil
		}
		_, err := e.Update(ref, set, id, fields)
		return count(&cnt.updates, nil, err)
	case roll < 0.7:
		id, ok := m.randomID(ref, set)
		if !ok {
			return nil
		}
		line, ok := m.itemLine(ref, lineEnt)
		if !ok {
			return nil
		}
		line[lineEnt.Parent.ChildField] = id
		_, err := e.Create(ref, lineSet, line)
		return count(&cnt.inserts, &cnt.lines, err)
	case roll < 0.9:
		id, ok := m.randomID(ref, lineSet)
		if !ok {
			return nil
		}
		row, _, _ := e.Get(ref, lineSet, id)
		change := map[string]any{}
		if lt, _ := row["lineType"].(string); lt == "Comment" {
			change["description"] = commentTexts[m.rng.IntN(len(commentTexts))]
		} else {
			qty, _ := row["quantity"].(float64)
			next := float64(1 + m.rng.IntN(12))
			if next == qty {
				next++
			}
			change["quantity"] = next
		}
		_, err := e.Update(ref, lineSet, id, change)
		return count(&cnt.updates, &cnt.lines, err)
	default:
		id, ok := m.randomID(ref, lineSet)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, &cnt.lines, e.Delete(ref, lineSet, id))
	}
}

// itemLine is a new document line for an existing item: 1–12 of it, at the item's price
// (or, on a purchase line, its unit cost).
func (m *mutator) itemLine(ref CompanyRef, lineEnt *bcschema.Entity) (map[string]any, bool) {
	iid, ok := m.randomID(ref, "items")
	if !ok {
		return nil, false
	}
	item, _, _ := m.e.Get(ref, "items", iid)
	line := map[string]any{"id": m.guid(), "lineType": "Item", "lineObjectNumber": item["number"], "quantity": float64(1 + m.rng.IntN(12))}
	if _, purchase := lineEnt.Field("unitCost"); purchase {
		line["unitCost"] = item["unitCost"]
	}
	return line, true
}

// headerEdit is a plausible change to a document header: the customer's order reference, the
// vendor's invoice number, a requested delivery date or a due date. A new document gets its
// references; an edit changes one field.
func (m *mutator) headerEdit(ent *bcschema.Entity, today time.Time, all bool) map[string]any {
	values := map[string]func() any{
		"externalDocumentNumber": func() any { return fmt.Sprintf("PO-%05d", 10000+m.rng.IntN(90000)) },
		"vendorInvoiceNumber":    func() any { return fmt.Sprintf("INV-%06d", 100000+m.rng.IntN(900000)) },
		"requestedDeliveryDate":  func() any { return today.AddDate(0, 0, 7+m.rng.IntN(24)).Format(time.DateOnly) },
		"dueDate":                func() any { return today.AddDate(0, 0, 14+m.rng.IntN(32)).Format(time.DateOnly) },
	}
	var fields []string
	for _, f := range []string{"externalDocumentNumber", "vendorInvoiceNumber", "requestedDeliveryDate", "dueDate"} {
		if _, ok := ent.Field(f); ok && (!all || strings.HasSuffix(f, "Number")) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	if !all {
		fields = fields[m.rng.IntN(len(fields)):][:1]
	}
	out := map[string]any{}
	for _, f := range fields {
		out[f] = values[f]()
	}
	return out
}

// post appends a G/L entry: the next entry number, posted now, against an existing account.
func (m *mutator) post(ref CompanyRef, c *company) error {
	e := m.e
	ent, _ := e.sch().EntitySet("generalLedgerEntries")
	tab := e.tableOf(c, ent)
	base := tab.src.Count()
	if base == 0 {
		return nil
	}
	template := tab.src.Row(m.rng.IntN(base))
	entry := c.nextNumber("generalLedgerEntries", base+1)
	fields := wireFields(template)
	fields["id"] = m.guid()
	fields["entryNumber"] = entry
	fields["postingDate"] = e.cfg.Now().UTC().Format(time.DateOnly)
	fields["documentNumber"] = fmt.Sprintf("G%08d", entry)
	_, err := e.Create(ref, "generalLedgerEntries", fields)
	return err
}

// randomID picks a live record of a set.
func (m *mutator) randomID(ref CompanyRef, set string) (string, bool) {
	_, c, ent, err := m.e.resolveRef(ref, set)
	if err != nil {
		return "", false
	}
	tab := m.e.tableOf(c, ent)
	n := tab.src.Count()
	pick := m.rng.Uint64()
	for try := 0; try < 8 && n > 0; try++ {
		row := tab.src.Row(int((pick + uint64(try)*7919) % uint64(n)))
		id, _ := row["id"].(string)
		if _, ok := tab.get(id); ok {
			return id, true
		}
	}
	return "", false
}

// guid is a random-looking version 4 GUID drawn from the mutator's seeded stream.
func (m *mutator) guid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], m.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], m.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

package emulator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// MutatorConfig makes the emulator change its data by itself, as users and posting
// routines do in a live BC, so incremental sync and webhooks have something to follow.
// Changes go through the same write path as API writes.
type MutatorConfig struct {
	// Rate is changes per second; 0 disables the mutator.
	Rate float64
	// EntitySets to change; default customers, vendors, items, contacts and
	// generalLedgerEntries (new postings). A document set (salesOrders, salesInvoices, …)
	// gets documents created with lines and deleted, header updates, and lines added,
	// changed and deleted.
	EntitySets []string
	// Company to change; default the demo company (Company X in Production).
	Company CompanyRef
}

type mutator struct {
	e     *Emulator
	cfg   MutatorConfig
	rng   *rand.Rand
	stopC chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	n     int64
	once  sync.Once
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
		cfg.EntitySets = []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries"}
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
			_ = m.step()
		}
	}
}

func (m *mutator) stop() {
	m.once.Do(func() { close(m.stopC) })
	m.wg.Wait()
}

// step makes one change: a new G/L posting, or a create (20%), delete (10%) or update
// (70%) of a master record.
func (m *mutator) step() error {
	m.mu.Lock()
	set := m.cfg.EntitySets[m.rng.IntN(len(m.cfg.EntitySets))]
	roll := m.rng.Float64()
	pick := m.rng.Uint64()
	m.n++
	n := m.n
	m.mu.Unlock()
	e, ref := m.e, m.cfg.Company
	cnt := &e.mutations
	if set == "generalLedgerEntries" {
		return count(&cnt.inserts, nil, m.post(pick))
	}
	if lineSet := m.lineSet(set); lineSet != "" {
		err := m.document(set, lineSet, roll, pick, n)
		var ae *apiError
		if errors.As(err, &ae) && ae.Code == codeDialog {
			return nil // a posted document refuses changes, as in BC
		}
		return err
	}
	switch {
	case roll < 0.2:
		_, err := e.Create(ref, set, map[string]any{"displayName": fmt.Sprintf("Mutated %s %d", set, n)})
		return count(&cnt.inserts, nil, err)
	case roll < 0.3:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, nil, e.Delete(ref, set, id))
	default:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		_, err := e.Update(ref, set, id, map[string]any{"displayName": fmt.Sprintf("Updated %s %d", set, n)})
		return count(&cnt.updates, nil, err)
	}
}

// lineSet returns the document lines of set ("" if set is not a document set).
func (m *mutator) lineSet(set string) string {
	_, _, ent, err := m.e.resolveRef(m.cfg.Company, set)
	if err != nil {
		return ""
	}
	for _, ch := range m.e.schema.Children(ent) {
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

// document changes a document set: a new document with 1–3 lines (15%), a deleted
// document (10%), a header update (25%), or a line added (20%), changed (20%) or deleted
// (10%). Posted documents refuse changes; such a step changes nothing.
func (m *mutator) document(set, lineSet string, roll float64, pick uint64, n int64) error {
	e, ref, cnt := m.e, m.cfg.Company, &m.e.mutations
	comment := func(i int) map[string]any {
		return map[string]any{"lineType": "Comment", "description": fmt.Sprintf("Mutated line %d.%d", n, i)}
	}
	switch {
	case roll < 0.15:
		cust, ok := m.randomID("customers", pick)
		if !ok {
			return nil
		}
		row, _, _ := e.Get(ref, "customers", cust)
		lines := make([]any, 1+int(pick%3))
		for i := range lines {
			lines[i] = comment(i)
		}
		_, err := e.Create(ref, set, map[string]any{"customerNumber": row["number"], lineSet: lines})
		if err == nil {
			cnt.lines.Add(int64(len(lines)))
			cnt.inserts.Add(int64(len(lines)))
		}
		return count(&cnt.inserts, nil, err)
	case roll < 0.25:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, nil, e.Delete(ref, set, id))
	case roll < 0.5:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		_, err := e.Update(ref, set, id, map[string]any{"externalDocumentNumber": fmt.Sprintf("EXT-%d", n)})
		return count(&cnt.updates, nil, err)
	case roll < 0.7:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		line := comment(0)
		line["documentId"] = id
		_, err := e.Create(ref, lineSet, line)
		return count(&cnt.inserts, &cnt.lines, err)
	case roll < 0.9:
		id, ok := m.randomID(lineSet, pick)
		if !ok {
			return nil
		}
		_, err := e.Update(ref, lineSet, id, map[string]any{"description": fmt.Sprintf("Changed line %d", n)})
		return count(&cnt.updates, &cnt.lines, err)
	default:
		id, ok := m.randomID(lineSet, pick)
		if !ok {
			return nil
		}
		return count(&cnt.deletes, &cnt.lines, e.Delete(ref, lineSet, id))
	}
}

// post appends a G/L entry: the next entry number, posted now, against an existing account.
func (m *mutator) post(pick uint64) error {
	e, ref := m.e, m.cfg.Company
	_, c, ent, err := e.resolveRef(ref, "generalLedgerEntries")
	if err != nil {
		return err
	}
	tab := e.tableOf(c, ent)
	base := tab.src.Count()
	if base == 0 {
		return nil
	}
	template := tab.src.Row(int(pick % uint64(base)))
	entry := c.nextNumber("generalLedgerEntries", base+1)
	now := e.cfg.Now().UTC()
	fields := map[string]any{}
	for k, v := range publicRow(template) {
		switch x := v.(type) {
		case time.Time:
			fields[k] = formatDateTime(x)
		default:
			fields[k] = x
		}
	}
	fields["id"] = newGUID()
	fields["entryNumber"] = entry
	fields["postingDate"] = now.Format("2006-01-02")
	fields["documentNumber"] = fmt.Sprintf("G%08d", entry)
	_, err = e.Create(ref, "generalLedgerEntries", fields)
	return err
}

// randomID picks a live record of a set.
func (m *mutator) randomID(set string, pick uint64) (string, bool) {
	_, c, ent, err := m.e.resolveRef(m.cfg.Company, set)
	if err != nil {
		return "", false
	}
	tab := m.e.tableOf(c, ent)
	n := tab.src.Count()
	for try := 0; try < 8 && n > 0; try++ {
		row := tab.src.Row(int((pick + uint64(try)*7919) % uint64(n)))
		id, _ := row["id"].(string)
		if _, ok := tab.get(id); ok {
			return id, true
		}
	}
	return "", false
}

// Mutate makes n changes at once through the mutator's logic (for tests and benchmarks of
// incremental sync), independent of the configured rate.
func (e *Emulator) Mutate(n int, cfg MutatorConfig) error {
	if len(cfg.EntitySets) == 0 {
		cfg.EntitySets = []string{"customers", "vendors", "items", "contacts", "generalLedgerEntries"}
	}
	if cfg.Company.CompanyID == "" {
		cfg.Company = e.DemoCompanyRef()
	}
	m := &mutator{e: e, cfg: cfg, rng: rand.New(rand.NewPCG(uint64(e.cfg.Seed), uint64(time.Now().UnixNano())))}
	for i := 0; i < n; i++ {
		if err := m.step(); err != nil {
			return err
		}
	}
	return nil
}

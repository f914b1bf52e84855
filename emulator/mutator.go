package emulator

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// MutatorConfig makes the emulator change its data by itself, as users and posting
// routines do in a live BC, so incremental sync and webhooks have something to follow.
// Changes go through the same write path as API writes.
type MutatorConfig struct {
	// Rate is changes per second; 0 disables the mutator.
	Rate float64
	// EntitySets to change; default customers, vendors, items, contacts and
	// generalLedgerEntries (new postings).
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
}

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
	close(m.stopC)
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
	if set == "generalLedgerEntries" {
		return m.post(pick)
	}
	switch {
	case roll < 0.2:
		_, err := e.Create(ref, set, map[string]any{"displayName": fmt.Sprintf("Mutated %s %d", set, n)})
		return err
	case roll < 0.3:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		return e.Delete(ref, set, id)
	default:
		id, ok := m.randomID(set, pick)
		if !ok {
			return nil
		}
		_, err := e.Update(ref, set, id, map[string]any{"displayName": fmt.Sprintf("Updated %s %d", set, n)})
		return err
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

package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/store"
)

// partition is one slice of a full sync, stored as its checkpoint after every page.
type partition struct {
	Filter string `json:"filter"` // $filter of the slice; "" reads the whole set
	Next   string `json:"next,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Rows   int64  `json:"rows"`
	// Size is the page size of the partition's requests; 0: Options.PageSize. A ledger's
	// ranges of one page each ask for a little more (pageRanges), so a range never ends
	// with a request for an empty page.
	Size int `json:"size,omitempty"`
}

// plan is the checkpoint that marks a full sync in progress.
type plan struct {
	Started time.Time `json:"started"`
	Total   int64     `json:"total"`
	Parts   int       `json:"parts"`
	// Fresh: the replica was empty when the sync began, so pages are inserted without
	// reading stored ETags first (the store falls back when a row exists after all).
	Fresh bool `json:"fresh,omitempty"`
}

const planName = "full:plan"

func partName(i int) string { return fmt.Sprintf("full:%03d", i) }

// Full copies the whole entity set. An unfinished full sync is resumed from its
// checkpoints; restart discards them and starts over (a `--full` re-sync of an existing
// replica), and reconciles deletes at the end.
func (s *Syncer) Full(ctx context.Context, c *bc.Client, t Target, restart bool) (Result, error) {
	start := time.Now()
	res := Result{Target: t, Mode: ModeFull}
	before := c.Stats()
	ent, children, err := s.entity(t)
	if err != nil {
		return res, err
	}
	if err := s.ensure(ctx, ent, children); err != nil {
		return res, err
	}
	st, err := s.opt.Store.SyncState(ctx, t.key())
	if err != nil {
		return res, err
	}
	var p plan
	parts := map[string]partition{}
	if raw, ok := st.Checkpoints[planName]; ok && !restart {
		if err := json.Unmarshal(raw, &p); err != nil {
			return res, fmt.Errorf("full sync checkpoint of %s is unreadable: %w", t.EntitySet, err)
		}
		for name, raw := range st.Checkpoints {
			var pt partition
			if strings.HasPrefix(name, "full:") && name != planName && json.Unmarshal(raw, &pt) == nil {
				parts[name] = pt
			}
		}
		s.opt.Logger.Info("resuming full sync", append(targetAttrs(t), "partitions", len(parts))...)
	} else {
		planStart := time.Now()
		p, parts, err = s.plan(ctx, c, t, ent)
		if err != nil {
			return res, s.finish(ctx, t, c, before, err, nil)
		}
		s.debug(t, "full sync planned", "total", p.Total, "partitions", p.Parts, "elapsedMs", time.Since(planStart).Milliseconds())
		if n, err := s.opt.Store.ReplicaCount(ctx, t.key()); err == nil && n == 0 {
			p.Fresh = true
		}
		if err := s.savePlan(ctx, t, p, parts); err != nil {
			return res, err
		}
	}
	hadRows := st.FullSyncDone || restart
	err = s.runPartitions(ctx, c, t, children, p, parts, &res)
	if err == nil && hadRows && !isLedger(ent) {
		// A re-sync over an existing replica must also drop what BC deleted meanwhile.
		var rr Result
		rr, err = s.reconcile(ctx, c, t, ent, children)
		res.Deleted += rr.Deleted
	}
	res.Duration = time.Since(start)
	err = s.finish(ctx, t, c, before, err, func(st *store.SyncState) {
		st.FullSyncDone = true
		st.FullSyncStartedAt = p.Started
		st.Watermark = p.Started
		st.LastReconcileAt = p.Started
		for name := range st.Checkpoints {
			if strings.HasPrefix(name, "full:") {
				delete(st.Checkpoints, name)
			}
		}
	})
	s.logRun(t, "full sync", err, "rows", res.Rows, "pages", res.Pages, "elapsedMs", res.Duration.Milliseconds())
	return res, err
}

// plan probes the set and splits it into partitions: entryNumber ranges of one page each
// for ledgers (pageRanges), lastModifiedDateTime ranges otherwise; small sets are one
// partition. The count comes
// with the lowest key ($count=true on the $top=1 probe); a ledger's highest key is asked
// for at the same time (two of BC's five slots, one round trip instead of three in a row:
// the pages cannot start before the plan is made), other sets' only when they are big
// enough to split, so a small set costs one request.
func (s *Syncer) plan(ctx context.Context, c *bc.Client, t Target, ent *bcschema.Entity) (plan, map[string]partition, error) {
	p := plan{Started: s.opt.Now().UTC()}
	ref := bc.Set(t.CompanyID, t.EntitySet)
	field, ledger := "", false
	if f, ok := ent.Field("entryNumber"); ok && (f.Type == bcschema.TypeInt32 || f.Type == bcschema.TypeInt64) {
		field, ledger = "entryNumber", true
	} else if ent.HasLastModified() {
		field = "lastModifiedDateTime"
	}
	if field == "" || s.opt.Partitions <= 1 {
		total, err := c.Count(ctx, ref, nil)
		if err != nil {
			return p, nil, err
		}
		p.Total = total
		return p, onePartition(&p), nil
	}
	var (
		wg     sync.WaitGroup
		hi     json.RawMessage
		okHi   bool
		errHi  error
		probed bool
	)
	if ledger {
		probed = true
		wg.Go(func() { hi, okHi, _, errHi = probe(ctx, c, ref, field, true, false) })
	}
	lo, okLo, total, err := probe(ctx, c, ref, field, false, true)
	wg.Wait()
	if err = errors.Join(err, errHi); err != nil {
		return p, nil, err
	}
	p.Total = total
	if ledger && okLo && okHi && total > int64(s.opt.PageSize) {
		if filters := pageRanges(field, lo, hi, total, s.opt.PageSize, s.pageRangeCap); len(filters) > 1 {
			size := min(bc.MaxPageSize, s.opt.PageSize+s.opt.PageSize/8)
			parts := make(map[string]partition, len(filters))
			for i, f := range filters {
				parts[partName(i)] = partition{Filter: f, Size: size}
			}
			p.Parts = len(parts)
			return p, parts, nil
		}
	}
	n := int((total + int64(s.opt.PageSize)*2 - 1) / (int64(s.opt.PageSize) * 2))
	n = max(1, min(n, s.opt.Partitions))
	if n == 1 || !okLo {
		return p, onePartition(&p), nil
	}
	if !probed {
		if hi, okHi, _, err = probe(ctx, c, ref, field, true, false); err != nil {
			return p, nil, err
		}
	}
	var filters []string
	if okHi && ledger {
		filters = intRanges(field, lo, hi, n)
	} else if okHi {
		filters = timeRanges(field, lo, hi, n)
	}
	if len(filters) == 0 {
		return p, onePartition(&p), nil
	}
	parts := make(map[string]partition, len(filters))
	for i, f := range filters {
		parts[partName(i)] = partition{Filter: f}
	}
	p.Parts = len(parts)
	return p, parts, nil
}

// onePartition is the plan of a set read whole.
func onePartition(p *plan) map[string]partition {
	p.Parts = 1
	return map[string]partition{partName(0): {}}
}

// probe reads the lowest or highest value of field with one cheap request, and with
// count the number of rows in the set (@odata.count) in the same answer; -1 when BC sent
// none.
func probe(ctx context.Context, c *bc.Client, ref bc.Ref, field string, desc, count bool) (json.RawMessage, bool, int64, error) {
	order := field
	if desc {
		order += " desc"
	}
	page, err := c.ListPage(ctx, ref, &bc.Query{Top: 1, Select: []string{field}, OrderBy: []string{order}, Count: count})
	if err != nil {
		return nil, false, -1, err
	}
	if count && page.Count < 0 {
		return nil, false, -1, fmt.Errorf("%s: BC sent no @odata.count with $count=true", ref.Path)
	}
	if len(page.Records) == 0 {
		return nil, false, page.Count, nil
	}
	v, ok := page.Records[0].Lookup(field)
	return v, ok, page.Count, nil
}

// maxPageRanges caps a ledger's ranges of one page each (10 million rows at 5,000-row
// pages); beyond it ranges grow to several pages.
const maxPageRanges = 2000

// pageRanges splits [lo, hi] of a ledger's entry number (an integer key, unique: BC's
// Entry No.) into ranges of about one page each: pageSize numbers wide when the numbers
// are dense (count = hi − lo + 1), wider in proportion to the gaps otherwise, at most max
// ranges. pageSize consecutive numbers hold at most pageSize rows, so on dense numbers
// each range is one request and no partition waits for its own previous page: BC's slots
// stay busy to the last round. (With ranges of several pages, the partitions that started
// last ended with pages read one after the other while the other slots stood idle.) The
// last range is open-ended, so rows added during the sync are read too. Nothing to split
// gives none.
func pageRanges(field string, lo, hi json.RawMessage, count int64, pageSize, max int) []string {
	var a, b int64
	if json.Unmarshal(lo, &a) != nil || json.Unmarshal(hi, &b) != nil || b <= a || count <= 0 || pageSize <= 0 || max < 1 {
		return nil
	}
	span := float64(b) - float64(a) + 1
	width := int64(pageSize)
	if float64(count) < span {
		width = int64(math.Ceil(span / float64(count) * float64(pageSize)))
	}
	if n := math.Ceil(span / float64(width)); n > float64(max) {
		width = int64(math.Ceil(span / float64(max)))
	}
	var out []string
	for from := a; ; from += width {
		if from > b-width || len(out) == max-1 {
			return append(out, bc.Ge(field, from).String())
		}
		out = append(out, bc.And(bc.Ge(field, from), bc.Lt(field, from+width)).String())
	}
}

// intRanges splits [lo, hi] of an integer key into n ranges; the last is open-ended so
// rows added during the sync are read too. Nothing to split gives none.
func intRanges(field string, lo, hi json.RawMessage, n int) []string {
	var a, b int64
	if json.Unmarshal(lo, &a) != nil || json.Unmarshal(hi, &b) != nil || b <= a {
		return nil
	}
	step := (b - a + int64(n)) / int64(n)
	var out []string
	for i := 0; i < n; i++ {
		from := a + int64(i)*step
		if i == n-1 {
			out = append(out, bc.Ge(field, from).String())
			break
		}
		out = append(out, bc.And(bc.Ge(field, from), bc.Lt(field, from+step)).String())
	}
	return out
}

// timeRanges splits [lo, hi] of a timestamp into n ranges, the first open downwards and
// the last open-ended.
func timeRanges(field string, lo, hi json.RawMessage, n int) []string {
	var a, b time.Time
	if json.Unmarshal(lo, &a) != nil || json.Unmarshal(hi, &b) != nil || !b.After(a) {
		return nil
	}
	step := b.Sub(a)/time.Duration(n) + time.Millisecond
	var out []string
	for i := 0; i < n; i++ {
		from := a.Add(time.Duration(i) * step)
		switch {
		case i == n-1:
			out = append(out, bc.Ge(field, from).String())
		case i == 0: // the first range is open downwards too
			out = append(out, bc.Lt(field, a.Add(step)).String())
		default:
			out = append(out, bc.And(bc.Ge(field, from), bc.Lt(field, from.Add(step))).String())
		}
	}
	return out
}

func (s *Syncer) savePlan(ctx context.Context, t Target, p plan, parts map[string]partition) error {
	return s.opt.Store.UpdateSyncState(ctx, t.key(), func(st *store.SyncState) {
		if st.Checkpoints == nil {
			st.Checkpoints = map[string]json.RawMessage{}
		}
		for name := range st.Checkpoints {
			if strings.HasPrefix(name, "full:") {
				delete(st.Checkpoints, name)
			}
		}
		raw, _ := json.Marshal(p)
		st.Checkpoints[planName] = raw
		for name, pt := range parts {
			raw, _ := json.Marshal(pt)
			st.Checkpoints[name] = raw
		}
		st.FullSyncStartedAt = p.Started
	})
}

// runPartitions reads the unfinished partitions with Workers workers; each page is
// committed with its partition's checkpoint in one transaction.
//
// A worker does not wait for its page's commit before asking BC for the next page: a
// committer of its own applies its pages one at a time in the order read, while the
// worker already reads the next (of the same partition, or the first page of the next).
// So BC's slots stay busy while SQLite writes, a partition's checkpoints still move only
// forward, and a worker holds at most two pages.
func (s *Syncer) runPartitions(ctx context.Context, c *bc.Client, t Target, children []*bcschema.Entity, p plan, parts map[string]partition, res *Result) error {
	names := make([]string, 0, len(parts))
	var done int64
	for name, pt := range parts {
		done += pt.Rows
		if !pt.Done {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	work := make(chan string)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstErr  error
		yielded   = make(chan struct{}) // closed when a partition stopped for the time slice
		yieldOnce sync.Once
	)
	cm := &committer{s: s, c: c, t: t, p: p, res: res, mu: &mu}
	cm.rows.Store(done)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	cm.fail = fail
	for w := 0; w < s.opt.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pages := make(chan pageWork)
			committed := make(chan struct{})
			go func() {
				defer close(committed)
				cm.run(ctx, pages)
			}()
			defer func() {
				close(pages)
				<-committed
			}()
			for name := range work {
				var err error
				if yieldDue(ctx) {
					err = ErrYielded // not started: the next run takes it
				} else {
					err = s.readPartition(ctx, c, t, children, name, parts[name], p, pages)
				}
				if errors.Is(err, ErrYielded) {
					// The other partitions finish their page in flight and stop too.
					yieldOnce.Do(func() { close(yielded) })
					return
				}
				if err != nil {
					fail(fmt.Errorf("%s partition %s: %w", t.EntitySet, name, err))
					return
				}
			}
		}()
	}
feed:
	for _, name := range names {
		select {
		case work <- name:
		case <-yielded:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	select {
	case <-yielded:
		return ErrYielded
	default:
	}
	return ctx.Err()
}

// pageWork is a page read from BC and waiting for its commit.
type pageWork struct {
	name  string // the partition's checkpoint name
	batch store.ReplicaBatch
	rows  int
}

// committer applies the pages of a full sync's partitions.
type committer struct {
	s    *Syncer
	c    *bc.Client
	t    Target
	p    plan
	rows atomic.Int64
	res  *Result
	mu   *sync.Mutex // guards res
	fail func(error)
}

// run commits the pages it is handed, in order, until pages is closed; after a failure it
// only drains them (fail has cancelled the run).
func (cm *committer) run(ctx context.Context, pages <-chan pageWork) {
	failed := false
	for pw := range pages {
		if failed {
			continue
		}
		if err := cm.commit(ctx, pw); err != nil {
			failed = true
			cm.fail(fmt.Errorf("%s partition %s: %w", cm.t.EntitySet, pw.name, err))
		}
	}
}

func (cm *committer) commit(ctx context.Context, pw pageWork) error {
	s := cm.s
	pw.batch.Now = s.opt.Now()
	start := time.Now()
	ar, err := s.opt.Store.ApplyBatch(ctx, pw.batch)
	if err != nil {
		return err
	}
	s.debug(cm.t, "full sync page committed", "partition", pw.name, "rows", pw.rows, "elapsedMs", time.Since(start).Milliseconds())
	var fixed Result
	if err := s.refresh(ctx, cm.c, cm.t, ar.Stale, &fixed); err != nil {
		return err
	}
	ar.Inserted += int(fixed.Inserted)
	ar.Updated += int(fixed.Updated)
	ar.Deleted += int(fixed.Deleted)
	ar.Unchanged += int(fixed.Same)
	n := cm.rows.Add(int64(pw.rows))
	cm.mu.Lock()
	res := cm.res
	res.Pages++
	res.Rows += int64(pw.rows)
	res.Inserted += int64(ar.Inserted)
	res.Updated += int64(ar.Updated)
	res.Deleted += int64(ar.Deleted)
	res.Same += int64(ar.Unchanged)
	cm.mu.Unlock()
	if s.opt.Progress != nil {
		s.opt.Progress(Progress{Target: cm.t, Mode: ModeFull, Partition: pw.name, Rows: n, Total: cm.p.Total})
	}
	return nil
}

// readPartition reads a partition's pages from its checkpoint on and hands each to
// pages, with the checkpoint that follows it.
func (s *Syncer) readPartition(ctx context.Context, c *bc.Client, t Target, children []*bcschema.Entity, name string, pt partition, p plan, pages chan<- pageWork) error {
	ref := bc.Set(t.CompanyID, t.EntitySet)
	var filter bc.Expr
	if pt.Filter != "" {
		filter = bc.Raw(pt.Filter)
	}
	size := s.opt.PageSize
	if pt.Size > 0 {
		size = min(pt.Size, bc.MaxPageSize)
	}
	q := s.query(children, size, filter)
	for {
		// Pages of a first full sync need no read mark: nothing else writes the set before
		// it is done (write-throughs wait for FullSyncDone). A full sync over a replica does.
		var mark store.ReadMark
		var err error
		if !p.Fresh {
			if mark, err = s.opt.Store.ReadMark(ctx); err != nil {
				return err
			}
		}
		var page *bc.Page
		start := time.Now()
		if pt.Next == "" {
			page, err = c.ListPage(ctx, ref, q)
		} else {
			page, err = c.NextPage(ctx, pt.Next, q)
		}
		if err != nil {
			return err
		}
		read := time.Now()
		b, err := batchFromPage(t, children, page.Records)
		if err != nil {
			return err
		}
		pt.Next, pt.Done = page.NextLink, page.NextLink == ""
		pt.Rows += int64(len(page.Records))
		b.CheckpointName = name
		b.Checkpoint, _ = json.Marshal(pt)
		b.AssumeNew = p.Fresh
		b.Read = mark
		select {
		case pages <- pageWork{name: name, batch: b, rows: len(page.Records)}:
		case <-ctx.Done():
			return ctx.Err()
		}
		// readMs: the request until the page was decoded; handOffMs: until the committer
		// took it (it was still applying this partition's page before).
		s.debug(t, "full sync page read", "partition", name, "rows", len(page.Records),
			"readMs", read.Sub(start).Milliseconds(), "handOffMs", time.Since(read).Milliseconds())
		if pt.Done {
			return nil
		}
		if yieldDue(ctx) {
			return ErrYielded
		}
	}
}

// ErrNotSynced is returned for an incremental run of a set that never had a full sync.
var ErrNotSynced = errors.New("syncer: the entity set has no completed full sync yet")

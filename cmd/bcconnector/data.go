package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
	"golang.org/x/term"
)

// CompaniesCmd lists companies.
type CompaniesCmd struct {
	Connection string `arg:"" help:"Connection name or ID."`
	JSON       bool   `help:"Print JSON lines."`
}

// Run lists the environment's companies.
func (c *CompaniesCmd) Run(ctx context.Context, g *Globals) error {
	a, err := g.open(ctx)
	if err != nil {
		return err
	}
	cn, err := a.openConn(ctx, c.Connection)
	if err != nil {
		return err
	}
	companies, err := cn.BC.Companies(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(g.Stdout)
		for _, co := range companies {
			if err := enc.Encode(co); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(g.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDISPLAY NAME")
	for _, co := range companies {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", co.ID, co.Name, co.DisplayName)
	}
	return tw.Flush()
}

// EntityArgs address an entity set of a connection's company.
type EntityArgs struct {
	Connection string `arg:"" help:"Connection name or ID."`
	EntitySet  string `arg:"" name:"entity-set" help:"Entity set, e.g. customers, or a path such as salesInvoices(<id>)/salesInvoiceLines."`
	API        string `name:"api" placeholder:"PUBLISHER/GROUP/VERSION" help:"A custom API instead of the standard v2.0 API, e.g. contoso/inventory/v1.0."`
	Company    string `name:"company" placeholder:"NAME" help:"The company of a connection of several: its name exactly as BC lists it (quote names with spaces, & or '), or its ID; default the connection's own."`

	// companyID is the company addressed, set by open.
	companyID string
}

// open opens the connection and addresses the entity set in the company --company names
// (default the connection's own).
func (e *EntityArgs) open(ctx context.Context, g *Globals) (*conn.Conn, bc.Ref, error) {
	a, err := g.open(ctx)
	if err != nil {
		return nil, bc.Ref{}, err
	}
	cn, err := a.openConn(ctx, e.Connection)
	if err != nil {
		return nil, bc.Ref{}, err
	}
	co, err := e.company(ctx, a, cn.Connection)
	if err != nil {
		return nil, bc.Ref{}, err
	}
	e.companyID = co.ID
	ref, err := e.ref(co.ID)
	return cn, ref, err
}

// company returns the company --company names among the connection's. A connection of
// "all companies" first reads BC's list again, so a company added since is found.
func (e *EntityArgs) company(ctx context.Context, a *app, c store.Connection) (store.Company, error) {
	co, ok := c.FindCompany(e.Company)
	if !ok && e.Company != "" && c.AllCompanies {
		if svc, err := a.service(); err == nil {
			if fresh, err := svc.RefreshCompanies(ctx, c.ID); err == nil {
				c = fresh
				co, ok = c.FindCompany(e.Company)
			}
		}
	}
	return companyOf(c, e.Company, co, ok)
}

// companyOf words what FindCompany found for --company: the company, or an error naming
// the flag, the companies the connection covers and the fix.
func companyOf(c store.Connection, want string, co store.Company, ok bool) (store.Company, error) {
	switch {
	case !ok && want == "":
		return co, fmt.Errorf("connection %q has no company yet; set one with `bcconnector connection update %s --company NAME`", c.Name, shellQuote(c.Name))
	case !ok && c.AllCompanies:
		return co, fmt.Errorf("--company %q: connection %q covers every company of the environment, and BC lists no such company; it has %s. Give one of those names exactly as BC lists it (or its ID), or leave --company out for %q",
			want, c.Name, quoteList(c.CompanyLabels()), c.CompanyLabels()[0])
	case !ok:
		return co, fmt.Errorf("--company %q: connection %q does not cover that company; it covers %s. Give one of those names exactly as BC lists it (or its ID), leave --company out for %q, or add the company with `bcconnector connection update %s %s`",
			want, c.Name, quoteList(c.CompanyLabels()), c.CompanyLabels()[0], shellQuote(c.Name), companyFlags(c, want))
	case co.ID == "":
		return co, fmt.Errorf("--company %q: the company of connection %q is not resolved to its ID yet; run `bcconnector doctor %s` (or a sync) first", co.Label(), c.Name, shellQuote(c.Name))
	}
	return co, nil
}

// companyFlags is the --company list of `connection update` that adds want to the
// connection's companies.
func companyFlags(c store.Connection, want string) string {
	var b strings.Builder
	for i, l := range append(c.CompanyLabels(), want) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("--company " + shellQuote(l))
	}
	return b.String()
}

// quoteList quotes each name and joins them with ", ".
func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// replicated returns the replica target of the addressed set (a line set's document),
// or false for paths and custom APIs, which the replica does not hold.
func (e *EntityArgs) replicated(ctx context.Context, g *Globals, cn *conn.Conn) (*app, *syncer.Syncer, syncer.Target, bool) {
	if e.API != "" || strings.ContainsAny(e.EntitySet, "(/") {
		return nil, nil, syncer.Target{}, false
	}
	a, err := g.open(ctx)
	if err != nil {
		return nil, nil, syncer.Target{}, false
	}
	sy, err := syncer.New(syncer.Options{Store: a.db, Logger: a.log})
	if err != nil {
		return nil, nil, syncer.Target{}, false
	}
	ts, err := sy.Targets(cn.Connection.ID, e.companyID, []string{e.EntitySet})
	if err != nil || len(ts) != 1 {
		return nil, nil, syncer.Target{}, false
	}
	return a, sy, ts[0], true
}

// lineParent returns the document of a replicated line ("" otherwise).
func (e *EntityArgs) lineParent(ctx context.Context, g *Globals, cn *conn.Conn, id string) string {
	a, _, t, ok := e.replicated(ctx, g, cn)
	if !ok || t.EntitySet == e.EntitySet {
		return ""
	}
	row, err := a.db.ReplicaGet(ctx, store.ReplicaKey{ConnectionID: t.ConnectionID, CompanyID: t.CompanyID, EntitySet: e.EntitySet}, id)
	if err != nil {
		return ""
	}
	return row.ParentID
}

// applied applies a write-through to the replica and the change log at once (see
// syncer.Apply): the record, or a line's document, is read again or deleted. The write
// succeeded, so a failure is only reported: the next sync repairs it.
func (e *EntityArgs) applied(ctx context.Context, g *Globals, cn *conn.Conn, id, parent string, rec bc.Record) {
	_, sy, t, ok := e.replicated(ctx, g, cn)
	if !ok {
		return
	}
	if t.EntitySet != e.EntitySet { // a line: its document is what the replica stores
		if ent, ok := schemaSet(e.EntitySet); ok && parent == "" && len(rec.Raw) > 0 {
			if raw, ok := rec.Lookup(ent.Parent.ChildField); ok {
				_ = json.Unmarshal(raw, &parent)
			}
		}
		if id = parent; id == "" {
			return
		}
	}
	if _, err := sy.Apply(ctx, cn.BC, t, id); err != nil {
		fmt.Fprintf(g.Stderr, "BC has the change, but the local replica could not follow it (the next sync will): %v\n", err)
	}
}

// schemaSet returns a line set's schema entity.
func schemaSet(name string) (*bcschema.Entity, bool) {
	sc, err := bcschema.Load()
	if err != nil {
		return nil, false
	}
	ent, ok := sc.EntitySet(name)
	return ent, ok && ent.Parent != nil
}

func (e *EntityArgs) ref(companyID string) (bc.Ref, error) {
	ref := bc.Ref{CompanyID: companyID, Path: e.EntitySet}
	if e.API != "" {
		parts := strings.Split(e.API, "/")
		if len(parts) != 3 {
			return ref, fmt.Errorf("--api %q: use PUBLISHER/GROUP/VERSION, e.g. contoso/inventory/v1.0", e.API)
		}
		ref.API = bc.CustomAPI(parts[0], parts[1], parts[2])
	}
	return ref, nil
}

// GetCmd reads records.
type GetCmd struct {
	EntityArgs
	ID       string   `help:"Read one record by id."`
	Filter   string   `help:"OData $filter, sent as written (quoting: see the example below)."`
	Select   []string `sep:"," help:"Fields to return."`
	Expand   []string `sep:"," help:"Navigation properties to expand, e.g. salesInvoiceLines."`
	OrderBy  []string `name:"orderby" sep:"," help:"Order, e.g. 'number desc'."`
	All      bool     `help:"Read every page (following @odata.nextLink); without it only the first page."`
	PageSize int      `name:"page-size" default:"1000" help:"Records per page (Prefer: odata.maxpagesize)."`
}

// Help is the text under the usage line. The example is an indented block because kong
// formats help as a Go doc comment, which turns two apostrophes in running text into a
// typographic quote (O”Brien), which BC would not accept; a block is printed as written.
func (c *GetCmd) Help() string {
	return "Prints one JSON object per line, as Business Central sent it. In --filter, a text " +
		"literal is in single quotes and an apostrophe inside it is doubled:\n\n" +
		"    bcconnector get CONN customers --filter \"displayName eq 'O''Brien'\"\n"
}

// Run prints one JSON object per line, as BC sent it.
func (c *GetCmd) Run(ctx context.Context, g *Globals) error {
	cn, ref, err := c.open(ctx, g)
	if err != nil {
		return err
	}
	q := &bc.Query{Select: c.Select, OrderBy: c.OrderBy, PageSize: c.PageSize}
	if c.Filter != "" {
		q.Filter = bc.Raw(c.Filter)
	}
	for _, x := range c.Expand {
		q.Expand = append(q.Expand, bc.Expansion{Nav: x})
	}
	out := bufio.NewWriter(g.Stdout)
	defer out.Flush()
	if c.ID != "" {
		rec, err := cn.BC.Get(ctx, ref, c.ID, q)
		if err != nil {
			return err
		}
		return writeLine(out, rec.Raw)
	}
	progress := newProgress(g)
	if !c.All {
		page, err := cn.BC.ListPage(ctx, ref, q)
		if err != nil {
			return err
		}
		for _, rec := range page.Records {
			if err := writeLine(out, rec.Raw); err != nil {
				return err
			}
		}
		if page.NextLink != "" {
			fmt.Fprintln(g.Stderr, "more records follow; add --all to read every page")
		}
		return nil
	}
	for rec, err := range cn.BC.List(ctx, ref, q) {
		if err != nil {
			return err
		}
		if err := writeLine(out, rec.Raw); err != nil {
			return err
		}
		progress.add(1)
	}
	progress.done()
	return nil
}

func writeLine(w io.Writer, raw json.RawMessage) error {
	if _, err := w.Write(raw); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// progress prints a running count on a terminal's stderr for long reads.
type progress struct {
	on    bool
	w     io.Writer
	n     int
	start time.Time
	last  time.Time
}

func newProgress(g *Globals) *progress {
	f, ok := g.Stderr.(*os.File)
	return &progress{on: ok && term.IsTerminal(int(f.Fd())), w: g.Stderr, start: time.Now()}
}

func (p *progress) add(n int) {
	p.n += n
	if p.on && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		fmt.Fprintf(p.w, "\r%d records (%.0f/s)", p.n, float64(p.n)/time.Since(p.start).Seconds())
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintf(p.w, "\r%d records in %s\n", p.n, time.Since(p.start).Round(time.Millisecond))
	}
}

// Body is a JSON request body from a flag or a file.
type Body struct {
	Data     string `help:"JSON body."`
	DataFile string `name:"data-file" placeholder:"PATH" help:"Read the JSON body from a file ('-' for standard input)."`
}

func (b *Body) read(g *Globals) (json.RawMessage, error) {
	var raw []byte
	switch {
	case b.Data != "":
		raw = []byte(b.Data)
	case b.DataFile == "-":
		var err error
		if raw, err = io.ReadAll(g.Stdin); err != nil {
			return nil, err
		}
	case b.DataFile != "":
		var err error
		if raw, err = os.ReadFile(b.DataFile); err != nil {
			return nil, fmt.Errorf("--data-file: %w", err)
		}
	default:
		return nil, errors.New("give the body with --data '{...}' or --data-file PATH")
	}
	var probe map[string]any
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	return json.RawMessage(raw), nil
}

// CreateCmd creates a record.
type CreateCmd struct {
	EntityArgs
	Body
}

// Run creates the record and prints it.
func (c *CreateCmd) Run(ctx context.Context, g *Globals) error {
	body, err := c.read(g)
	if err != nil {
		return err
	}
	cn, ref, err := c.open(ctx, g)
	if err != nil {
		return err
	}
	rec, err := cn.BC.Create(ctx, ref, body)
	if err != nil {
		return err
	}
	c.applied(ctx, g, cn, rec.ID, "", rec)
	return writeLine(g.Stdout, rec.Raw)
}

// Concurrency chooses the If-Match of a write.
type Concurrency struct {
	ETag  string `name:"etag" help:"The record's @odata.etag; the write fails if someone changed it since. Default: read the current ETag first."`
	Force bool   `help:"Send If-Match: * and overwrite whatever changed."`
}

func (c *Concurrency) etag(ctx context.Context, client *bc.Client, ref bc.Ref, id string) (string, error) {
	switch {
	case c.Force:
		return bc.AnyETag, nil
	case c.ETag != "":
		return c.ETag, nil
	}
	rec, err := client.Get(ctx, ref, id, &bc.Query{Select: []string{"id"}, Primary: true})
	if err != nil {
		return "", err
	}
	return rec.ETag, nil
}

// UpdateCmd updates a record.
type UpdateCmd struct {
	EntityArgs
	ID string `arg:"" help:"Record id."`
	Body
	Concurrency
}

// Run patches the record with If-Match and prints the result.
func (c *UpdateCmd) Run(ctx context.Context, g *Globals) error {
	body, err := c.read(g)
	if err != nil {
		return err
	}
	cn, ref, err := c.open(ctx, g)
	if err != nil {
		return err
	}
	etag, err := c.etag(ctx, cn.BC, ref, c.ID)
	if err != nil {
		return err
	}
	rec, err := cn.BC.Update(ctx, ref, c.ID, etag, body)
	if err != nil {
		return err
	}
	c.applied(ctx, g, cn, c.ID, "", rec)
	return writeLine(g.Stdout, rec.Raw)
}

// DeleteCmd deletes a record.
type DeleteCmd struct {
	EntityArgs
	ID string `arg:"" help:"Record id."`
	Concurrency
}

// Run deletes the record with If-Match.
func (c *DeleteCmd) Run(ctx context.Context, g *Globals) error {
	cn, ref, err := c.open(ctx, g)
	if err != nil {
		return err
	}
	etag, err := c.etag(ctx, cn.BC, ref, c.ID)
	if err != nil {
		return err
	}
	parent := c.lineParent(ctx, g, cn, c.ID)
	if err := cn.BC.Delete(ctx, ref, c.ID, etag); err != nil {
		return err
	}
	c.applied(ctx, g, cn, c.ID, parent, bc.Record{})
	fmt.Fprintf(g.Stderr, "deleted %s(%s)\n", c.EntitySet, c.ID)
	return nil
}

// ActionCmd runs a bound action.
type ActionCmd struct {
	EntityArgs
	ID     string `arg:"" help:"Record id."`
	Action string `arg:"" help:"Action name, e.g. post (Microsoft.NAV.post)."`
}

// Run invokes the action.
func (c *ActionCmd) Run(ctx context.Context, g *Globals) error {
	cn, ref, err := c.open(ctx, g)
	if err != nil {
		return err
	}
	body, err := cn.BC.Action(ctx, ref, c.ID, strings.TrimPrefix(c.Action, "Microsoft.NAV."))
	if err != nil {
		return err
	}
	c.applied(ctx, g, cn, c.ID, "", bc.Record{})
	if len(body) > 0 {
		return writeLine(g.Stdout, body)
	}
	fmt.Fprintf(g.Stderr, "%s on %s(%s): done\n", c.Action, c.EntitySet, c.ID)
	return nil
}

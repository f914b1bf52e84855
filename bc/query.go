package bc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxPageSize is BC online's largest page (bc-entra-facts §4.3); Query.PageSize above it is
// an error.
const MaxPageSize = 20000

// Query holds the OData query options of a read. The zero Query (or nil) reads every field
// of every entity in BC's order, in pages of BC's default size.
type Query struct {
	// Filter restricts the entities; build it with Eq, And, … The zero Expr means none.
	Filter Expr
	// Select lists the fields to return; empty means all. Names are checked.
	Select []string
	// Expand lists navigation properties to include, with their own options.
	Expand []Expansion
	// OrderBy lists "field" or "field asc|desc" terms.
	OrderBy []string
	// PageSize asks BC for pages of at most this many entities, with the header
	// Prefer: odata.maxpagesize (bc-entra-facts §4.3). 0 means BC's default (20,000);
	// at most MaxPageSize.
	PageSize int
	// SchemaVersion is $schemaversion, e.g. "2.1" (needed by In); "" omits it.
	SchemaVersion string
	// Count asks for @odata.count with the first page (Page.Count).
	Count bool
	// Top truncates the result to n entities and makes BC drop @odata.nextLink (peers §3:
	// clients then believe the set is complete). It is only for small reads of the first
	// page (ListPage, Get); the iterators List and Pages refuse it. Use PageSize to size
	// pages.
	Top int
	// Primary sends a read to the primary database instead of the read-only replica: it
	// leaves out Data-Access-Intent: ReadOnly (bc-entra-facts §4.6). Use it to read your own
	// writes, which the replica may not have yet.
	Primary bool
}

// Expansion is one $expand item: a navigation property and its nested options, rendered as
// nav($select=…;$filter=…;$orderby=…;$expand=…).
type Expansion struct {
	Nav     string
	Select  []string
	Filter  Expr
	OrderBy []string
	Expand  []Expansion
}

// errTopOnCrawl is returned by the iterators for a Query with Top.
var errTopOnCrawl = errors.New("bc: Query.Top truncates the result and suppresses @odata.nextLink; iterators page through everything: use Query.PageSize instead, or ListPage for a small read")

// validate checks the options that are not checked while encoding.
func (q *Query) validate() error {
	if q == nil {
		return nil
	}
	if q.PageSize < 0 || q.PageSize > MaxPageSize {
		return fmt.Errorf("bc: Query.PageSize %d: use 1–%d, or 0 for BC's default", q.PageSize, MaxPageSize)
	}
	if q.Top < 0 {
		return fmt.Errorf("bc: Query.Top %d is negative", q.Top)
	}
	if q.SchemaVersion != "" && !isDecimal(q.SchemaVersion) {
		return fmt.Errorf("bc: Query.SchemaVersion %q: want a version such as \"2.1\"", q.SchemaVersion)
	}
	if err := q.Filter.Err(); err != nil {
		return err
	}
	if q.Filter.v21 && !atLeast21(q.SchemaVersion) || q.expandNeeds21() && !atLeast21(q.SchemaVersion) {
		return errors.New("bc: the filter uses `in`, which BC accepts only with $schemaversion=2.1: set Query.SchemaVersion to \"2.1\"")
	}
	return nil
}

func (q *Query) expandNeeds21() bool {
	var walk func([]Expansion) bool
	walk = func(xs []Expansion) bool {
		for _, x := range xs {
			if x.Filter.v21 || walk(x.Expand) {
				return true
			}
		}
		return false
	}
	return walk(q.Expand)
}

func atLeast21(v string) bool {
	major, minor, _ := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(major)
	mi, _ := strconv.Atoi(minor)
	return err1 == nil && (ma > 2 || ma == 2 && mi >= 1)
}

// encode renders the query string (without '?'), percent-encoded, in a fixed order.
func (q *Query) encode() (string, error) {
	if q == nil {
		return "", nil
	}
	if err := q.validate(); err != nil {
		return "", err
	}
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+escapeQuery(v)) }
	if f := q.Filter.String(); f != "" {
		add("$filter", f)
	}
	if len(q.Select) > 0 {
		s, err := selectList(q.Select)
		if err != nil {
			return "", err
		}
		add("$select", s)
	}
	if len(q.Expand) > 0 {
		s, err := expandList(q.Expand, 0)
		if err != nil {
			return "", err
		}
		add("$expand", s)
	}
	if len(q.OrderBy) > 0 {
		s, err := orderList(q.OrderBy)
		if err != nil {
			return "", err
		}
		add("$orderby", s)
	}
	if q.Top > 0 {
		add("$top", strconv.Itoa(q.Top))
	}
	if q.Count {
		add("$count", "true")
	}
	if q.SchemaVersion != "" {
		add("$schemaversion", q.SchemaVersion)
	}
	return strings.Join(parts, "&"), nil
}

func selectList(fields []string) (string, error) {
	for _, f := range fields {
		if !isIdent(f) {
			return "", fmt.Errorf("bc: $select: %q is not a field name", f)
		}
	}
	return strings.Join(fields, ","), nil
}

func orderList(terms []string) (string, error) {
	out := make([]string, len(terms))
	for i, t := range terms {
		field, dir, _ := strings.Cut(strings.TrimSpace(t), " ")
		dir = strings.TrimSpace(dir)
		if !isIdent(field) || (dir != "" && dir != "asc" && dir != "desc") {
			return "", fmt.Errorf("bc: $orderby: %q: want \"field\", \"field asc\" or \"field desc\"", t)
		}
		out[i] = field
		if dir != "" {
			out[i] += " " + dir
		}
	}
	return strings.Join(out, ","), nil
}

// maxExpandDepth bounds nested expansions (BC supports multi-level, §4.2).
const maxExpandDepth = 8

func expandList(xs []Expansion, depth int) (string, error) {
	if depth >= maxExpandDepth {
		return "", fmt.Errorf("bc: $expand nested deeper than %d levels", maxExpandDepth)
	}
	items := make([]string, len(xs))
	for i, x := range xs {
		if !isIdent(x.Nav) {
			return "", fmt.Errorf("bc: $expand: %q is not a navigation property name", x.Nav)
		}
		var opts []string
		if len(x.Select) > 0 {
			s, err := selectList(x.Select)
			if err != nil {
				return "", err
			}
			opts = append(opts, "$select="+s)
		}
		if err := x.Filter.Err(); err != nil {
			return "", err
		}
		if f := x.Filter.String(); f != "" {
			opts = append(opts, "$filter="+f)
		}
		if len(x.OrderBy) > 0 {
			s, err := orderList(x.OrderBy)
			if err != nil {
				return "", err
			}
			opts = append(opts, "$orderby="+s)
		}
		if len(x.Expand) > 0 {
			s, err := expandList(x.Expand, depth+1)
			if err != nil {
				return "", err
			}
			opts = append(opts, "$expand="+s)
		}
		items[i] = x.Nav
		if len(opts) > 0 {
			items[i] += "(" + strings.Join(opts, ";") + ")"
		}
	}
	return strings.Join(items, ","), nil
}

// escapeQuery percent-encodes a query option value: everything but unreserved characters
// and the OData punctuation ' ( ) , : / $ is encoded, spaces as %20 (never '+', which
// servers may read as a plus sign), and & = + ; # % so a value cannot end its option.
func escapeQuery(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("-._~'(),:/$@*!", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

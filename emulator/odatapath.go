package emulator

import (
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// pathSeg is one OData resource path segment: name with an optional key, e.g.
// customers(5d11…) or subscriptions('abc').
type pathSeg struct {
	name   string
	key    string
	hasKey bool
}

// parseSegments splits an OData resource path. GUID keys are unquoted, string keys are
// single-quoted with ” escaping (bc-entra-facts §4.1).
func parseSegments(segs []string) ([]pathSeg, *apiError) {
	out := make([]pathSeg, 0, len(segs))
	for _, s := range segs {
		if s == "" {
			continue
		}
		open := strings.IndexByte(s, '(')
		if open < 0 {
			out = append(out, pathSeg{name: s})
			continue
		}
		if !strings.HasSuffix(s, ")") {
			return nil, errf(http.StatusBadRequest, codeNotFound, "Bad Request - Error in query syntax.")
		}
		key := s[open+1 : len(s)-1]
		if k, ok := strings.CutPrefix(key, "id="); ok {
			key = k
		}
		if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
			key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
		}
		out = append(out, pathSeg{name: s[:open], key: key, hasKey: true})
	}
	return out, nil
}

// target is what an OData path addresses.
type target struct {
	company *company
	ent     *bcschema.Entity // entity set addressed (nil for the companies root)
	key     string           // set when one entity is addressed
	single  bool
	// link restricts a contained collection to its parent: field → value.
	link map[string]any
	// parent is the entity a navigation started from, for actions and deep writes.
	parentEnt *bcschema.Entity
	parentKey string
	action    string // bound action name without Microsoft.NAV.
	count     bool   // /$count
}

// resolvePath resolves segments after the company (or the root entity set with ?company=).
func (e *Emulator) resolveEntityPath(rc *requestContext, c *company, segs []pathSeg) (*target, *apiError) {
	t := &target{company: c}
	first := segs[0]
	ent, ok := e.entitySet(rc, first.name)
	if !ok || ent.Scope == "root" {
		return nil, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", first.name)
	}
	t.ent = ent
	if first.hasKey {
		t.key, t.single = strings.ToLower(first.key), true
	}
	for _, s := range segs[1:] {
		switch {
		case s.name == "$count" && !t.single:
			t.count = true
			continue
		case strings.HasPrefix(s.name, "Microsoft.NAV.") && t.single:
			t.action = strings.TrimPrefix(s.name, "Microsoft.NAV.")
			continue
		}
		if !t.single || t.count || t.action != "" {
			return nil, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", s.name)
		}
		nav, child, ok := e.navigation(rc, t.ent, s.name)
		if !ok {
			return nil, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", s.name)
		}
		parentRow, found := e.tableOf(c, t.ent).get(t.key)
		if !found {
			return nil, notFound(t.ent, t.key)
		}
		next := &target{company: c, ent: child, parentEnt: t.ent, parentKey: t.key}
		if nav.Kind == "lookup" || !nav.Collection {
			id := lookupID(t.ent, nav, parentRow.row)
			if id == "" || id == bcschema.BlankGUID {
				return nil, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", s.name)
			}
			next.key, next.single = id, true
		} else {
			next.link = containmentLink(child, t.ent, s.name, parentRow.row)
			if s.hasKey {
				next.key, next.single = strings.ToLower(s.key), true
			}
		}
		t = next
	}
	return t, nil
}

// navigation finds a navigation property and its target entity set.
func (e *Emulator) navigation(rc *requestContext, ent *bcschema.Entity, name string) (bcschema.Navigation, *bcschema.Entity, bool) {
	for _, n := range ent.Navigation {
		if n.Name != name {
			continue
		}
		child, ok := e.entitySet(rc, n.EntitySet)
		if !ok {
			return n, nil, false
		}
		return n, child, true
	}
	return bcschema.Navigation{}, nil, false
}

// containmentLink maps a contained collection to the fields that tie it to its parent
// (the AL part's SubPageLink, e.g. documentId = salesInvoices.id).
func containmentLink(child, parent *bcschema.Entity, nav string, parentRow map[string]any) map[string]any {
	link := map[string]any{}
	for _, c := range child.ContainedIn {
		if c.ParentEntitySet != parent.EntitySet || c.Navigation != nav {
			continue
		}
		for _, l := range c.Link {
			if l.Const != "" || l.ParentField == "" {
				continue
			}
			link[l.ChildField] = parentRow[l.ParentField]
		}
		return link
	}
	if p := child.Parent; p != nil && p.EntitySet == parent.EntitySet {
		link[p.ChildField] = parentRow[p.ParentKeyField]
	}
	return link
}

// lookupID finds the id a lookup navigation points at, e.g. salesInvoice.customer →
// customerId. BC generates these from Id fields (bc-api README, "kind: lookup").
func lookupID(ent *bcschema.Entity, nav bcschema.Navigation, row map[string]any) string {
	for _, name := range []string{nav.Name + "Id", nav.Name + "sId", strings.TrimSuffix(nav.EntitySet, "s") + "Id"} {
		if _, ok := ent.Field(name); ok {
			s, _ := row[name].(string)
			return s
		}
	}
	return ""
}

func notFound(ent *bcschema.Entity, key string) *apiError {
	// §3.4: a nonexistent record id answers 404 (code UNCONFIRMED; BC's record-not-found
	// exception maps to Internal_RecordNotFound).
	return errf(http.StatusNotFound, codeRecordNotFound, "The %s does not exist. Identification fields and values: Id='%s'", ent.Caption, key)
}

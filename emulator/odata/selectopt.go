package odata

import (
	"slices"
	"strings"
)

// ParseSelect parses a $select value: a comma list of property names. It returns the
// names in request order without duplicates; nil for an empty value or one containing `*`,
// meaning every field. Unknown names are 400 BadRequest_NotFound ("Could not find a
// property named 'x' on type '…'.", the message BC gives, bc-entra-facts §4.2). Errors are
// *Error.
func ParseSelect(s string, fields FieldLookup, opt Options) ([]string, error) {
	if err := checkLength("The $select expression", s, &opt); err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	b := &binder{text: s, fields: fields, opt: &opt, entity: opt.entity()}
	var out []string
	all := false
	pos := 0
	for term := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(term)
		at := pos + strings.Index(term, name)
		switch {
		case name == "":
			return nil, errSyntax(pos+len(term), s)
		case name == "*":
			all = true
		default:
			segs := strings.Split(name, "/")
			for k, seg := range segs {
				if bad := badIdentifierAt(seg); bad >= 0 {
					return nil, errSyntax(at+len(strings.Join(segs[:k], "/"))+k+bad, s)
				}
			}
			if _, _, err := b.resolve(&expr{kind: exPath, segs: segs}); err != nil {
				return nil, err
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
		pos += len(term) + 1
	}
	if all {
		return nil, nil
	}
	return out, nil
}

// badIdentifierAt returns the offset of the first character of s that cannot be part of
// an OData identifier, len(s) for an empty s, or -1 when s is an identifier.
func badIdentifierAt(s string) int {
	if s == "" {
		return 0
	}
	if !isIdentStart(s[0]) || s[0] == '$' {
		return 0
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return i
		}
	}
	return -1
}

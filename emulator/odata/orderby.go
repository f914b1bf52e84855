package odata

// OrderBy is one $orderby item.
type OrderBy struct {
	Field string
	Desc  bool
}

// ParseOrderBy parses a $orderby value: a comma list of `field [asc|desc]`. An empty value
// gives nil. Unknown fields are 400 BadRequest_NotFound ("Could not find a property named
// …"); expressions other than a property (functions, literals) are 501: BC sorts with AL
// SetCurrentKey, which takes fields only. Errors are *Error.
func ParseOrderBy(s string, fields FieldLookup, opt Options) ([]OrderBy, error) {
	if err := checkLength("The $orderby expression", s, &opt); err != nil {
		return nil, err
	}
	p, perr := newParser(s, opt.maxDepth())
	if perr != nil {
		return nil, perr
	}
	if p.cur().kind == tokEnd {
		return nil, nil
	}
	b := &binder{text: s, fields: fields, opt: &opt, entity: opt.entity()}
	var out []OrderBy
	for {
		t := p.cur()
		switch {
		case t.kind == tokIdent && t.text != "true" && t.text != "false" && t.text != "null":
		case t.kind == tokEnd || t.kind == tokComma || t.kind == tokRParen:
			return nil, errExpressionExpected(t.pos, s)
		default:
			return nil, notImplemented("The $orderby item at position %d is not a property; Business Central sorts by properties only.", t.pos)
		}
		p.next()
		path := &expr{kind: exPath, pos: t.pos, segs: []string{t.text}}
		switch p.cur().kind {
		case tokLParen:
			if err := unsupportedFunction(t.text); err.Code == CodeNotFound && !isFilterFunction(t.text) {
				return nil, err
			}
			return nil, notImplemented("The $orderby item '%s(…)' at position %d is a function call; Business Central sorts by properties only.", t.text, t.pos)
		case tokSlash:
			p.next()
			seg := p.next()
			if seg.kind != tokIdent {
				return nil, errSyntax(seg.pos, s)
			}
			// API v2.0 entities are flat, so a path always fails to resolve.
			path.segs = append(path.segs, seg.text)
		}
		if _, _, err := b.resolve(path); err != nil {
			return nil, err
		}
		ob := OrderBy{Field: t.text}
		if p.isKeyword("asc") {
			p.next()
		} else if p.isKeyword("desc") {
			ob.Desc = true
			p.next()
		}
		out = append(out, ob)
		switch n := p.next(); n.kind {
		case tokEnd:
			return out, nil
		case tokComma:
		default:
			return nil, errSyntax(n.end, s)
		}
	}
}

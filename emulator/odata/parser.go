package odata

// exprKind classifies a syntax-tree node of a $filter expression.
type exprKind uint8

const (
	exLogical exprKind = iota // and/or over args
	exCompare                 // op in eq ne gt ge lt le; args = [left, right]
	exNot                     // args = [operand]
	exIn                      // args = [left, item...]
	exLiteral                 // tok
	exPath                    // segs
	exCall                    // name(args...)
	exLambda                  // path/any(v: body) or path/all(...); dropped when bound
)

// expr is a node of the untyped syntax tree; binding (bind.go) types it against the entity.
type expr struct {
	kind exprKind
	pos  int
	op   string
	name string
	segs []string
	args []*expr
	tok  *token
}

// parser is a recursive-descent parser over ODataLib's $filter grammar and precedence:
// or < and < eq/ne < gt/ge/lt/le/in < not < primary.
type parser struct {
	text     string
	toks     []token
	i        int
	depth    int
	maxDepth int
}

func newParser(text string, maxDepth int) (*parser, *Error) {
	toks, err := lex(text)
	if err != nil {
		return nil, err
	}
	return &parser{text: text, toks: toks, maxDepth: maxDepth}, nil
}

// parseFilterExpr parses a whole $filter expression.
func parseFilterExpr(text string, maxDepth int) (*expr, *Error) {
	p, err := newParser(text, maxDepth)
	if err != nil {
		return nil, err
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.cur(); t.kind != tokEnd {
		return nil, errSyntax(t.end, text)
	}
	return e, nil
}

func (p *parser) cur() *token { return &p.toks[p.i] }

// next returns the current token and advances, never past tokEnd.
func (p *parser) next() *token {
	t := &p.toks[p.i]
	if t.kind != tokEnd {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(s string) bool {
	t := p.cur()
	return t.kind == tokIdent && t.text == s
}

// enter bounds recursion so that `((((…))))` or `not not not …` cannot exhaust the stack.
func (p *parser) enter() *Error {
	p.depth++
	if p.depth > p.maxDepth {
		return errTooDeep()
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (*expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseLogical("or", p.parseAnd)
}

func (p *parser) parseAnd() (*expr, *Error) { return p.parseLogical("and", p.parseEquality) }

// parseLogical parses `operand (op operand)*` into one n-ary node, so that long
// `a eq 1 and b eq 2 and …` chains stay flat instead of nesting a level per term.
func (p *parser) parseLogical(op string, operand func() (*expr, *Error)) (*expr, *Error) {
	l, err := operand()
	if err != nil || !p.isKeyword(op) {
		return l, err
	}
	e := &expr{kind: exLogical, op: op, pos: l.pos, args: []*expr{l}}
	for p.isKeyword(op) {
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		e.args = append(e.args, r)
	}
	return e, nil
}

func (p *parser) parseEquality() (*expr, *Error) {
	l, err := p.parseRelational()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("eq") || p.isKeyword("ne") {
		op := p.next()
		r, err := p.parseRelational()
		if err != nil {
			return nil, err
		}
		l = &expr{kind: exCompare, op: op.text, pos: op.pos, args: []*expr{l, r}}
	}
	return l, nil
}

func (p *parser) parseRelational() (*expr, *Error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.cur()
		if t.kind != tokIdent {
			return l, nil
		}
		switch t.text {
		case "gt", "ge", "lt", "le":
			p.next()
			r, err := p.parseUnary()
			if err != nil {
				return nil, err
			}
			l = &expr{kind: exCompare, op: t.text, pos: t.pos, args: []*expr{l, r}}
		case "in":
			p.next()
			if l, err = p.parseInList(l, t.pos); err != nil {
				return nil, err
			}
		case "add", "sub", "mul", "div", "divby", "mod", "has":
			// Valid OData, but no AL filter can express arithmetic or flag tests
			// (use-filter-expressions-in-odata-uris.md: no AL approximation → error).
			return nil, notImplemented("The '%s' operator is not supported on an OData filter; Business Central filters compare a property with a literal value.", t.text)
		default:
			return l, nil
		}
	}
}

// parseInList parses `( item, item, … )` after `in`.
func (p *parser) parseInList(left *expr, pos int) (*expr, *Error) {
	if t := p.cur(); t.kind != tokLParen {
		return nil, errOpenParen(t.pos, p.text)
	}
	p.next()
	e := &expr{kind: exIn, op: "in", pos: pos, args: []*expr{left}}
	for {
		item, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		e.args = append(e.args, item)
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRParen:
			return e, nil
		default:
			return nil, errCloseParenOrComma(t.pos, p.text)
		}
	}
}

func (p *parser) parseUnary() (*expr, *Error) {
	if !p.isKeyword("not") {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.next()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &expr{kind: exNot, op: "not", pos: t.pos, args: []*expr{x}}, nil
}

func (p *parser) parsePrimary() (*expr, *Error) {
	t := p.cur()
	switch t.kind {
	case tokLParen:
		p.next()
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.cur(); c.kind != tokRParen {
			return nil, errCloseParenOrOperator(c.pos, p.text)
		}
		p.next()
		return e, nil
	case tokString, tokTypedString, tokInt, tokDecimal, tokDouble, tokGUID, tokDate, tokDateTimeOffset:
		p.next()
		return &expr{kind: exLiteral, pos: t.pos, tok: t}, nil
	case tokIdent:
		if t.text == "true" || t.text == "false" || t.text == "null" {
			p.next()
			return &expr{kind: exLiteral, pos: t.pos, tok: t}, nil
		}
		return p.parseIdentifier()
	}
	return nil, errExpressionExpected(t.pos, p.text)
}

// parseIdentifier parses a property path, a function call or a lambda. Like ODataLib, a
// keyword in operand position (`eq eq 1`) is read as a property name.
func (p *parser) parseIdentifier() (*expr, *Error) {
	t := p.next()
	if p.cur().kind == tokLParen {
		return p.parseCall(t)
	}
	e := &expr{kind: exPath, pos: t.pos, segs: []string{t.text}}
	for p.cur().kind == tokSlash {
		p.next()
		s := p.cur()
		if s.kind != tokIdent {
			return nil, errSyntax(s.pos, p.text)
		}
		p.next()
		if (s.text == "any" || s.text == "all") && p.cur().kind == tokLParen {
			return p.parseLambda(e)
		}
		e.segs = append(e.segs, s.text)
	}
	return e, nil
}

func (p *parser) parseCall(name *token) (*expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next() // (
	e := &expr{kind: exCall, pos: name.pos, name: name.text}
	if p.cur().kind == tokRParen {
		p.next()
		return e, nil
	}
	for {
		arg, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		e.args = append(e.args, arg)
		switch t := p.next(); t.kind {
		case tokComma:
		case tokRParen:
			return e, nil
		default:
			return nil, errCloseParenOrComma(t.pos, p.text)
		}
	}
}

// parseLambda parses `(v: body)` or `()` after any/all. The body is checked for syntax only:
// BC drops lambda conditions (bc-entra-facts §4.2), so it is never bound or evaluated.
func (p *parser) parseLambda(path *expr) (*expr, *Error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.next() // (
	e := &expr{kind: exLambda, pos: path.pos, segs: path.segs}
	if p.cur().kind == tokRParen {
		p.next()
		return e, nil
	}
	if v := p.next(); v.kind != tokIdent {
		return nil, errSyntax(v.pos, p.text)
	}
	if c := p.next(); c.kind != tokColon {
		return nil, errSyntax(c.pos, p.text)
	}
	body, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	e.args = []*expr{body}
	if c := p.cur(); c.kind != tokRParen {
		return nil, errCloseParenOrOperator(c.pos, p.text)
	}
	p.next()
	return e, nil
}

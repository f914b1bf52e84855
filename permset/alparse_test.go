package permset

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// A small tokenizer and parser for the subset of AL a permissionset object uses. It is
// deliberately stricter than the AL compiler where the compiler's rules are known
// (identifier lengths, permission letters, duplicate entries) so that tests catch output
// the compiler would reject.

type alTokKind int

const (
	tokEOF alTokKind = iota
	tokIdent
	tokQuoted // "Quoted Identifier"
	tokString // 'text literal'
	tokInt
	tokPunct // { } = , ; *
)

func (k alTokKind) String() string {
	return [...]string{"end of file", "identifier", "quoted identifier", "string", "integer", "punctuation"}[k]
}

type alTok struct {
	kind alTokKind
	text string // identifier/quoted name without quotes, unescaped string, digits, punctuation
	line int
}

func alTokenize(src string) ([]alTok, error) {
	var toks []alTok
	line := 1
	rs := []rune(src)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '\n':
			line++
			i++
		case r == ' ' || r == '\t' || r == '\r':
			i++
		case r == '/' && i+1 < len(rs) && rs[i+1] == '/':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '/' && i+1 < len(rs) && rs[i+1] == '*':
			start := line
			i += 2
			for {
				if i+1 >= len(rs) {
					return nil, fmt.Errorf("line %d: unterminated /* comment", start)
				}
				if rs[i] == '\n' {
					line++
				}
				if rs[i] == '*' && rs[i+1] == '/' {
					i += 2
					break
				}
				i++
			}
		case r == '"':
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				if rs[j] == '\n' || rs[j] == '\r' {
					return nil, fmt.Errorf("line %d: line break inside quoted identifier", line)
				}
				j++
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("line %d: unterminated quoted identifier", line)
			}
			name := string(rs[i+1 : j])
			if name == "" {
				return nil, fmt.Errorf("line %d: empty quoted identifier", line)
			}
			toks = append(toks, alTok{tokQuoted, name, line})
			i = j + 1
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(rs) {
					return nil, fmt.Errorf("line %d: unterminated text literal", line)
				}
				if rs[j] == '\n' || rs[j] == '\r' {
					return nil, fmt.Errorf("line %d: line break inside text literal", line)
				}
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteRune(rs[j])
				j++
			}
			toks = append(toks, alTok{tokString, b.String(), line})
			i = j + 1
		case unicode.IsDigit(r):
			j := i
			for j < len(rs) && unicode.IsDigit(rs[j]) {
				j++
			}
			if j < len(rs) && (unicode.IsLetter(rs[j]) || rs[j] == '_') {
				return nil, fmt.Errorf("line %d: identifier may not start with a digit", line)
			}
			toks = append(toks, alTok{tokInt, string(rs[i:j]), line})
			i = j
		case r == '_' || (r < unicode.MaxASCII && unicode.IsLetter(r)):
			j := i
			for j < len(rs) && (rs[j] == '_' || (rs[j] < unicode.MaxASCII && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])))) {
				j++
			}
			toks = append(toks, alTok{tokIdent, string(rs[i:j]), line})
			i = j
		case strings.ContainsRune("{}=,;*", r):
			toks = append(toks, alTok{tokPunct, string(r), line})
			i++
		default:
			return nil, fmt.Errorf("line %d: unexpected character %q", line, r)
		}
	}
	return append(toks, alTok{tokEOF, "", line}), nil
}

type alPermission struct {
	ObjectType string // lower case: tabledata, table, page, ...
	Name       string // object name, or the ID as text, or "*"
	Perms      string
}

type alPermissionSet struct {
	ID          int
	Name        string
	Assignable  *bool
	Caption     *string
	Included    []string
	Permissions []alPermission
}

type alParser struct {
	toks []alTok
	pos  int
}

func (p *alParser) peek() alTok { return p.toks[p.pos] }

func (p *alParser) next() alTok {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *alParser) expectPunct(s string) error {
	t := p.next()
	if t.kind != tokPunct || t.text != s {
		return fmt.Errorf("line %d: expected %q, got %s %q", t.line, s, t.kind, t.text)
	}
	return nil
}

func (p *alParser) expectKeyword(kw string) error {
	t := p.next()
	if t.kind != tokIdent || !strings.EqualFold(t.text, kw) {
		return fmt.Errorf("line %d: expected keyword %s, got %s %q", t.line, kw, t.kind, t.text)
	}
	return nil
}

// objectName parses a bare or quoted object name and applies AL's naming rules.
func (p *alParser) objectName(maxLen int) (string, error) {
	t := p.next()
	switch t.kind {
	case tokIdent:
		if alKeywords[strings.ToLower(t.text)] {
			return "", fmt.Errorf("line %d: reserved word %q used as a bare object name; quote it", t.line, t.text)
		}
	case tokQuoted:
		if strings.TrimSpace(t.text) != t.text {
			return "", fmt.Errorf("line %d: quoted name %q has leading or trailing spaces", t.line, t.text)
		}
	default:
		return "", fmt.Errorf("line %d: expected an object name, got %s %q", t.line, t.kind, t.text)
	}
	if n := len([]rune(t.text)); n > maxLen {
		return "", fmt.Errorf("line %d: name %q has %d characters, more than %d", t.line, t.text, n, maxLen)
	}
	return t.text, nil
}

var alObjectTypes = map[string]bool{
	"tabledata": true, "table": true, "page": true, "query": true, "report": true,
	"codeunit": true, "xmlport": true, "system": true,
}

// parseALPermissionSet parses one permissionset object and checks it against AL's rules.
func parseALPermissionSet(src string) (*alPermissionSet, error) {
	toks, err := alTokenize(src)
	if err != nil {
		return nil, err
	}
	p := &alParser{toks: toks}
	ps := &alPermissionSet{}
	if err := p.expectKeyword("permissionset"); err != nil {
		return nil, err
	}
	idTok := p.next()
	if idTok.kind != tokInt {
		return nil, fmt.Errorf("line %d: expected object ID, got %s %q", idTok.line, idTok.kind, idTok.text)
	}
	if ps.ID, err = strconv.Atoi(idTok.text); err != nil || ps.ID <= 0 {
		return nil, fmt.Errorf("line %d: invalid object ID %q", idTok.line, idTok.text)
	}
	if ps.Name, err = p.objectName(30); err != nil {
		return nil, err
	}
	if err := p.expectPunct("{"); err != nil {
		return nil, err
	}
	seenProp := map[string]bool{}
	for {
		t := p.peek()
		if t.kind == tokPunct && t.text == "}" {
			p.next()
			break
		}
		prop := p.next()
		if prop.kind != tokIdent {
			return nil, fmt.Errorf("line %d: expected a property name or '}', got %s %q", prop.line, prop.kind, prop.text)
		}
		key := strings.ToLower(prop.text)
		if seenProp[key] {
			return nil, fmt.Errorf("line %d: property %s set twice", prop.line, prop.text)
		}
		seenProp[key] = true
		if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		switch key {
		case "assignable":
			v := p.next()
			if v.kind != tokIdent || (!strings.EqualFold(v.text, "true") && !strings.EqualFold(v.text, "false")) {
				return nil, fmt.Errorf("line %d: Assignable must be true or false, got %q", v.line, v.text)
			}
			b := strings.EqualFold(v.text, "true")
			ps.Assignable = &b
		case "caption":
			v := p.next()
			if v.kind != tokString {
				return nil, fmt.Errorf("line %d: Caption must be a text literal, got %s %q", v.line, v.kind, v.text)
			}
			ps.Caption = &v.text
		case "access":
			v := p.next()
			if v.kind != tokIdent || (!strings.EqualFold(v.text, "Public") && !strings.EqualFold(v.text, "Internal")) {
				return nil, fmt.Errorf("line %d: Access must be Public or Internal, got %q", v.line, v.text)
			}
		case "includedpermissionsets":
			for {
				n, err := p.objectName(30)
				if err != nil {
					return nil, err
				}
				ps.Included = append(ps.Included, n)
				if t := p.peek(); t.kind == tokPunct && t.text == "," {
					p.next()
					continue
				}
				break
			}
		case "permissions":
			seen := map[string]bool{}
			for {
				perm, err := p.permission()
				if err != nil {
					return nil, err
				}
				k := perm.ObjectType + "|" + strings.ToLower(perm.Name)
				if seen[k] {
					return nil, fmt.Errorf("duplicate permission for %s %q", perm.ObjectType, perm.Name)
				}
				seen[k] = true
				ps.Permissions = append(ps.Permissions, perm)
				if t := p.peek(); t.kind == tokPunct && t.text == "," {
					p.next()
					continue
				}
				break
			}
		default:
			return nil, fmt.Errorf("line %d: unknown permissionset property %s", prop.line, prop.text)
		}
		if err := p.expectPunct(";"); err != nil {
			return nil, err
		}
	}
	if t := p.next(); t.kind != tokEOF {
		return nil, fmt.Errorf("line %d: unexpected %s %q after the object", t.line, t.kind, t.text)
	}
	if ps.Assignable != nil && *ps.Assignable && len([]rune(ps.Name)) > 20 {
		return nil, fmt.Errorf("assignable permission set name %q is longer than 20 characters (AL0305)", ps.Name)
	}
	return ps, nil
}

func (p *alParser) permission() (alPermission, error) {
	t := p.next()
	if t.kind != tokIdent || !alObjectTypes[strings.ToLower(t.text)] {
		return alPermission{}, fmt.Errorf("line %d: expected an object type (tabledata, table, page, ...), got %s %q", t.line, t.kind, t.text)
	}
	perm := alPermission{ObjectType: strings.ToLower(t.text)}
	switch n := p.peek(); {
	case n.kind == tokInt:
		p.next()
		perm.Name = n.text
	case n.kind == tokPunct && n.text == "*":
		p.next()
		perm.Name = "*"
	default:
		name, err := p.objectName(30)
		if err != nil {
			return alPermission{}, err
		}
		perm.Name = name
	}
	if err := p.expectPunct("="); err != nil {
		return alPermission{}, err
	}
	v := p.next()
	if v.kind != tokIdent {
		return alPermission{}, fmt.Errorf("line %d: expected permission letters, got %s %q", v.line, v.kind, v.text)
	}
	allowed := "RIMD"
	if perm.ObjectType != "tabledata" {
		allowed = "X"
	}
	rest := allowed
	for _, r := range v.text {
		i := strings.IndexRune(rest, unicode.ToUpper(r))
		if i < 0 {
			return alPermission{}, fmt.Errorf("line %d: permission %q on %s %q: letters must be from %s, each once, in that order", v.line, v.text, perm.ObjectType, perm.Name, allowed)
		}
		rest = rest[i+1:]
	}
	perm.Perms = v.text
	return perm, nil
}

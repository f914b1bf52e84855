package odata

import (
	"strconv"
	"strings"
)

// ExpandItem is one navigation property of $expand with its nested query options. The
// options are kept raw: the caller parses them against the child entity (ParseSelect,
// ParseFilter, ParseOrderBy, and ParseExpand again for Expand), as BC supports multi-level
// $expand with nested options (bc-entra-facts §4.2).
type ExpandItem struct {
	Navigation string // property name, or "*"
	Select     string
	Filter     string
	OrderBy    string
	Expand     string
	Top        *int
	Skip       *int
}

// maxExpandLength bounds a $expand value; nested options are bounded again when parsed.
const maxExpandLength = DefaultMaxLength

// ParseExpand splits a $expand value such as
// `salesInvoiceLines($select=a,b;$filter=x eq 1;$expand=item($expand=itemCategory)),customer`
// into items. Commas, semicolons and parentheses inside quoted literals do not split.
// Whether a navigation property exists is for the caller to check against the entity.
// Errors are *Error.
func ParseExpand(s string) ([]ExpandItem, error) {
	if len(s) > maxExpandLength {
		opt := Options{MaxLength: maxExpandLength}
		return nil, checkLength("The $expand expression", s, &opt)
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var items []ExpandItem
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && s[j] != '(' && s[j] != ',' {
			j++
		}
		nav := strings.TrimRight(s[i:j], " \t\r\n")
		if err := checkNavigation(nav, i, s); err != nil {
			return nil, err
		}
		item := ExpandItem{Navigation: nav}
		i = j
		if i < len(s) && s[i] == '(' {
			end, err := closingParen(s, i)
			if err != nil {
				return nil, err
			}
			if err := parseExpandOptions(&item, s[i+1:end]); err != nil {
				return nil, err
			}
			i = end + 1
			for i < len(s) && isSpace(s[i]) {
				i++
			}
		}
		for _, prev := range items {
			if prev.Navigation == nav {
				return nil, badRequest("Found multiple expand terms with same path '%s' at one $expand, please combine them together.", nav)
			}
		}
		items = append(items, item)
		if i == len(s) {
			return items, nil
		}
		if s[i] != ',' {
			return nil, errSyntax(i, s)
		}
		i++
	}
}

// checkNavigation validates a navigation property name of $expand starting at offset at.
func checkNavigation(nav string, at int, s string) *Error {
	if nav == "*" {
		return nil
	}
	if strings.HasSuffix(nav, "/$ref") || strings.HasSuffix(nav, "/$count") {
		return notImplemented("$expand=%s is not supported; expand the navigation property without %s.", nav, nav[strings.LastIndexByte(nav, '/'):])
	}
	if bad := badIdentifierAt(nav); bad >= 0 {
		if at+bad < len(s) && s[at+bad] == ')' {
			return badRequest("Found an unbalanced bracket expression.")
		}
		return errSyntax(at+bad, s)
	}
	return nil
}

// closingParen returns the index of the parenthesis closing s[open], skipping quoted
// literals. A doubled quote inside a literal toggles out and back in, which needs no
// special case.
func closingParen(s string, open int) (int, *Error) {
	depth := 0
	quoted := false
	for k := open; k < len(s); k++ {
		c := s[k]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			}
		case c == '\'':
			quoted = true
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return k, nil
			}
		}
	}
	if quoted {
		return 0, errUnterminatedString(len(s), s)
	}
	return 0, badRequest("Found an unbalanced bracket expression.")
}

// splitOptions splits the inside of `nav(…)` on semicolons outside quotes and parentheses.
func splitOptions(s string) []string {
	var out []string
	depth, start := 0, 0
	quoted := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			}
		case c == '\'':
			quoted = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ';' && depth == 0:
			out = append(out, s[start:k])
			start = k + 1
		}
	}
	return append(out, s[start:])
}

func parseExpandOptions(item *ExpandItem, inner string) *Error {
	if strings.TrimSpace(inner) == "" {
		return badRequest("Missing expand option on navigation property '%s'. If a parenthesis expression follows an expanded navigation property, then at least one expand option must be provided.", item.Navigation)
	}
	seen := map[string]bool{}
	for _, o := range splitOptions(inner) {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		name, value, ok := strings.Cut(o, "=")
		if !ok {
			return badRequest("Term '%s' is not valid in a $select or $expand expression.", o)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if seen[name] {
			return badRequest("Query option '%s' was specified more than once, but it must be specified at most once.", name)
		}
		seen[name] = true
		switch name {
		case "$select":
			item.Select = value
		case "$filter":
			item.Filter = value
		case "$orderby":
			item.OrderBy = value
		case "$expand":
			item.Expand = value
		case "$top", "$skip":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				opt := "Top"
				if name == "$skip" {
					opt = "Skip"
				}
				return badRequest("%s option must be a non-negative integer, it is set to '%s' instead.", opt, value)
			}
			if name == "$top" {
				item.Top = &n
			} else {
				item.Skip = &n
			}
		case "$count", "$levels", "$search", "$apply", "$compute":
			return notImplemented("The query option '%s' is not supported inside $expand. Use $select, $filter, $orderby, $expand, $top or $skip.", name)
		default:
			return badRequest("Term '%s' is not valid in a $select or $expand expression.", o)
		}
	}
	return nil
}

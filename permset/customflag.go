package permset

import (
	"fmt"
	"strings"
	"unicode"
)

// CustomTableForm is the form ParseCustomTable reads, for messages.
const CustomTableForm = `publisher/group/version/entitySet=Table Name, e.g. contoso/warehouse/v1.0/binContents=Bin Content`

// ParseCustomTable reads "publisher/group/version/entitySet=Table Name", the table behind
// a custom API page as an admin gives it (the page's SourceTable in the extension's AL
// source), into the key and value of Options.Custom. The table name may be in double
// quotes, as AL writes it. The error says what is wrong and the expected form; callers
// prefix it with the flag or field it came from.
func ParseCustomTable(s string) (string, Table, error) {
	set, table, ok := strings.Cut(s, "=")
	if !ok {
		return "", Table{}, fmt.Errorf("%q has no '=': give %s", s, CustomTableForm)
	}
	set, table = strings.TrimSpace(set), strings.TrimSpace(table)
	parts := strings.Split(set, "/")
	if len(parts) != 4 {
		return "", Table{}, fmt.Errorf("%q names %q, not a custom API set of four parts publisher/group/version/entitySet: give %s", s, set, CustomTableForm)
	}
	for i, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return "", Table{}, fmt.Errorf("%q: the %s of %q is empty or has spaces: give %s", s, [...]string{"publisher", "group", "version", "entity set"}[i], set, CustomTableForm)
		}
	}
	if len(table) >= 2 && table[0] == '"' && table[len(table)-1] == '"' {
		table = strings.TrimSpace(table[1 : len(table)-1])
	}
	if table == "" {
		return "", Table{}, fmt.Errorf("%q gives no table after '=': name the table behind the page (its SourceTable), e.g. %s=Bin Content", s, set)
	}
	if err := checkTableName(table); err != nil {
		return "", Table{}, fmt.Errorf("%q: %w", s, err)
	}
	return set, Table{Name: table}, nil
}

// ParseCustomTables reads several ParseCustomTable values into Options.Custom; a set given
// twice with different tables is an error.
func ParseCustomTables(in []string) (map[string]Table, error) {
	var out map[string]Table
	for _, s := range in {
		set, t, err := ParseCustomTable(s)
		if err != nil {
			return nil, err
		}
		if prev, ok := out[set]; ok && prev.Name != t.Name {
			return nil, fmt.Errorf("%s is given twice, with tables %q and %q: give it once", set, prev.Name, t.Name)
		}
		if out == nil {
			out = map[string]Table{}
		}
		out[set] = t
	}
	return out, nil
}

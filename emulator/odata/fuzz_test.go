package odata

import (
	"errors"
	"math"
	"testing"
	"time"
)

// fuzzRows are rows the evaluator must survive: the contract's types, blanks, every field
// missing, nils, and Go types outside the contract in every field.
func fuzzRows() []map[string]any {
	odd := map[string]any{}
	for name := range glFields() {
		odd[name] = []any{math.NaN(), uint64(math.MaxUint64), int8(-1), float32(1.5), []byte("x"), struct{}{}, time.Time{}, "", true}[len(name)%9]
	}
	nils := map[string]any{}
	for name := range glFields() {
		nils[name] = nil
	}
	return []map[string]any{glRow(), {}, nil, odd, nils}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"entryNumber eq 1",
		"lastModifiedDateTime gt 2024-01-01T00:00:00Z and entryNumber ge 100",
		"entryNumber ge 1 and entryNumber lt 5001",
		"description eq 'O''Brien' or description eq ' or 1 eq 1 or '",
		"id eq 5d115c9c-44e3-ea11-bb43-000d3a2feca1 and postingDate le 2024-12-31",
		"contains(tolower(description),'a') and not blocked",
		"substring(documentNumber,1,2) eq '00'",
		"documentType eq Microsoft.NAV.genJournalDocumentType'Invoice'",
		"entryNumber in (1, 2.5, -3) and debitAmount gt 1e3",
		"lines/any(d: d/x eq 1) and (entryNumber gt 1.5 or entryNumber lt -2)",
		"entryNumber eq 99999999999999999999L",
		"lastModifiedDateTime eq 2024-05-01T14:30:00.1234567890123+02:00",
		"((((blocked))))",
		"",
	} {
		f.Add(s)
	}
	fields, base := setup(f)
	rows := fuzzRows()
	f.Fuzz(func(t *testing.T, s string) {
		for _, opt := range []Options{base, {SchemaVersion: "2.1", CaseInsensitive: true, Enums: glEnums, EnumALNames: true}} {
			flt, err := ParseFilter(s, fields, opt)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || (e.Status != 400 && e.Status != 501) || e.Code == "" || e.Message == "" {
					t.Fatalf("ParseFilter(%q): error %#v is not a BC error", s, err)
				}
				continue
			}
			for _, row := range rows {
				if !flt.Match(row) {
					continue
				}
				// Constraints are necessary conditions: every matching row meets them.
				for name := range glFields() {
					for _, c := range flt.Constraints(name) {
						v := row[name]
						if v == nil {
							v = constraintBlank(name)
						}
						if !parseOp(c.Op).holds(Compare(v, c.Value)) {
							t.Fatalf("ParseFilter(%q): row %v matches but violates %s %s %#v", s, row, name, c.Op, c.Value)
						}
					}
				}
			}
		}
		// The same input through the other parsers must not panic either.
		_, _ = ParseOrderBy(s, fields, base)
		_, _ = ParseSelect(s, fields, base)
	})
}

func constraintBlank(name string) any {
	k := kindOf(glFields()[name])
	return blankOf(k, glEnums(name))
}

func FuzzParseExpand(f *testing.F) {
	for _, s := range []string{
		"salesInvoiceLines($select=a,b;$filter=x eq 1;$expand=item($expand=itemCategory)),customer",
		"lines($filter=description eq 'a,b;c)(''d';$orderby=lineNumber desc;$top=5;$skip=2)",
		"*",
		"a(",
		"a($top=1)x",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseExpand(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("ParseExpand(%q): error %#v is not a BC error", s, err)
			}
			return
		}
		for _, it := range items {
			if it.Navigation == "" || it.Top != nil && *it.Top < 0 || it.Skip != nil && *it.Skip < 0 {
				t.Fatalf("ParseExpand(%q) = %+v", s, items)
			}
		}
	})
}

package datagen

import (
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

func TestParseSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec    string
		want    map[string]int // checked entries
		wantErr string         // substring of the error
	}{
		{spec: "", want: map[string]int{"customers": 50, "generalLedgerEntries": 2000}},
		{spec: "small", want: map[string]int{"customers": 50, "vendors": 30, "items": 60, "salesOrders": 40}},
		{spec: "medium", want: map[string]int{"customers": 500, "generalLedgerEntries": 100_000, "currencies": 8}},
		{spec: "large", want: map[string]int{"generalLedgerEntries": 1_000_000, "customers": 5000}},
		{spec: " Medium , customers=10 ", want: map[string]int{"customers": 10, "generalLedgerEntries": 100_000}},
		{spec: "generalLedgerEntries=1000000,customers=500", want: map[string]int{"generalLedgerEntries": 1_000_000, "customers": 500, "vendors": 30}},
		{spec: "generalLedgerEntries=1_000_000", want: map[string]int{"generalLedgerEntries": 1_000_000}},
		{spec: "generalLedgerEntries=1m,items=20k", want: map[string]int{"generalLedgerEntries": 1_000_000, "items": 20_000}},
		{spec: "customers=0", want: map[string]int{"customers": 0}},
		{spec: "salesInvoiceLines=12", want: map[string]int{"salesInvoiceLines": 12}},
		{spec: "customers=abc", wantErr: `customers="abc"`},
		{spec: "customers=-1", wantErr: "non-negative whole number"},
		{spec: "customers=1.5", wantErr: "non-negative whole number"},
		{spec: "customers=", wantErr: "non-negative whole number"},
		{spec: "customers=_", wantErr: "non-negative whole number"},
		{spec: "customers=99999999999999999999", wantErr: "too large"},
		{spec: "customers=60000000", wantErr: "more than the 50000000 rows"},
		{spec: "salesInvoiceLines=20000", wantErr: "rows per parent"},
		{spec: "custommers=5", wantErr: `unknown entity set "custommers"`},
		{spec: "Customers=5", wantErr: `did you mean "customers"`},
		{spec: "=5", wantErr: "unknown entity set"},
		{spec: "customers=5,huge", wantErr: `"huge" is neither a preset`},
		{spec: "customers=5,medium", wantErr: "must be the first item"},
	} {
		got, err := ParseSizes(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSizes(%q) error = %v, want it to mention %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSizes(%q): %v", tc.spec, err)
			continue
		}
		if len(got) != 90 {
			t.Errorf("ParseSizes(%q) has %d sets, want all 90", tc.spec, len(got))
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("ParseSizes(%q)[%s] = %d, want %d", tc.spec, k, got[k], v)
			}
		}
	}
}

func TestPresets(t *testing.T) {
	t.Parallel()
	for _, name := range presetNames {
		s, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range bcschema.MustLoad().EntitySetNames() {
			if _, ok := s[set]; !ok {
				t.Errorf("preset %s lacks %s", name, set)
			}
		}
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), "small, medium, large") {
		t.Errorf("Preset(huge) error = %v", err)
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"small", "medium,customers=10", "generalLedgerEntries=1m", "x=1", "customers=1_0k", ",,", "large,items=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSizes(spec)
		if err != nil {
			if s != nil {
				t.Fatal("sizes returned with an error")
			}
			return
		}
		if len(s) != 90 {
			t.Fatalf("%q: %d sets", spec, len(s))
		}
		for k, v := range s {
			if v < 0 || v > maxRows {
				t.Fatalf("%q: %s=%d out of range", spec, k, v)
			}
		}
	})
}

package bc

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

func TestTypedStructsMatchSchema(t *testing.T) {
	t.Parallel()
	schema := bcschema.MustLoad()
	goType := map[string]reflect.Type{
		bcschema.TypeGuid:           reflect.TypeFor[string](),
		bcschema.TypeString:         reflect.TypeFor[string](),
		bcschema.TypeDecimal:        reflect.TypeFor[float64](),
		bcschema.TypeInt32:          reflect.TypeFor[int32](),
		bcschema.TypeInt64:          reflect.TypeFor[int64](),
		bcschema.TypeBoolean:        reflect.TypeFor[bool](),
		bcschema.TypeDate:           reflect.TypeFor[Date](),
		bcschema.TypeDateTimeOffset: reflect.TypeFor[time.Time](),
	}
	for set, typ := range map[string]reflect.Type{
		"companies":            reflect.TypeFor[Company](),
		"customers":            reflect.TypeFor[Customer](),
		"vendors":              reflect.TypeFor[Vendor](),
		"items":                reflect.TypeFor[Item](),
		"accounts":             reflect.TypeFor[Account](),
		"generalLedgerEntries": reflect.TypeFor[GeneralLedgerEntry](),
		"salesInvoices":        reflect.TypeFor[SalesInvoice](),
		"salesInvoiceLines":    reflect.TypeFor[SalesInvoiceLine](),
	} {
		ent, ok := schema.EntitySet(set)
		if !ok {
			t.Fatalf("%s not in the schema", set)
		}
		tagged := map[string]bool{}
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "@odata.etag" {
				continue
			}
			tagged[name] = true
			sf, ok := ent.Field(name)
			if !ok {
				t.Errorf("%s.%s: %s has no field %q", typ.Name(), f.Name, set, name)
				continue
			}
			if want := goType[sf.Type]; f.Type != want {
				t.Errorf("%s.%s is %v; %s is %s, want %v", typ.Name(), f.Name, f.Type, name, sf.Type, want)
			}
		}
		for _, sf := range ent.Fields {
			if !sf.FilterOnly && sf.Type != bcschema.TypeStream && !tagged[sf.Name] {
				t.Errorf("%s lacks %s's field %q", typ.Name(), set, sf.Name)
			}
		}
	}
}

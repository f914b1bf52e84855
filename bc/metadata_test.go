package bc

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/csdl"
)

// standardMetadata renders API v2.0's $metadata as the emulator serves it.
func standardMetadata(t testing.TB) []byte {
	t.Helper()
	s := bcschema.MustLoad()
	var b bytes.Buffer
	if err := csdl.Metadata(&b, s, s.Entities, csdl.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParseMetadataStandard reads the whole API v2.0 document back into what the static
// schema says: every set, its key, every field's EDM type, read-only flags and
// lastModifiedDateTime.
func TestParseMetadataStandard(t *testing.T) {
	t.Parallel()
	s := bcschema.MustLoad()
	m, err := ParseMetadata(bytes.NewReader(standardMetadata(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.EntitySets) != len(s.Entities) {
		t.Fatalf("%d entity sets, want %d", len(m.EntitySets), len(s.Entities))
	}
	for _, ent := range s.Entities {
		got, ok := m.EntitySet(ent.EntitySet)
		if !ok {
			t.Errorf("entity set %s missing", ent.EntitySet)
			continue
		}
		if !slices.Equal(got.Key, ent.Key) {
			t.Errorf("%s: key %v, want %v", ent.EntitySet, got.Key, ent.Key)
		}
		if got.LastModified != ent.HasLastModified() {
			t.Errorf("%s: LastModified %v, want %v", ent.EntitySet, got.LastModified, ent.HasLastModified())
		}
		for _, f := range ent.Fields {
			gf, ok := got.Field(f.Name)
			if !ok {
				t.Errorf("%s.%s missing", ent.EntitySet, f.Name)
				continue
			}
			want := f.Type
			if f.IsEnum() && f.EdmType != "" {
				want = f.EdmType
				if !slices.Equal(gf.EnumValues, f.EnumValues) && len(gf.EnumValues) < len(f.EnumValues) {
					t.Errorf("%s.%s: enum values %v, want at least %v", ent.EntitySet, f.Name, gf.EnumValues, f.EnumValues)
				}
			}
			if gf.Type != want {
				t.Errorf("%s.%s: type %s, want %s", ent.EntitySet, f.Name, gf.Type, want)
			}
			if gf.ReadOnly != f.ReadOnly {
				t.Errorf("%s.%s: read-only %v, want %v", ent.EntitySet, f.Name, gf.ReadOnly, f.ReadOnly)
			}
			if f.Type == bcschema.TypeString && !f.IsEnum() && gf.MaxLength != f.MaxLength {
				t.Errorf("%s.%s: max length %d, want %d", ent.EntitySet, f.Name, gf.MaxLength, f.MaxLength)
			}
		}
	}
	lines, _ := m.EntitySet("salesInvoiceLines")
	if lines.LastModified {
		t.Error("salesInvoiceLines has no lastModifiedDateTime (bc-entra-facts §8), parsed as having one")
	}
	// Extension fields: one the static schema lacks is marked, the others are not.
	cust, _ := m.EntitySet("customers")
	cust.Fields = append(cust.Fields, FieldSchema{Name: "loyaltyTier", Type: "Edm.String"})
	MarkExtensions(m, s)
	for _, f := range cust.Fields {
		if f.Extension != (f.Name == "loyaltyTier") {
			t.Errorf("customers.%s: Extension %v", f.Name, f.Extension)
		}
	}
	ent := cust.Entity()
	if ent.EntitySet != "customers" || ent.Entity != "customer" || !ent.HasLastModified() {
		t.Errorf("Entity(): %+v", ent)
	}
	if f, ok := ent.Field("blocked"); !ok || f.Type != bcschema.TypeString || f.EdmType == "" || len(f.EnumValues) == 0 {
		t.Errorf("Entity() blocked: %+v", f)
	}
}

const customDoc = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Contoso.Pricing" Alias="P" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EnumType Name="lineKind"><Member Name="Item" Value="0"/><Member Name="G_x002F_L" Value="1"/></EnumType>
      <EntityType Name="base"><Property Name="systemId" Type="Edm.Guid"/></EntityType>
      <EntityType Name="priceLine" BaseType="P.base">
        <Key><PropertyRef Name="listCode"/><PropertyRef Name="lineNumber"/></Key>
        <Property Name="listCode" Type="Edm.String" MaxLength="20"/>
        <Property Name="lineNumber" Type="Edm.Int32"/>
        <Property Name="kind" Type="P.lineKind"/>
        <Property Name="price" Type="Edm.Decimal" Scale="variable"/>
        <Property Name="note" Type="Edm.String" MaxLength="max"/>
        <Property Name="rowVersion" Type="Edm.Int64"><Annotation Term="Core.Computed" Bool="true"/></Property>
        <NavigationProperty Name="list" Type="P.priceList"/>
      </EntityType>
      <EntityContainer Name="NAV">
        <EntitySet Name="priceLines" EntityType="Contoso.Pricing.priceLine"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>`

func TestParseMetadataCustom(t *testing.T) {
	t.Parallel()
	m, err := ParseMetadata(strings.NewReader(customDoc))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.EntitySet("priceLines")
	if !ok || len(m.EntitySets) != 1 {
		t.Fatalf("sets %+v", m.EntitySets)
	}
	if !slices.Equal(s.Key, []string{"listCode", "lineNumber"}) || s.LastModified {
		t.Fatalf("key %v lastModified %v", s.Key, s.LastModified)
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name+":"+f.Type)
	}
	want := []string{"systemId:Edm.Guid", "listCode:Edm.String", "lineNumber:Edm.Int32", "kind:P.lineKind", "price:Edm.Decimal", "note:Edm.String", "rowVersion:Edm.Int64"}
	if !slices.Equal(names, want) {
		t.Fatalf("fields %v, want %v", names, want)
	}
	kind, _ := s.Field("kind")
	if !slices.Equal(kind.EnumValues, []string{"Item", "G_x002F_L"}) {
		t.Errorf("enum values %v", kind.EnumValues)
	}
	if lc, _ := s.Field("listCode"); lc.Nullable || lc.MaxLength != 20 {
		t.Errorf("listCode %+v: keys are not nullable", lc)
	}
	if rv, _ := s.Field("rowVersion"); !rv.ReadOnly {
		t.Error("Core.Computed not read as read-only")
	}
	if !slices.Equal(s.Navigation, []string{"list"}) {
		t.Errorf("navigation %v", s.Navigation)
	}
}

func TestParseMetadataErrors(t *testing.T) {
	t.Parallel()
	wrap := func(body string) string {
		return `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>
<Schema Namespace="NS" xmlns="http://docs.oasis-open.org/odata/ns/edm">` + body + `</Schema></edmx:DataServices></edmx:Edmx>`
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "holds no XML element"},
		{"json", `{"value":[]}`, "holds no XML element"},
		{"html", `<html><body>sign in</body></html>`, "root element is <html>"},
		{"truncated", wrap(`<EntityType Name="a">`)[:120], "not well-formed XML"},
		{"no schema", `<edmx:Edmx xmlns:edmx="x"></edmx:Edmx>`, "no <Schema>"},
		{"no namespace", `<edmx:Edmx xmlns:edmx="x"><Schema></Schema></edmx:Edmx>`, "<Schema> has no Namespace"},
		{"unknown type", wrap(`<EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "entity set xs has entity type NS.x, which the document does not define"},
		{"bad key", wrap(`<EntityType Name="x"><Key><PropertyRef Name="code"/></Key><Property Name="id" Type="Edm.Guid"/></EntityType><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "entity type x has key code, which is not one of its properties"},
		{"no type", wrap(`<EntityType Name="x"><Property Name="id"/></EntityType><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "property id of entity type x has no Type"},
		{"twice", wrap(`<EntityType Name="x"><Property Name="id" Type="Edm.Guid"/><Property Name="id" Type="Edm.Guid"/></EntityType><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "has property id twice"},
		{"set twice", wrap(`<EntityType Name="x"/><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "entity set xs is declared twice"},
		{"type twice", wrap(`<EntityType Name="x"/><EntityType Name="x"/>`), "entity type NS.x is defined twice"},
		{"cycle", wrap(`<EntityType Name="x" BaseType="NS.y"/><EntityType Name="y" BaseType="NS.x"/><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), "derives from itself"},
		{"max length", wrap(`<EntityType Name="x"><Property Name="n" Type="Edm.String" MaxLength="-1"/></EntityType><EntityContainer><EntitySet Name="xs" EntityType="NS.x"/></EntityContainer>`), `MaxLength "-1", not a length`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMetadata(strings.NewReader(tc.doc))
			var me *MetadataError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a *MetadataError containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParseMetadata: any input parses or fails with a *MetadataError, never panics, and
// what parses is consistent (keys are fields, names unique).
func FuzzParseMetadata(f *testing.F) {
	f.Add(customDoc)
	f.Add(`<edmx:Edmx xmlns:edmx="x"><Schema Namespace="N"><EntityType Name="a"><Key><PropertyRef Name="id"/></Key><Property Name="id" Type="Edm.Guid"/></EntityType><EntityContainer><EntitySet Name="as" EntityType="N.a"/></EntityContainer></Schema></edmx:Edmx>`)
	f.Add(`<edmx:Edmx><Schema Namespace="N"><EntityType Name="a" BaseType="N.a"/></Schema></edmx:Edmx>`)
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := ParseMetadata(strings.NewReader(doc))
		if err != nil {
			var me *MetadataError
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not a *MetadataError", err, err)
			}
			return
		}
		sets := map[string]bool{}
		for _, s := range m.EntitySets {
			if sets[s.Name] {
				t.Fatalf("set %s twice", s.Name)
			}
			sets[s.Name] = true
			for _, k := range s.Key {
				if _, ok := s.Field(k); !ok {
					t.Fatalf("key %s of %s is no field", k, s.Name)
				}
			}
			_ = s.Entity()
		}
	})
}

package csdl

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// node is a generic XML element for inspecting the generated document.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Nodes   []*node    `xml:",any"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// children returns the direct children with the given local name.
func (n *node) children(local string) []*node {
	var out []*node
	for _, c := range n.Nodes {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// child returns the direct child with the given local name and Name attribute.
func (n *node) child(local, name string) *node {
	for _, c := range n.children(local) {
		if c.attr("Name") == name {
			return c
		}
	}
	return nil
}

func parse(t *testing.T, doc []byte) *node {
	t.Helper()
	var root node
	if err := xml.Unmarshal(doc, &root); err != nil {
		t.Fatalf("output is not well-formed XML: %v", err)
	}
	return &root
}

// schemaOf returns the single edm Schema element of a parsed EDMX document.
func schemaOf(t *testing.T, root *node) *node {
	t.Helper()
	ds := root.children("DataServices")
	if len(ds) != 1 {
		t.Fatalf("want 1 DataServices, got %d", len(ds))
	}
	ss := ds[0].children("Schema")
	if len(ss) != 1 {
		t.Fatalf("want 1 Schema, got %d", len(ss))
	}
	return ss[0]
}

func standard(t testing.TB) (*bcschema.Schema, []byte) {
	t.Helper()
	s := bcschema.MustLoad()
	var b bytes.Buffer
	if err := Metadata(&b, s, s.Entities, Options{}); err != nil {
		t.Fatal(err)
	}
	return s, b.Bytes()
}

func TestMetadataStandardAPI(t *testing.T) {
	t.Parallel()
	s, doc := standard(t)
	root := parse(t, doc)
	if root.XMLName.Local != "Edmx" || root.XMLName.Space != "http://docs.oasis-open.org/odata/ns/edmx" || root.attr("Version") != "4.0" {
		t.Fatalf("root = %v Version=%q", root.XMLName, root.attr("Version"))
	}
	sch := schemaOf(t, root)
	if sch.attr("Namespace") != "Microsoft.NAV" || sch.XMLName.Space != "http://docs.oasis-open.org/odata/ns/edm" {
		t.Fatalf("Schema = %v Namespace=%q", sch.XMLName, sch.attr("Namespace"))
	}

	// Every type reference must resolve to an Edm primitive or a type declared here.
	declared := map[string]bool{}
	for _, kind := range []string{"EnumType", "EntityType"} {
		for _, n := range sch.children(kind) {
			declared["Microsoft.NAV."+n.attr("Name")] = true
		}
	}
	resolves := func(typ string) bool {
		typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Collection("), ")")
		return strings.HasPrefix(typ, "Edm.") || declared[typ]
	}
	for _, et := range sch.children("EntityType") {
		for _, kind := range []string{"Property", "NavigationProperty"} {
			for _, p := range et.children(kind) {
				if !resolves(p.attr("Type")) {
					t.Errorf("%s.%s: type %q is not declared", et.attr("Name"), p.attr("Name"), p.attr("Type"))
				}
			}
		}
	}

	containers := sch.children("EntityContainer")
	if len(containers) != 1 || containers[0].attr("Name") != "NAV" {
		t.Fatalf("want one EntityContainer NAV, got %d", len(containers))
	}
	sets := containers[0]
	if got := len(sets.children("EntitySet")); got != len(s.Entities) {
		t.Errorf("EntitySet count = %d, want %d", got, len(s.Entities))
	}
	for _, e := range s.Entities {
		es := sets.child("EntitySet", e.EntitySet)
		if es == nil {
			t.Errorf("entity set %q missing", e.EntitySet)
			continue
		}
		if es.attr("EntityType") != e.EdmTypeName() || !declared[e.EdmTypeName()] {
			t.Errorf("entity set %q: EntityType %q not declared", e.EntitySet, es.attr("EntityType"))
		}
		for _, b := range es.children("NavigationPropertyBinding") {
			if sets.child("EntitySet", b.attr("Target")) == nil {
				t.Errorf("entity set %q: binding %q targets unknown set %q", e.EntitySet, b.attr("Path"), b.attr("Target"))
			}
		}
	}
	if sch.child("EntityType", "customerSale").children("Key") != nil {
		t.Error("customerSale is an API query and must have no Key")
	}
}

func TestMetadataCustomer(t *testing.T) {
	t.Parallel()
	_, doc := standard(t)
	sch := schemaOf(t, parse(t, doc))
	cust := sch.child("EntityType", "customer")
	if cust == nil {
		t.Fatal("EntityType customer missing")
	}
	keys := cust.children("Key")
	if len(keys) != 1 || len(keys[0].children("PropertyRef")) != 1 || keys[0].children("PropertyRef")[0].attr("Name") != "id" {
		t.Fatalf("customer key is not (id)")
	}
	id := cust.child("Property", "id")
	if id == nil || id.attr("Type") != "Edm.Guid" || id.attr("Nullable") != "false" {
		t.Errorf("customer.id = %+v, want Edm.Guid Nullable=false", id)
	}
	if ann := id.children("Annotation"); len(ann) != 1 || ann[0].attr("Term") != "Org.OData.Core.V1.Computed" {
		t.Errorf("customer.id (read-only) lacks the Core.Computed annotation")
	}
	num := cust.child("Property", "number")
	if num.attr("MaxLength") != "20" || num.attr("Nullable") != "" || num.children("Annotation") != nil {
		t.Errorf("customer.number attrs = %v", num.Attrs)
	}
	blocked := cust.child("Property", "blocked")
	if blocked == nil || blocked.attr("Type") != "Microsoft.NAV.customerBlocked" || blocked.attr("MaxLength") != "" {
		t.Fatalf("customer.blocked = %+v", blocked)
	}
	enum := sch.child("EnumType", "customerBlocked")
	if enum == nil {
		t.Fatal("EnumType customerBlocked missing")
	}
	var members []string
	for i, m := range enum.children("Member") {
		members = append(members, m.attr("Name"))
		if m.attr("Value") != strconv.Itoa(i) {
			t.Errorf("member %q Value = %q, want %d", m.attr("Name"), m.attr("Value"), i)
		}
	}
	if strings.Join(members, ",") != "_x0020_,Ship,Invoice,All" {
		t.Errorf("customerBlocked members = %v", members)
	}
	if p := cust.child("Property", "balanceDue"); p == nil || p.attr("Type") != "Edm.Decimal" || p.attr("Scale") != "variable" {
		t.Errorf("customer.balanceDue = %+v", p)
	}
	// Lookup navigation: no containment, bound to its set in the container.
	cur := cust.child("NavigationProperty", "currency")
	if cur == nil || cur.attr("Type") != "Microsoft.NAV.currency" || cur.attr("ContainsTarget") != "" {
		t.Errorf("customer.currency = %+v", cur)
	}
	set := sch.children("EntityContainer")[0].child("EntitySet", "customers")
	var bound []string
	for _, b := range set.children("NavigationPropertyBinding") {
		bound = append(bound, b.attr("Path")+"->"+b.attr("Target"))
	}
	if got := strings.Join(bound, " "); got != "currency->currencies paymentTerm->paymentTerms shipmentMethod->shipmentMethods paymentMethod->paymentMethods" {
		t.Errorf("customers bindings = %s", got)
	}
}

func TestMetadataSalesInvoice(t *testing.T) {
	t.Parallel()
	_, doc := standard(t)
	sch := schemaOf(t, parse(t, doc))
	inv := sch.child("EntityType", "salesInvoice")
	lines := inv.child("NavigationProperty", "salesInvoiceLines")
	if lines == nil || lines.attr("Type") != "Collection(Microsoft.NAV.salesInvoiceLine)" || lines.attr("ContainsTarget") != "true" {
		t.Errorf("salesInvoice.salesInvoiceLines = %+v", lines)
	}
	if pdf := inv.child("NavigationProperty", "pdfDocument"); pdf == nil || pdf.attr("Type") != "Microsoft.NAV.pdfDocument" {
		t.Errorf("salesInvoice.pdfDocument (single) = %+v", pdf)
	}
	bound := map[string]int{}
	for _, a := range sch.children("Action") {
		ps := a.children("Parameter")
		if a.attr("IsBound") != "true" || len(ps) != 1 || ps[0].attr("Name") != "bindingParameter" {
			t.Errorf("action %q is not bound with one bindingParameter", a.attr("Name"))
			continue
		}
		if ps[0].attr("Type") == "Microsoft.NAV.salesInvoice" {
			bound[a.attr("Name")]++
		}
	}
	for _, name := range []string{"post", "postAndSend", "send", "cancel", "cancelAndSend", "makeCorrectiveCreditMemo"} {
		if bound[name] != 1 {
			t.Errorf("action %s bound to salesInvoice %d times, want 1", name, bound[name])
		}
	}
	if len(bound) != 6 {
		t.Errorf("salesInvoice actions = %v, want 6", bound)
	}
}

func TestMetadataNavigationAndEnums(t *testing.T) {
	t.Parallel()
	s, doc := standard(t)
	sch := schemaOf(t, parse(t, doc))

	// companies contains every company-scoped set, including salespeoplePurchasers, which the
	// docs list under a wrong name.
	company := sch.child("EntityType", "company")
	for _, e := range s.Entities {
		n := company.child("NavigationProperty", e.EntitySet)
		if e.Scope != "company" {
			if n != nil {
				t.Errorf("company navigates to root set %q", e.EntitySet)
			}
			continue
		}
		if n == nil || n.attr("ContainsTarget") != "true" || n.attr("Type") != "Collection("+e.EdmTypeName()+")" {
			t.Errorf("company.%s = %+v", e.EntitySet, n)
		}
	}
	if company.child("NavigationProperty", "salespersonPurchaser") != nil {
		t.Error("navigation to the non-existent set salespersonPurchaser must be left out")
	}
	if sch.children("EntityContainer")[0].child("EntitySet", "companies").children("NavigationPropertyBinding") != nil {
		t.Error("containment navigations must not get a NavigationPropertyBinding")
	}
	// Unresolvable lookup (docs name the set as entity, no entitySet) is left out.
	if sch.child("EntityType", "jobQueueEntry").child("NavigationProperty", "jobQueueLogEntries") != nil {
		t.Error("jobQueueEntry.jobQueueLogEntries has no known target and must be left out")
	}

	// Enum with unknown values stays Edm.String, and no EnumType is invented for it.
	if p := sch.child("EntityType", "approvalEntry").child("Property", "documentType"); p.attr("Type") != "Edm.String" {
		t.Errorf("approvalEntry.documentType = %q, want Edm.String", p.attr("Type"))
	}
	if sch.child("EnumType", "approvalDocumentType") != nil {
		t.Error("EnumType approvalDocumentType has no known members and must not be declared")
	}
	// Members a page allows beyond the (older) enum file are added.
	abd := sch.child("EnumType", "attachmentEntityBufferDocumentType")
	if abd == nil || abd.child("Member", "Sales_x0020_Invoice") == nil || abd.child("Member", "Customer_x0020_Statement") == nil {
		t.Errorf("attachmentEntityBufferDocumentType lacks page-added members")
	}
	// EnumTypes are sorted and unique.
	var prev string
	for _, e := range sch.children("EnumType") {
		if e.attr("Name") <= prev {
			t.Errorf("EnumType %q after %q: not sorted/unique", e.attr("Name"), prev)
		}
		prev = e.attr("Name")
	}
}

// TestMetadataSlice pins an exact slice of the standard output (indentation included).
func TestMetadataSlice(t *testing.T) {
	t.Parallel()
	_, doc := standard(t)
	for _, want := range []string{
		`<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:Reference Uri="https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml">
    <edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/>
  </edmx:Reference>
  <edmx:DataServices>
    <Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
`,
		`
      <EnumType Name="customerBlocked">
        <Member Name="_x0020_" Value="0"/>
        <Member Name="Ship" Value="1"/>
        <Member Name="Invoice" Value="2"/>
        <Member Name="All" Value="3"/>
      </EnumType>
`,
		`
      <EntityType Name="customer">
        <Key>
          <PropertyRef Name="id"/>
        </Key>
        <Property Name="id" Type="Edm.Guid" Nullable="false">
          <Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>
        </Property>
        <Property Name="number" Type="Edm.String" MaxLength="20"/>
        <Property Name="displayName" Type="Edm.String" MaxLength="100"/>
`,
		`
      <Action Name="post" IsBound="true">
        <Parameter Name="bindingParameter" Type="Microsoft.NAV.salesInvoice"/>
      </Action>
      <Action Name="postAndSend" IsBound="true">
`,
		`
        <EntitySet Name="customers" EntityType="Microsoft.NAV.customer">
          <NavigationPropertyBinding Path="currency" Target="currencies"/>
`,
		`
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`,
	} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("output lacks:\n%s", want)
		}
	}
	if !bytes.HasSuffix(doc, []byte("</edmx:Edmx>\n")) {
		t.Error("output does not end with </edmx:Edmx>")
	}
}

func TestMetadataDeterministic(t *testing.T) {
	t.Parallel()
	_, a := standard(t)
	_, b := standard(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same input differ")
	}
}

const smallSchema = `{
  "schemaFormat": "bc-api-schema/1",
  "enums": {
    "Microsoft.NAV.widgetStatus": {"values": ["Open", "Closed"]},
    "Microsoft.NAV.unused": {"values": ["A"]}
  },
  "entities": [
    {"entitySet": "companies", "entity": "company", "key": ["id"], "scope": "root",
     "fields": [{"name": "id", "type": "Edm.Guid", "readOnly": true, "nullable": false},
                {"name": "name", "type": "Edm.String", "maxLength": 30}]},
    {"entitySet": "widgets", "entity": "widget", "key": ["id"], "scope": "company",
     "actions": ["Microsoft.NAV.archive"],
     "fields": [{"name": "id", "type": "Edm.Guid", "readOnly": true},
                {"name": "status", "type": "Edm.String", "edmType": "Microsoft.NAV.widgetStatus", "enumValues": ["Open", "Closed", "On_x0020_Hold"]},
                {"name": "kind", "type": "Edm.String", "edmType": "Microsoft.NAV.notKnown", "maxLength": 10},
                {"name": "price", "type": "Edm.Decimal"}],
     "navigation": [{"name": "widgetParts", "entity": "widgetPart", "entitySet": "widgetParts", "collection": true, "kind": "containment"},
                    {"name": "owner", "entity": "owner", "entitySet": "owners", "collection": false, "kind": "lookup"},
                    {"name": "company", "entitySet": "companies", "collection": false, "kind": "lookup"}]},
    {"entitySet": "widgetParts", "entity": "widgetPart", "key": ["id"], "scope": "company",
     "fields": [{"name": "id", "type": "Edm.Guid"}]},
    {"entitySet": "widgetTotals", "entity": "widgetTotal", "key": null, "scope": "company",
     "fields": [{"name": "total", "type": "Edm.Int64"}]}
  ]
}`

func TestMetadataGolden(t *testing.T) {
	t.Parallel()
	s, err := bcschema.Parse([]byte(smallSchema))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Metadata(&b, s, s.Entities, Options{}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.xml")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
	parse(t, b.Bytes())
}

func TestMetadataOptionsAndSubset(t *testing.T) {
	t.Parallel()
	s := bcschema.MustLoad()
	comp, _ := s.EntitySet("companies")
	cust, _ := s.EntitySet("customers")
	var b bytes.Buffer
	if err := Metadata(&b, s, []*bcschema.Entity{comp, cust}, Options{Namespace: "Contoso.Api", ContainerName: "Box"}); err != nil {
		t.Fatal(err)
	}
	sch := schemaOf(t, parse(t, b.Bytes()))
	if sch.attr("Namespace") != "Contoso.Api" || sch.children("EntityContainer")[0].attr("Name") != "Box" {
		t.Errorf("options not applied: Namespace=%q", sch.attr("Namespace"))
	}
	if n := len(sch.children("EntityType")); n != 2 {
		t.Errorf("EntityType count = %d, want 2", n)
	}
	c := sch.child("EntityType", "customer")
	if got := c.child("Property", "blocked").attr("Type"); got != "Contoso.Api.customerBlocked" {
		t.Errorf("blocked type = %q", got)
	}
	if n := c.children("NavigationProperty"); len(n) != 0 {
		t.Errorf("customer navigations to absent sets must be left out, got %d", len(n))
	}
	var navs []string
	for _, n := range sch.child("EntityType", "company").children("NavigationProperty") {
		navs = append(navs, n.attr("Name")+":"+n.attr("Type"))
	}
	if strings.Join(navs, " ") != "customers:Collection(Contoso.Api.customer)" {
		t.Errorf("company navigations = %v", navs)
	}
	if sch.child("EnumType", "contactType") == nil || sch.child("EnumType", "approvalStatus") != nil {
		t.Error("want exactly the enum types the given entities reference (contactType, not approvalStatus)")
	}
}

func TestMetadataEscaping(t *testing.T) {
	t.Parallel()
	s, err := bcschema.Parse([]byte(`{"schemaFormat":"bc-api-schema/1","enums":{"Microsoft.NAV.e":{"values":["a\"<&>'b"]}},
	  "entities":[{"entitySet":"s&<\"x","entity":"t'>\"","key":["k\"&"],
	    "actions":["Microsoft.NAV.go<"],
	    "fields":[{"name":"k\"&","type":"Edm.String","maxLength":5},{"name":"v\u0001\n","type":"Edm.String","edmType":"Microsoft.NAV.e"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Metadata(&b, s, s.Entities, Options{ContainerName: `N"&`}); err != nil {
		t.Fatal(err)
	}
	sch := schemaOf(t, parse(t, b.Bytes()))
	et := sch.child("EntityType", `t'>"`)
	if et == nil {
		t.Fatalf("entity name did not round-trip:\n%s", b.String())
	}
	if et.child("Property", `k"&`) == nil {
		t.Error("field name did not round-trip")
	}
	if sch.child("EnumType", "e").child("Member", `a"<&>'b`) == nil {
		t.Error("enum member did not round-trip")
	}
	if sch.child("Action", "go<") == nil || sch.children("EntityContainer")[0].child("EntitySet", `s&<"x`) == nil {
		t.Error("action or set name did not round-trip")
	}
	// The control character is replaced, the newline kept as a character reference.
	if et.child("Property", "v\uFFFD\n") == nil {
		t.Errorf("control character not replaced:\n%s", b.String())
	}
}

func TestMetadataErrors(t *testing.T) {
	t.Parallel()
	s := bcschema.MustLoad()
	cust, _ := s.EntitySet("customers")
	mk := func(js string) []*bcschema.Entity {
		t.Helper()
		sc, err := bcschema.Parse([]byte(`{"schemaFormat":"bc-api-schema/1","entities":` + js + `}`))
		if err != nil {
			t.Fatal(err)
		}
		return sc.Entities
	}
	tests := []struct {
		name     string
		schema   *bcschema.Schema
		entities []*bcschema.Entity
		want     string
	}{
		{"nil schema", nil, s.Entities, "schema is nil"},
		{"nil entity", s, []*bcschema.Entity{cust, nil}, "entities[1] is nil"},
		{"set twice", s, []*bcschema.Entity{cust, cust}, "entity type \"customer\" is used by sets"},
		{"no entity name", s, mk(`[{"entitySet":"a"}]`), "has no entity name"},
		{"same set", s, mk(`[{"entitySet":"a","entity":"x"},{"entitySet":"a","entity":"y"}]`), `entity set "a" is listed twice`},
		{"key not a field", s, mk(`[{"entitySet":"a","entity":"x","key":["id"],"fields":[{"name":"no","type":"Edm.Guid"}]}]`), `key "id" is not one of its fields`},
		{"field twice", s, mk(`[{"entitySet":"a","entity":"x","fields":[{"name":"f","type":"Edm.Guid"},{"name":"f","type":"Edm.Guid"}]}]`), `field "f" is listed twice`},
		{"field without type", s, mk(`[{"entitySet":"a","entity":"x","fields":[{"name":"f"}]}]`), `field "f" has no type`},
		{"nav shadows field", s, mk(`[{"entitySet":"a","entity":"x","fields":[{"name":"f","type":"Edm.Guid"}],"navigation":[{"name":"f","entity":"x","kind":"lookup"}]}]`), `navigation "f" has the name of another property`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Metadata(&b, tt.schema, tt.entities, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", b.Len())
			}
		})
	}
	if err := Metadata(nil, s, s.Entities, Options{}); err == nil {
		t.Error("nil writer: want error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterErrorsPropagate(t *testing.T) {
	t.Parallel()
	s := bcschema.MustLoad()
	if err := Metadata(failWriter{}, s, s.Entities, Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Metadata err = %v", err)
	}
	if err := ServiceDocument(failWriter{}, "https://h/api/v2.0", s.Entities); err == nil {
		t.Error("ServiceDocument: want the writer's error")
	}
}

func TestServiceDocument(t *testing.T) {
	t.Parallel()
	s := bcschema.MustLoad()
	var b bytes.Buffer
	base := "https://api.businesscentral.dynamics.com/v2.0/t&1/Production/api/v2.0/"
	if err := ServiceDocument(&b, base, s.Entities); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context string `json:"@odata.context"`
		Value   []struct{ Name, Kind, URL string }
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Context != "https://api.businesscentral.dynamics.com/v2.0/t&1/Production/api/v2.0/$metadata" {
		t.Errorf("@odata.context = %q", doc.Context)
	}
	if len(doc.Value) != len(s.Entities) {
		t.Fatalf("value has %d entries, want %d", len(doc.Value), len(s.Entities))
	}
	for i, e := range s.Entities {
		v := doc.Value[i]
		if v.Name != e.EntitySet || v.Kind != "EntitySet" || v.URL != e.EntitySet {
			t.Errorf("value[%d] = %+v, want %s", i, v, e.EntitySet)
		}
	}
	if !bytes.HasPrefix(b.Bytes(), []byte(`{"@odata.context":"https://api.businesscentral.dynamics.com/v2.0/t&1/Production/api/v2.0/$metadata","value":[{"name":"companies","kind":"EntitySet","url":"companies"},`)) {
		t.Errorf("unexpected prefix: %.200s", b.String())
	}

	var empty bytes.Buffer
	if err := ServiceDocument(&empty, "https://h/api/v2.0", nil); err != nil || empty.String() != `{"@odata.context":"https://h/api/v2.0/$metadata","value":[]}` {
		t.Errorf("empty list: %v %s", err, empty.String())
	}
	cust, _ := s.EntitySet("customers")
	for name, call := range map[string]func() error{
		"empty base": func() error { return ServiceDocument(&bytes.Buffer{}, "/", s.Entities) },
		"nil entity": func() error { return ServiceDocument(&bytes.Buffer{}, "https://h", []*bcschema.Entity{nil}) },
		"duplicate":  func() error { return ServiceDocument(&bytes.Buffer{}, "https://h", []*bcschema.Entity{cust, cust}) },
		"nil writer": func() error { return ServiceDocument(nil, "https://h", s.Entities) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func BenchmarkMetadata(b *testing.B) {
	s := bcschema.MustLoad()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Metadata(&buf, s, s.Entities, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

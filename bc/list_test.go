package bc

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

func TestListFollowsNextLinkVerbatim(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	var pages []*Page
	for p, err := range c.Pages(t.Context(), ref, &Query{PageSize: 7, Select: []string{"id", "number", "lastModifiedDateTime"}}) {
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
	}
	want := e.emu.Count(e.emu.DemoCompanyRef(), "customers")
	n := 0
	ids := map[string]bool{}
	for _, p := range pages {
		n += len(p.Records)
		for _, r := range p.Records {
			ids[r.ID] = true
		}
	}
	if n != want || len(ids) != want || len(pages) != (want+6)/7 {
		t.Fatalf("%d records (%d distinct) in %d pages, want %d in %d", n, len(ids), len(pages), want, (want+6)/7)
	}
	reqs := e.requests()
	for i, r := range reqs {
		if strings.Contains(r.RequestURI, "$top") {
			t.Errorf("request %d pages with $top: %s", i, r.RequestURI)
		}
		if r.Header.Get("Prefer") != "odata.maxpagesize=7" || r.Header.Get("Data-Access-Intent") != "ReadOnly" {
			t.Errorf("request %d headers: Prefer %q, Data-Access-Intent %q", i, r.Header.Get("Prefer"), r.Header.Get("Data-Access-Intent"))
		}
		if i == 0 {
			continue
		}
		// Each later request is exactly the previous page's nextLink.
		if link := pages[i-1].NextLink; !strings.HasSuffix(link, r.RequestURI) || !strings.HasPrefix(link, e.sb.URL) {
			t.Errorf("request %d = %s, previous nextLink = %s", i, r.RequestURI, link)
		}
	}
	// Resuming from a saved link reads the rest.
	rest := 0
	for p, err := range c.PagesFrom(t.Context(), pages[len(pages)-2].NextLink, &Query{PageSize: 7}) {
		if err != nil {
			t.Fatal(err)
		}
		rest += len(p.Records)
	}
	if rest != len(pages[len(pages)-1].Records) {
		t.Errorf("PagesFrom read %d records, want %d", rest, len(pages[len(pages)-1].Records))
	}
	// NextPage by hand.
	first, err := c.ListPage(t.Context(), ref, &Query{PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.NextPage(t.Context(), first.NextLink, &Query{PageSize: 20})
	if err != nil || len(second.Records) != 20 || second.Records[0].ID == first.Records[0].ID {
		t.Errorf("NextPage: %v", err)
	}
}

func TestListRefusesTop(t *testing.T) {
	t.Parallel()
	c := newOffline(t)
	for _, err := range c.List(t.Context(), Set(companyID, "customers"), &Query{Top: 10}) {
		if !errors.Is(err, errTopOnCrawl) {
			t.Errorf("err = %v", err)
		}
	}
	for _, err := range c.List(t.Context(), Ref{Path: "customers"}, nil) {
		if err == nil || !strings.Contains(err.Error(), "CompanyID") {
			t.Errorf("err = %v", err)
		}
	}
}

func TestListStopsWhenTheConsumerStops(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	n := 0
	for _, err := range c.List(t.Context(), e.set("customers"), &Query{PageSize: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 7 {
			break
		}
	}
	if got := e.bcRequests.Load(); got != 2 {
		t.Errorf("%d requests for 7 records in pages of 5", got)
	}
	if s := c.Limiter().Stats(); s.InFlight != 0 {
		t.Errorf("a slot is still held after the loop: %+v", s)
	}
}

func TestListShrinksPagesAfterTimeouts(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	var logs testlog.Buffer
	c := e.client(Options{Logger: logs.Logger()})
	e.addFaults("seq:bc=504,504,ok")
	recs := collect(t, c.List(t.Context(), e.set("accounts"), nil))
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "accounts"); len(recs) != want {
		t.Errorf("%d accounts, want %d", len(recs), want)
	}
	var prefer []string
	for _, r := range e.requests() {
		prefer = append(prefer, r.Header.Get("Prefer"))
	}
	if len(prefer) != 3 || prefer[0] != "" || prefer[1] != "odata.maxpagesize=10000" || prefer[2] != "odata.maxpagesize=5000" {
		t.Errorf("Prefer headers %q: want none, then halved sizes", prefer)
	}
	if !strings.Contains(logs.String(), "smaller pages") {
		t.Error("shrinking was not logged")
	}
}

func TestFilterInjectionAgainstBC(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	ref := e.set("customers")
	first, err := c.ListPage(t.Context(), ref, &Query{Top: 1})
	if err != nil {
		t.Fatal(err)
	}
	var cu Customer
	_ = first.Records[0].Decode(&cu)
	for _, attack := range []string{
		cu.DisplayName + "' or displayName ne '",
		"x') or (displayName ne 'x",
		"x'&$filter=displayName ne 'x",
	} {
		p, err := c.ListPage(t.Context(), ref, &Query{Filter: Eq("displayName", attack)})
		if err != nil {
			t.Fatalf("%q: %v", attack, err)
		}
		if len(p.Records) != 0 {
			t.Errorf("%q matched %d customers: the value changed the filter", attack, len(p.Records))
		}
	}
	p, err := c.ListPage(t.Context(), ref, &Query{Filter: And(Eq("displayName", cu.DisplayName), Eq("id", GUID(cu.ID)))})
	if err != nil || len(p.Records) != 1 {
		t.Errorf("exact filter: %v records, %v", p, err)
	}
}

func TestCustomAndAutomationAPIs(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	c := e.client(Options{})
	inv := Ref{API: CustomAPI("contoso", "inventory", "v1.0"), CompanyID: e.companyID(), Path: "inventoryLevels"}
	recs := collect(t, c.List(t.Context(), inv, &Query{PageSize: 50}))
	if len(recs) == 0 || recs[0].ID == "" || recs[0].LastModified.IsZero() {
		t.Fatalf("custom API: %d records, first %+v", len(recs), recs)
	}
	got, err := c.Get(t.Context(), inv, recs[0].ID, nil)
	if err != nil || got.ETag != recs[0].ETag {
		t.Errorf("custom API Get: %v", err)
	}
	// The scenario's app has API.ReadWrite.All only; the automation API needs
	// Automation.ReadWrite.All, so BC turns it away: the route is right, the role missing.
	_, err = c.ListPage(t.Context(), Ref{API: AutomationAPI, Path: "automationCompanies"}, nil)
	if !IsAuth(err) {
		t.Errorf("automation API without its role: %v", err)
	}
	if _, err := c.ListPage(t.Context(), Ref{API: CustomAPI("contoso", "nothing", "v1.0"), CompanyID: e.companyID(), Path: "x"}, nil); !IsNotFound(err) {
		t.Errorf("unknown custom API: %v", err)
	}
	if reqs := e.requests(); reqs[len(reqs)-1].Method != http.MethodGet {
		t.Error("unexpected method")
	}
}

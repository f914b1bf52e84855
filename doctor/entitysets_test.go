package doctor_test

import (
	"context"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/permset"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// recorder notes the entity set of every BC request.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	sets []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/companies(") {
		r.mu.Lock()
		r.sets = append(r.sets, path.Base(req.URL.Path))
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

// TestOneListOfEntitySets holds equal, for the defaults and for chosen sets, the sets the
// wizard pre-selects (the defaults), the doctor reads, the permission set grants and the
// sync replicates (issue 15).
func TestOneListOfEntitySets(t *testing.T) {
	t.Parallel()
	sb := emulatortest.Start(t, emulator.Config{Scenario: emulator.ScenarioOK})
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "replica.db"), secret.GenerateKeyring(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sy, err := syncer.New(syncer.Options{Store: db})
	if err != nil {
		t.Fatal(err)
	}
	schema := bcschema.MustLoad()
	// synced lists what a sync of chosen reads: its targets and the lines each expands.
	synced := func(chosen []string) []string {
		if len(chosen) == 0 {
			chosen = doctor.DefaultEntities // service.Targets' default
		}
		ts, err := sy.Targets("c", "co", chosen)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tg := range ts {
			ent, _ := schema.EntitySet(tg.EntitySet)
			out = append(out, tg.EntitySet)
			for _, ch := range schema.Children(ent) {
				out = append(out, ch.EntitySet)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}

	if got, want := sorted(doctor.DefaultEntities), synced(nil); !slices.Equal(got, want) {
		t.Errorf("the wizard pre-selects %q, the sync of them reads %q", got, want)
	}
	for _, chosen := range [][]string{nil, {"items"}, {"salesInvoiceLines", "employees"}, {"customers", "salesOrders"}} {
		want := synced(chosen)

		rec := &recorder{next: sb.Client().Transport}
		cfg := sandboxConfig(sb)
		cfg.Entities = chosen
		cfg.HTTPClient = &http.Client{Transport: rec}
		if rep := doctor.Run(context.Background(), cfg); !rep.OK {
			t.Fatalf("%q: doctor failed: %s", chosen, text(rep))
		}
		if got := sorted(rec.sets); !slices.Equal(got, want) {
			t.Errorf("%q: the doctor reads %q, the sync %q", chosen, got, want)
		}

		read := chosen
		if read == nil {
			read = doctor.DefaultEntities // as the wizard and `permission-set` default
		}
		granted, err := permset.Permissions(read, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range want {
			need, err := permset.Permissions([]string{set}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tb := range need {
				if !slices.ContainsFunc(granted, func(g permset.Table) bool { return g.Name == tb.Name && strings.Contains(g.Perms, "R") }) {
					t.Errorf("%q: the permission set lacks read on %s, which the sync of %s needs", chosen, tb.Name, set)
				}
			}
		}
	}
}

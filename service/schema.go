package service

import (
	"context"

	"github.com/bizzjoiner/bcconnector/bc"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/syncer"
)

// SchemaView is a connection's discovered schema: what every API the app can see offers
// (read live from BC's route listing and $metadata), and the versions of the sets it
// replicates.
type SchemaView struct {
	APIs   []SchemaAPI       `json:"apis"`
	Failed map[string]string `json:"failed,omitempty"` // API route → why its $metadata could not be used
}

// SchemaAPI is one API of a SchemaView.
type SchemaAPI struct {
	// Route is the API's route below api/: "v2.0", "contoso/inventory/v1.0".
	Route      string      `json:"route"`
	EntitySets []SchemaSet `json:"entitySets"`
}

// SchemaSet is one entity set of an API, as $metadata describes it, with what the
// connection replicates of it.
type SchemaSet struct {
	bc.EntitySetSchema
	// Pick is the name to list in the connection's entity sets to replicate it:
	// "customers", or "contoso/inventory/v1.0/inventoryLevels" for a custom API's set;
	// empty when it cannot be replicated (no key, or a name the replica cannot carry).
	Pick string `json:"pick,omitempty"`
	// Replicas are the stored schema versions of the set, one per replicated company.
	Replicas []SchemaReplica `json:"replicas,omitempty"`
}

// SchemaReplica is the stored schema version of a replicated set in one company.
type SchemaReplica struct {
	CompanyID string `json:"companyId"`
	// Replica is the replica's (and change feed's) entity set name.
	Replica string `json:"replica"`
	store.StoredSchema
}

// Schema discovers a connection's APIs (bc.Client.Discover: the standard API with the
// fields table extensions added, and every custom API) and joins the stored schema
// versions of the sets it replicates.
func (s *Impl) Schema(ctx context.Context, id string) (SchemaView, error) {
	c, err := s.Conn(ctx, id)
	if err != nil {
		return SchemaView{}, err
	}
	d, err := c.BC.Discover(ctx, &bc.DiscoverOptions{Static: s.schema})
	if err != nil {
		return SchemaView{}, err
	}
	stored, err := s.st.ReplicaSchemas(ctx, c.Connection.ID)
	if err != nil {
		return SchemaView{}, err
	}
	byReplica := map[string][]SchemaReplica{}
	for _, st := range stored {
		byReplica[st.Key.EntitySet] = append(byReplica[st.Key.EntitySet], SchemaReplica{CompanyID: st.Key.CompanyID, Replica: st.Key.EntitySet, StoredSchema: st})
	}
	var out SchemaView
	for api, why := range d.Failed {
		if out.Failed == nil {
			out.Failed = map[string]string{}
		}
		out.Failed[api.Route()] = why
	}
	for _, m := range d.APIs {
		a := SchemaAPI{Route: m.API.Route(), EntitySets: make([]SchemaSet, 0, len(m.EntitySets))}
		for _, es := range m.EntitySets {
			set := SchemaSet{EntitySetSchema: es}
			replica := es.Name
			if m.API != bc.StandardAPI {
				replica = ""
				if name, err := syncer.ReplicaName(m.API, es.Name); err == nil {
					replica = name
				}
			}
			if replica != "" && len(es.Key) > 0 {
				set.Pick = es.Name
				if m.API != bc.StandardAPI {
					set.Pick = m.API.Route() + "/" + es.Name
				}
			}
			set.Replicas = byReplica[replica]
			a.EntitySets = append(a.EntitySets, set)
		}
		out.APIs = append(out.APIs, a)
	}
	return out, nil
}

package bc

import (
	"context"
	"fmt"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
)

// Discovery is what an environment's APIs offer, read from their $metadata: the standard
// API v2.0 (with the fields table extensions added marked Extension) and every custom API
// the app can see.
type Discovery struct {
	// Routes are the API routes the environment listed (APIRoutes).
	Routes []APIRoute `json:"routes"`
	// APIs are the parsed documents: the standard API first, then the custom APIs in
	// route order. The automation API is left out (it is for administration, and needs
	// another role).
	APIs []*Metadata `json:"apis"`
	// Failed names the APIs whose $metadata could not be read or used, with why; the
	// others are still discovered.
	Failed map[API]string `json:"failed,omitempty"`
}

// DiscoverOptions tunes Discover.
type DiscoverOptions struct {
	// Static is the API v2.0 schema the standard API's fields are compared with to find
	// extension fields; default the embedded one (bcschema.Load).
	Static *bcschema.Schema
	// APIs, when set, limits discovery to these APIs (the route listing is still read to
	// check they exist); default every API listed.
	APIs []API
}

// Discover lists the environment's API routes and reads the $metadata of the standard API
// and of every custom API (bc-entra-facts §4.1), marking as Extension every field of a
// standard entity set that the static API v2.0 schema does not have: a field a table
// extension added (it is in $metadata and in the JSON). An API whose document fails is
// named in Failed with the reason; the error is only for the listing itself.
func (c *Client) Discover(ctx context.Context, opt *DiscoverOptions) (*Discovery, error) {
	var o DiscoverOptions
	if opt != nil {
		o = *opt
	}
	if o.Static == nil {
		var err error
		if o.Static, err = bcschema.Load(); err != nil {
			return nil, err
		}
	}
	routes, err := c.APIRoutes(ctx)
	if err != nil {
		return nil, fmt.Errorf("bc: discover: list the API routes: %w", err)
	}
	d := &Discovery{Routes: routes}
	var apis []API
	for _, r := range routes {
		api := r.API()
		switch {
		case api == AutomationAPI:
			continue
		case r.Publisher == "" && api != StandardAPI:
			continue // beta and older Microsoft routes
		case len(o.APIs) > 0 && !containsAPI(o.APIs, api):
			continue
		}
		if api == StandardAPI {
			apis = append([]API{api}, apis...)
		} else {
			apis = append(apis, api)
		}
	}
	for _, want := range o.APIs {
		if !containsAPI(apis, want) {
			return nil, fmt.Errorf("bc: discover: the environment lists no API %s; install the extension that publishes it or pick one of the listed routes", want.path())
		}
	}
	for _, api := range apis {
		m, err := c.Metadata(ctx, api)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			if d.Failed == nil {
				d.Failed = map[API]string{}
			}
			d.Failed[api] = err.Error()
			continue
		}
		if api == StandardAPI {
			MarkExtensions(m, o.Static)
		}
		d.APIs = append(d.APIs, m)
	}
	return d, nil
}

// MarkExtensions sets Extension on every field of m's entity sets that static's entity set
// of the same name lacks. Sets static does not know are left alone.
func MarkExtensions(m *Metadata, static *bcschema.Schema) {
	for i := range m.EntitySets {
		s := &m.EntitySets[i]
		ent, ok := static.EntitySet(s.Name)
		if !ok {
			continue
		}
		for j := range s.Fields {
			if _, known := ent.Field(s.Fields[j].Name); !known {
				s.Fields[j].Extension = true
			}
		}
	}
}

// API returns the document of an API.
func (d *Discovery) API(api API) (*Metadata, bool) {
	for _, m := range d.APIs {
		if m.API.path() == api.path() {
			return m, true
		}
	}
	return nil, false
}

func containsAPI(list []API, a API) bool {
	for _, b := range list {
		if b.path() == a.path() {
			return true
		}
	}
	return false
}

// Route returns an API's route below api/: "v2.0", "contoso/inventory/v1.0".
func (a API) Route() string { return strings.TrimPrefix(a.path(), "api/") }

// Entity turns a discovered entity set into the schema entity the replica is made from:
// its fields with their EDM types (enums as Edm.String, as on the wire, bc-entra-facts
// §4.4), its key and read-only flags. Streams are kept (the replica skips them).
func (s *EntitySetSchema) Entity() *bcschema.Entity {
	e := &bcschema.Entity{EntitySet: s.Name, Entity: s.EntityType, Key: append([]string(nil), s.Key...), Scope: "company"}
	if i := strings.LastIndexByte(s.EntityType, '.'); i >= 0 {
		e.Entity = s.EntityType[i+1:]
	}
	for _, f := range s.Fields {
		bf := &bcschema.Field{Name: f.Name, Type: f.Type, MaxLength: f.MaxLength, ReadOnly: f.ReadOnly}
		if !strings.HasPrefix(f.Type, "Edm.") {
			bf.EdmType, bf.Type, bf.EnumValues = f.Type, bcschema.TypeString, f.EnumValues
		}
		e.Fields = append(e.Fields, bf)
	}
	// Index the fields (Entity.Field, HasLastModified); names were checked unique by
	// ParseMetadata, so this cannot fail for a parsed set.
	if s, err := bcschema.FromEntities([]*bcschema.Entity{e}); err == nil {
		e, _ = s.EntitySet(e.EntitySet)
	}
	return e
}

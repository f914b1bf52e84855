package emulator

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/bizzjoiner/bcconnector/bcschema"
	"github.com/bizzjoiner/bcconnector/emulator/csdl"
)

// serveOData dispatches a request below the API root (bc-entra-facts §4.1).
func (e *Emulator) serveOData(w http.ResponseWriter, r *http.Request, rc *requestContext, rest []string) {
	if r.Header.Get("Data-Access-Intent") != "" && r.Method != http.MethodGet &&
		strings.EqualFold(r.Header.Get("Data-Access-Intent"), "ReadOnly") {
		// §4.6: ReadOnly intent on a write is an error.
		writeError(w, errf(http.StatusBadRequest, codeBadRequest, "The request cannot be processed with Data-Access-Intent 'ReadOnly' for method '%s'.", r.Method))
		return
	}
	segs, aerr := parseSegments(rest)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if len(segs) == 0 {
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method, "service document", "Entity"))
			return
		}
		e.serveServiceDocument(w, rc)
		return
	}
	switch first := segs[0]; {
	case first.name == "$metadata":
		e.serveMetadata(w, rc)
	case first.name == "apicategoryroutes" && rc.kind == apiStandard:
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method, "apicategoryroutes", "Collection"))
			return
		}
		e.serveRoutes(w, rc)
	case first.name == "$batch":
		if r.Method != http.MethodPost {
			writeError(w, methodNotAllowed(r.Method, "$batch", "Collection"))
			return
		}
		e.serveBatch(w, r, rc)
	case first.name == "subscriptions" && rc.kind != apiAutomation:
		id := ""
		if first.hasKey {
			id = first.key
		}
		if len(segs) > 1 {
			writeError(w, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", segs[1].name))
			return
		}
		rc.env.webhooks.Handle(w, r, rc.appID, rc.prefix, id, func(w http.ResponseWriter, status int, code, message string) {
			writeError(w, &apiError{Status: status, Code: code, Message: message})
		})
	case first.name == "companies" || first.name == "automationCompanies":
		e.serveCompanies(w, r, rc, segs)
	default:
		// An entity set addressed at the root with ?company= (§4.1).
		c, aerr := e.companyFromQuery(rc, r)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		t, aerr := e.resolveEntityPath(rc, c, segs)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		e.serveTarget(w, r, rc, t)
	}
}

// companyFromQuery resolves ?company= (an id, or a name as older clients send) or, in a
// $batch, the Company header that carries the name (§4.1, §6).
func (e *Emulator) companyFromQuery(rc *requestContext, r *http.Request) (*company, *apiError) {
	v := r.URL.Query().Get("company")
	if v == "" {
		v = r.Header.Get("Company")
	}
	if v == "" {
		// §3.3 Internal_CompanyNotFound: no default company for API calls.
		return nil, errf(http.StatusBadRequest, codeCompanyNotFound, "Cannot process the request because the default company cannot be found. You can specify a default company in the service configuration file, or specify one for each tenant, or you can add a query string in the form of company=[name].")
	}
	if c := rc.env.companyByID(strings.Trim(v, "{}")); c != nil {
		return c, nil
	}
	if c := rc.env.companyByName(v, e.cfg.CaseInsensitiveCompanyNames); c != nil {
		return c, nil
	}
	return nil, errf(http.StatusBadRequest, codeCompanyNotFound, "The company '%s' does not exist.", v)
}

// serveCompanies handles companies, companies({id}) and everything below a company.
func (e *Emulator) serveCompanies(w http.ResponseWriter, r *http.Request, rc *requestContext, segs []pathSeg) {
	first := segs[0]
	if !first.hasKey {
		if len(segs) > 1 && segs[1].name != "$count" {
			writeError(w, errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", segs[1].name))
			return
		}
		if r.Method != http.MethodGet {
			// §3.3: companies is read-only.
			writeError(w, methodNotAllowed(r.Method, "companies", "Collection"))
			return
		}
		e.listCompanies(w, r, rc, len(segs) > 1)
		return
	}
	c := rc.env.companyByID(first.key)
	if c == nil {
		// §3.4: unknown company id → 404 (code UNCONFIRMED).
		writeError(w, errf(http.StatusNotFound, codeNotFound, "The company with id '%s' does not exist.", first.key))
		return
	}
	if len(segs) == 1 {
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method, "companies", "Entity"))
			return
		}
		e.getCompany(w, r, rc, c)
		return
	}
	t, aerr := e.resolveEntityPath(rc, c, segs[1:])
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	e.serveTarget(w, r, rc, t)
}

// serveTarget runs the method on an addressed entity set, entity, action or count.
func (e *Emulator) serveTarget(w http.ResponseWriter, r *http.Request, rc *requestContext, t *target) {
	switch {
	case t.action != "":
		if r.Method != http.MethodPost {
			writeError(w, methodNotAllowed(r.Method, t.ent.EntitySet, "Entity"))
			return
		}
		e.serveAction(w, r, rc, t)
	case t.count:
		if r.Method != http.MethodGet {
			writeError(w, methodNotAllowed(r.Method, t.ent.EntitySet, "Collection"))
			return
		}
		e.serveCount(w, r, rc, t)
	case r.Method == http.MethodGet:
		if t.single {
			e.serveGetOne(w, r, rc, t)
		} else {
			e.serveList(w, r, rc, t)
		}
	case r.Method == http.MethodPost && !t.single:
		e.serveCreate(w, r, rc, t)
	case r.Method == http.MethodPatch && t.single:
		e.servePatch(w, r, rc, t)
	case r.Method == http.MethodDelete && t.single:
		e.serveDelete(w, r, rc, t)
	default:
		kind := "Collection"
		if t.single {
			kind = "Entity"
		}
		writeError(w, methodNotAllowed(r.Method, t.ent.EntitySet, kind))
	}
}

// methodNotAllowed is BC's answer to a verb the page does not allow (§3.3).
func methodNotAllowed(method, set, kind string) *apiError {
	return errf(http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"'%s' requests for '%s' of EdmType '%s' are not allowed within Dynamics 365 Business Central OData web services.", method, set, kind)
}

// entitySet finds an entity set of the addressed API.
func (e *Emulator) entitySet(rc *requestContext, name string) (*bcschema.Entity, bool) {
	switch rc.kind {
	case apiCustom:
		for _, ent := range rc.custom.entities {
			if ent.EntitySet == name {
				return ent, true
			}
		}
		return nil, false
	case apiAutomation:
		if name == automationCompaniesEntity.EntitySet {
			return automationCompaniesEntity, true
		}
		return nil, false
	}
	return e.sch().EntitySet(name)
}

// tableOf returns the table of an entity set in a company.
func (e *Emulator) tableOf(c *company, ent *bcschema.Entity) *table {
	return c.table(ent, func() baseSource {
		if src := customSource(e, c, ent); src != nil {
			return src
		}
		return e.newSource(c, ent)
	})
}

func (e *Emulator) apiEntities(rc *requestContext) []*bcschema.Entity {
	switch rc.kind {
	case apiCustom:
		return rc.custom.entities
	case apiAutomation:
		return []*bcschema.Entity{automationCompaniesEntity}
	}
	return e.sch().Entities
}

func (e *Emulator) serveServiceDocument(w http.ResponseWriter, rc *requestContext) {
	var buf bytes.Buffer
	if err := csdl.ServiceDocument(&buf, rc.baseURL, e.apiEntities(rc)); err != nil {
		writeError(w, errf(http.StatusInternalServerError, codeServerError, "%v", err))
		return
	}
	writeJSONHeaders(w)
	_, _ = w.Write(buf.Bytes())
}

func (e *Emulator) serveMetadata(w http.ResponseWriter, rc *requestContext) {
	var body []byte
	sch := e.sch()
	if rc.kind == apiStandard {
		// Rendered once per schema: AddExtensionField makes a new one.
		e.metadataMu.Lock()
		if e.metadataFor != sch {
			var buf bytes.Buffer
			if err := csdl.Metadata(&buf, sch, sch.Entities, csdl.Options{}); err == nil {
				e.metadata, e.metadataFor = buf.Bytes(), sch
			}
		}
		body = e.metadata
		e.metadataMu.Unlock()
	} else {
		var buf bytes.Buffer
		if err := csdl.Metadata(&buf, sch, e.apiEntities(rc), csdl.Options{}); err != nil {
			writeError(w, errf(http.StatusInternalServerError, codeServerError, "%v", err))
			return
		}
		body = buf.Bytes()
	}
	if body == nil {
		writeError(w, errf(http.StatusInternalServerError, codeServerError, "metadata unavailable"))
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("OData-Version", "4.0")
	_, _ = w.Write(body)
}

// writeJSONHeaders sets BC's response headers for OData JSON (§4.4).
func writeJSONHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal")
	h.Set("OData-Version", "4.0")
	if h.Get("ms-correlation-x") == "" {
		h.Set("ms-correlation-x", newGUID())
	}
}

package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/service"
)

// Express setup in the wizard: the customer's tenant, environment and company make an
// express connection; its page shows the admin-consent link (Step 5, answered at
// /consent/callback), the Step 6 values and the doctor, then starts the sync.

// expressStartData is the express form.
type expressStartData struct {
	Offered                            bool
	Tenant, Environment, Company, Name string
	// Others are more companies, one per line; All syncs every company of the
	// environment, also companies added later.
	Others   string
	All      bool
	Problems []string
}

// expressData is an express connection's page.
type expressData struct {
	Conn    service.ConnectionView
	Report  *doctor.Report
	Sandbox bool
}

func (h *handler) expressSvc() (service.ExpressService, bool) {
	x, ok := h.svc.(service.ExpressService)
	return x, ok
}

// expressOffered says whether an express app is configured.
func (h *handler) expressOffered(ctx context.Context) bool {
	x, ok := h.expressSvc()
	if !ok {
		return false
	}
	st, err := x.ExpressStatus(ctx)
	return err == nil && st.Offered
}

func (h *handler) expressStart(w http.ResponseWriter, r *http.Request) {
	d := expressStartData{Offered: h.expressOffered(r.Context()), Environment: "Production"}
	if h.sandboxInput != nil {
		d.Tenant, d.Environment, d.Company = h.sandboxInput.TenantID, h.sandboxInput.Environment, h.sandboxInput.Company
	}
	h.render(w, r, http.StatusOK, "express_start", page{Title: "Express setup", Nav: "wizard", Data: d})
}

func (h *handler) expressCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.PostForm
	d := expressStartData{Offered: true, Tenant: strings.TrimSpace(f.Get("tenant")), Environment: strings.TrimSpace(f.Get("environment")),
		Company: strings.TrimSpace(f.Get("company")), Name: strings.TrimSpace(f.Get("name")), Others: f.Get("companies"), All: f.Get("allCompanies") == "on"}
	x, ok := h.expressSvc()
	if !ok {
		h.fail(w, r, service.ErrExpressOff)
		return
	}
	in := h.endpoints.apply(service.ConnectionInput{Name: d.Name, TenantID: d.Tenant, Environment: d.Environment, Company: d.Company})
	if others := companyLines(d.Others); len(others) > 0 {
		in.Companies = append([]string{d.Company}, others...)
	}
	if d.All {
		in.AllCompanies = &d.All
	}
	v, err := x.CreateExpress(r.Context(), in)
	if err != nil {
		if errors.Is(err, service.ErrExpressOff) {
			d.Offered = false
		}
		for _, fe := range fieldErrors(err) {
			d.Problems = append(d.Problems, fe.Field+": "+fe.Problem+". Fix: "+fe.Fix)
		}
		if len(d.Problems) == 0 {
			d.Problems = []string{err.Error()}
		}
		h.render(w, r, http.StatusUnprocessableEntity, "express_start", page{Title: "Express setup", Nav: "wizard", Data: d})
		return
	}
	http.Redirect(w, r, "/wizard/express/"+url.PathEscape(v.ID), http.StatusSeeOther)
}

// expressConn loads an express connection for its page, or answers 404.
func (h *handler) expressConn(w http.ResponseWriter, r *http.Request) (service.ConnectionView, bool) {
	v, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return v, false
	}
	if v.Express == nil {
		http.Redirect(w, r, "/connections/"+url.PathEscape(v.ID), http.StatusSeeOther)
		return v, false
	}
	return v, true
}

func (h *handler) expressPage(w http.ResponseWriter, r *http.Request) {
	v, ok := h.expressConn(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "express", page{Title: "Express setup", Nav: "wizard", Flash: expressFlash(r.URL.Query().Get("done")),
		Data: expressData{Conn: v, Sandbox: h.sandboxRegister != nil}})
}

func expressFlash(done string) string {
	switch done {
	case "registered":
		return "The app is registered in the sandbox's Business Central (Step 6)."
	}
	return ""
}

// expressCheck runs the doctor on the express connection and shows its verdict on the page.
func (h *handler) expressCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := h.expressConn(w, r)
	if !ok {
		return
	}
	rep, err := h.svc.RunDoctor(r.Context(), v.ID, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if v, err = h.svc.GetConnection(r.Context(), v.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "express", page{Title: "Express setup", Nav: "wizard", Data: expressData{Conn: v, Report: rep, Sandbox: h.sandboxRegister != nil}})
}

// expressSync starts the first sync of an express connection whose check passed.
func (h *handler) expressSync(w http.ResponseWriter, r *http.Request) {
	v, ok := h.expressConn(w, r)
	if !ok {
		return
	}
	if err := h.svc.Sync(context.WithoutCancel(r.Context()), v.ID, nil, false); err != nil && !errors.Is(err, service.ErrSyncQueued) {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(v.ID), http.StatusSeeOther)
}

// expressSandboxRegister does Step 6 in the sandbox, which has no Business Central UI.
func (h *handler) expressSandboxRegister(w http.ResponseWriter, r *http.Request) {
	if h.sandboxRegister == nil {
		h.notFound(w, r)
		return
	}
	v, ok := h.expressConn(w, r)
	if !ok {
		return
	}
	if err := h.sandboxRegister(v.TenantID, v.Environment, v.ClientID); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/wizard/express/"+url.PathEscape(v.ID)+"?done=registered", http.StatusSeeOther)
}

// expressWarning is the dashboard's warning to the operator about the express app's
// credential: from 30 days before its end date (guide.ExpiryLevel's levels).
func (h *handler) expressWarning(ctx context.Context) string {
	x, ok := h.expressSvc()
	if !ok {
		return ""
	}
	st, err := x.ExpressStatus(ctx)
	if err != nil || !st.Offered || st.Expiry == "" {
		return ""
	}
	fix := " Create a new one in Bizzjoiner's own directory and set it with `bcconnector express-app set` (the operator's task: customers have nothing to do)."
	if st.Expiry == guide.ExpiryExpired {
		return "The credential of Bizzjoiner's express app expired on " + st.EndDate.Format("2006-01-02") + ": every express connection fails." + fix
	}
	return fmt.Sprintf("The credential of Bizzjoiner's express app expires in %d days (%s).%s", st.DaysLeft, st.EndDate.Format("2006-01-02"), fix)
}

// companyLines reads companies typed one per line (names keep their &, ' and spaces).
func companyLines(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

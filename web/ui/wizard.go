package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/permset"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
)

// Form field names and the guide's names for them (guide.FieldError.Field).
var fieldNames = map[string]string{
	"tenant":      "tenant ID",
	"client":      "client ID",
	"secret":      "client secret",
	"endDate":     "secret end date",
	"environment": "environment",
	"company":     "company",
}

// stepFields are the form fields each wizard screen asks for (0 is "Before you begin").
var stepFields = map[int][]string{
	0: {"environment", "company"},
	2: {"tenant", "client"},
	3: {"secret", "endDate"},
}

// lastStep is the number of guide steps the wizard walks.
const lastStep = 6

// field is one input as a template renders it: never the secret's value.
type field struct {
	Name, Label, Value, Hint string
	Problem, Fix, Notice     string
	Step                     string
}

// wizardData is what every wizard view gets.
type wizardData struct {
	Draft     string
	Step      int
	Steps     []stepLink
	In        service.ConnectionInput // Secret and Certificate always cleared
	HasSecret bool
	// CertificateKept says how long an idle draft keeps its generated certificate.
	CertificateKept string
	// Certificate is what Step 3 shows of a generated certificate; nil for a secret.
	Certificate *certificateData
	// Kind is the credential Step 3 shows: "secret" or "certificate".
	Kind string
	// Uploaded: the sandbox took the certificate (Step 3's flash).
	Uploaded    bool
	CompanyName string // typed for the app name
	AppName     string
	Fields      map[string]*field
	Guide       guideValues
	ConsentURL  string
	Entities    []string
	Progress    *progressData
	Companies   [][2]string
	CompanyID   string
	// Checked are the company IDs ticked on the company step (the one the check found, or
	// what was posted); AllCompanies is its "all companies" box.
	Checked      []string
	AllCompanies bool
	ConnName     string
	Defaults     []string
	More         string
	Expired      bool
	// Connected are the stored connections to the same tenant, app and environment, by
	// the company they read (the company page marks those companies).
	Connected map[string]*existing
	// Duplicate is a stored connection that reads a checked company already;
	// DuplicateOK: the admin ticked to create another one anyway.
	Duplicate   *existing
	DuplicateOK bool
	// ExpressOffered: an express app is configured, so the first page offers express setup.
	ExpressOffered bool
}

type stepLink struct {
	N       int
	Label   string
	URL     string
	Current bool
}

// guideValues are the guide's constants, for the templates.
type guideValues struct {
	RedirectURI, AccountType, SecretDescription, APIName, ApplicationPermission,
	DelegatedTrap, BCPageName, BCAppDescription, PermissionSetName, EntraPortal string
}

var theGuide = guideValues{
	RedirectURI: guide.RedirectURI, AccountType: guide.AccountType, SecretDescription: guide.SecretDescription,
	APIName: guide.APIName, ApplicationPermission: guide.ApplicationPermission, DelegatedTrap: guide.DelegatedTrap,
	BCPageName: guide.BCPageName, BCAppDescription: guide.BCAppDescription, PermissionSetName: guide.PermissionSetName,
	EntraPortal: guide.EntraPortal,
}

func stepURL(n int, draftID string) string {
	q := ""
	if draftID != "" {
		q = "?d=" + url.QueryEscape(draftID)
	}
	if n == 0 {
		return "/wizard" + q
	}
	return fmt.Sprintf("/wizard/step/%d%s", n, q)
}

// wizard builds the view data of a draft; the secret is never copied into it.
// keptFor says a draft's life in words: "24 hours", "90 minutes".
func keptFor(d time.Duration) string {
	if d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

func (h *handler) wizard(d *draft, step int) *wizardData {
	in := d.snapshot()
	hasSecret := in.Secret != ""
	cert := certificateOf(in.Certificate, d.ID, h.sandboxUpload != nil)
	in.Secret, in.Certificate = "", nil
	d.mu.Lock()
	company := d.company
	d.mu.Unlock()
	wd := &wizardData{
		Draft: d.ID, Step: step, In: in, HasSecret: hasSecret, CompanyName: company, Certificate: cert, Kind: service.CredentialSecret,
		Guide: theGuide, Fields: map[string]*field{}, Entities: in.Entities, CertificateKept: keptFor(h.drafts.certTTL),
	}
	if wd.Entities == nil {
		wd.Entities = doctor.DefaultEntities
	}
	if cert != nil {
		wd.Kind = service.CredentialCertificate
	}
	env := in.Environment
	if env == "" {
		env = "Production"
	}
	if company == "" {
		company = "Company X"
	}
	wd.AppName = guide.DisplayName(env, company)
	labels := []string{"Before you begin", "Register", "Copy the IDs", "Client secret", "API permission", "Admin consent", "Business Central", "Check"}
	for n, l := range labels {
		u := stepURL(n, d.ID)
		if n == 7 {
			u = "/wizard/check?d=" + url.QueryEscape(d.ID)
		}
		wd.Steps = append(wd.Steps, stepLink{N: n, Label: l, URL: u, Current: n == step})
	}
	if in.TenantID != "" && in.ClientID != "" {
		wd.ConsentURL = guide.AdminConsentURL(h.authorityHost, in.TenantID, in.ClientID)
	}
	vals := map[string]string{
		"tenant": in.TenantID, "client": in.ClientID, "endDate": in.SecretEndDate,
		"environment": in.Environment, "company": company,
	}
	if wd.CompanyName == "" {
		vals["company"] = ""
	}
	for name := range fieldNames {
		wd.Fields[name] = &field{Name: name, Label: fieldNames[name], Value: vals[name]}
	}
	return wd
}

// draftFor returns the draft named by the request's "d" value, or nil.
func (h *handler) draftFor(r *http.Request) *draft {
	id := r.FormValue("d")
	if id == "" {
		return nil
	}
	return h.drafts.get(id)
}

// newDraft starts a wizard draft, with the sandbox's values in sandbox mode.
func (h *handler) newDraft() *draft {
	d := h.drafts.create()
	if h.sandboxInput != nil {
		d.mu.Lock()
		d.in, d.company = *h.sandboxInput, h.sandboxInput.Company
		d.in.Company = ""
		d.mu.Unlock()
	}
	return d
}

// wizardStart is "Before you begin": the prerequisites, and the environment and company
// that name the app.
func (h *handler) wizardStart(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if d == nil {
		d = h.newDraft()
	}
	wd := h.wizard(d, 0)
	wd.ExpressOffered = h.expressOffered(r.Context())
	h.render(w, r, http.StatusOK, "wizard_start", page{Title: "Connect Business Central", Nav: "wizard", Data: wd})
}

func (h *handler) wizardStartPost(w http.ResponseWriter, r *http.Request) { h.saveStep(w, r, 0) }

func (h *handler) wizardStep(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > lastStep {
		h.notFound(w, r)
		return
	}
	d := h.draftFor(r)
	if d == nil {
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	wd := h.wizard(d, n)
	if n == 3 && r.URL.Query().Get("kind") == service.CredentialCertificate {
		wd.Kind = service.CredentialCertificate
	}
	if n == 3 && r.URL.Query().Get("kind") == service.CredentialSecret {
		wd.Kind = service.CredentialSecret
	}
	wd.Uploaded = n == 3 && r.URL.Query().Get("done") == "uploaded"
	h.render(w, r, http.StatusOK, fmt.Sprintf("wizard_%d", n), page{Title: fmt.Sprintf("Step %d", n), Nav: "wizard", Data: wd})
}

func (h *handler) wizardStepPost(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > lastStep {
		h.notFound(w, r)
		return
	}
	h.saveStep(w, r, n)
}

// saveStep merges the posted values into the draft, validates the fields of the step and
// either shows the step again with the problems or moves on. Hidden inputs carry every
// non-secret value, so an expired draft is recreated from the form; only the secret has
// to be typed again.
func (h *handler) saveStep(w http.ResponseWriter, r *http.Request, n int) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	d := h.draftFor(r)
	expired := false
	if d == nil {
		expired = r.PostForm.Get("d") != ""
		d = h.newDraft()
	}
	d.mu.Lock()
	set := func(name string, dst *string) {
		if v, ok := r.PostForm[name]; ok {
			*dst = strings.TrimSpace(v[0])
		}
	}
	set("tenant", &d.in.TenantID)
	set("client", &d.in.ClientID)
	set("endDate", &d.in.SecretEndDate)
	set("environment", &d.in.Environment)
	set("company", &d.company)
	if s := r.PostForm.Get("secret"); s != "" {
		// A secret typed in Step 3 replaces a certificate generated before.
		d.in.Secret, d.in.Certificate = secret.Secret(s), nil
	}
	d.mu.Unlock()

	wd := h.wizard(d, n)
	wd.Expired = expired
	fields := stepFields[n]
	if n == 3 && wd.Certificate != nil && !wd.HasSecret {
		fields = nil // the certificate was generated here; nothing was typed
	}
	bad := h.validateInto(wd, d.snapshot(), fields)
	if bad || (expired && n >= 3 && !wd.HasSecret && wd.Certificate == nil) {
		view := fmt.Sprintf("wizard_%d", n)
		if n == 0 {
			view = "wizard_start"
		}
		h.render(w, r, http.StatusUnprocessableEntity, view, page{Title: "Check the values", Nav: "wizard", Data: wd})
		return
	}
	next := stepURL(n+1, d.ID)
	if n == lastStep {
		next = "/wizard/check?d=" + url.QueryEscape(d.ID)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// validateInto runs the service's validation and attaches the problems and notices of the
// named fields to wd; it reports whether any of them has a problem.
func (h *handler) validateInto(wd *wizardData, in service.ConnectionInput, names []string) bool {
	if len(names) == 0 {
		return false
	}
	in.Company = wd.CompanyName
	notices, err := h.svc.Validate(in)
	bad := false
	for _, name := range names {
		f := wd.Fields[name]
		for _, fe := range fieldErrors(err) {
			if fe.Field == fieldNames[name] {
				if name == "company" && wd.CompanyName == "" {
					continue // the company is picked later
				}
				f.Problem, f.Fix, f.Step = fe.Problem, fe.Fix, fe.Step.String()
				bad = true
				break
			}
		}
		for _, n := range notices {
			if n.Field == fieldNames[name] {
				f.Notice = n.Message
			}
		}
	}
	return bad
}

// fieldErrors unpacks an errors.Join of *guide.FieldError (and a single one).
func fieldErrors(err error) []*guide.FieldError {
	if err == nil {
		return nil
	}
	var out []*guide.FieldError
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *guide.FieldError
		if errors.As(e, &fe) {
			out = append(out, fe)
		}
	}
	walk(err)
	return out
}

// wizardValidate answers the validation of one field as it is typed, with the same
// messages as the CLI. The form posts only that field (and its name in "field").
func (h *handler) wizardValidate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	name := r.PostForm.Get("field")
	label, ok := fieldNames[name]
	if !ok {
		http.Error(w, "unknown field", http.StatusBadRequest)
		return
	}
	v := r.PostForm.Get(name)
	f := &field{Name: name, Label: label}
	if v == "" && name == "secret" {
		h.fragment(w, http.StatusOK, "fieldmsg", f)
		return
	}
	in := service.ConnectionInput{}
	switch name {
	case "tenant":
		in.TenantID = v
	case "client":
		in.ClientID = v
	case "secret":
		in.Secret = secret.Secret(v)
	case "endDate":
		in.SecretEndDate = v
	case "environment":
		in.Environment = v
	case "company":
		in.Company = v
	}
	wd := &wizardData{Fields: map[string]*field{name: f}, CompanyName: in.Company}
	if h.validateInto(wd, in, []string{name}) || f.Notice != "" || v == "" {
		h.fragment(w, http.StatusOK, "fieldmsg", f)
		return
	}
	f.Value = "ok" // the fragment shows "looks right"; never the value itself
	h.fragment(w, http.StatusOK, "fieldmsg", f)
}

// wizardPermset downloads the least-privilege permission set of Step 6 for the draft's
// entity sets (or those given as "entity" values).
func (h *handler) wizardPermset(w http.ResponseWriter, r *http.Request) {
	sets := r.URL.Query()["entity"]
	if len(sets) == 0 {
		if d := h.draftFor(r); d != nil {
			sets = d.snapshot().Entities
		}
	}
	if len(sets) == 0 {
		sets = doctor.DefaultEntities
	}
	h.writePermset(w, r, sets, nil)
}

// writePermset answers the permission set of read and write; the tables behind custom API
// pages come from customTable parameters and customTables lines ("set=Table Name" each; a
// line with no table after '=' leaves its set not covered), and a set given only there
// is read.
func (h *handler) writePermset(w http.ResponseWriter, r *http.Request, read, write []string) {
	given := r.URL.Query()["customTable"]
	for line := range strings.SplitSeq(r.URL.Query().Get("customTables"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasSuffix(line, "=") {
			given = append(given, line)
		}
	}
	custom, err := permset.ParseCustomTables(given)
	if err != nil {
		http.Error(w, "Tables behind custom API pages: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, set := range slices.Sorted(maps.Keys(custom)) {
		if !slices.Contains(read, set) && !slices.Contains(write, set) {
			read = append(slices.Clip(read), set)
		}
	}
	var b strings.Builder
	if err := permset.Generate(&b, read, write, permset.Options{Custom: custom}); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="BizzjoinerConnector.PermissionSet.al"`)
	_, _ = w.Write([]byte(b.String()))
}

// checkTitles name the doctor's checks before they have run.
var checkOrder = []struct{ ID, Title string }{
	{doctor.CheckInput, "The values you typed"},
	{doctor.CheckToken, "A token from Entra ID (Steps 1–3)"},
	{doctor.CheckRoles, "The application permission and its consent (Steps 4–5)"},
	{doctor.CheckBCAccess, "Business Central accepts the app (Step 6)"},
	{doctor.CheckEnvironment, "The environment"},
	{doctor.CheckCompany, "The company"},
	{doctor.CheckReadAccess, "Read access to the entity sets"},
	{doctor.CheckWriteAccess, "Write access"},
	{doctor.CheckSecretExpiry, "The secret's or certificate's end date"},
}

// progressData is the live doctor progress fragment.
type progressData struct {
	Items   []checkItem
	Running bool
	Started bool
	OK      bool
	Err     string
	PollURL string
	NextURL string // where to go when the setup is right
	Failed  string // the failed step, e.g. "Step 4 – Assign API Permissions"
	Retype  string // the values to enter again to fix it ("client secret"); "" for a portal-only fix
}

type checkItem struct {
	ID, Title, Status, Icon     string
	Step, Problem, Fix, StepURL string
	Also                        []string
	Details                     []string
}

// progress turns a run into the fragment's data; stepURL maps a guide step to the wizard
// screen that fixes it ("" for no link).
func progress(run *doctorRun, pollURL, nextURL string, stepURL func(guide.Step) string) *progressData {
	p := &progressData{PollURL: pollURL}
	if run == nil {
		for _, c := range checkOrder {
			p.Items = append(p.Items, checkItem{ID: c.ID, Title: c.Title, Status: "pending", Icon: "·"})
		}
		return p
	}
	p.Started = true
	checks, rep, errMsg := run.state()
	p.Err = errMsg
	p.Running = rep == nil && errMsg == ""
	if rep != nil {
		checks = rep.Checks
		p.OK = rep.OK
		if rep.FailedStep != nil {
			p.Failed = rep.FailedStep.String()
			p.Retype = strings.Join(rep.Retype(), " and ")
		}
		if rep.OK {
			p.NextURL = nextURL
		}
	}
	seen := map[string]bool{}
	for _, c := range checks {
		seen[c.ID] = true
		it := checkItem{ID: c.ID, Title: c.Title, Status: string(c.Status), Problem: c.Problem, Fix: c.Fix, Details: c.Details}
		if it.Title == "" {
			it.Title = c.ID
		}
		switch c.Status {
		case doctor.Passed:
			it.Icon = "✔"
		case doctor.Failed:
			it.Icon = "✘"
			it.Step = c.Step.String()
			if stepURL != nil {
				it.StepURL = stepURL(c.Step)
			}
			for _, s := range c.Steps {
				if s != c.Step {
					it.Also = append(it.Also, s.String())
				}
			}
		case doctor.Warning:
			it.Icon = "!"
		default:
			it.Icon = "·"
			it.Status = "pending"
		}
		p.Items = append(p.Items, it)
	}
	if rep == nil {
		for _, c := range checkOrder {
			if !seen[c.ID] {
				p.Items = append(p.Items, checkItem{ID: c.ID, Title: c.Title, Status: "pending", Icon: "·"})
			}
		}
	}
	return p
}

func (h *handler) wizardStepURL(d string) func(guide.Step) string {
	return func(s guide.Step) string {
		switch s {
		case guide.Step1Register, guide.Step2IDs, guide.Step3Secret, guide.Step4Permissions, guide.Step5Consent, guide.Step6BCAccess:
			return stepURL(int(s), d)
		default:
			return stepURL(0, d)
		}
	}
}

func (h *handler) draftProgress(d *draft) *progressData {
	d.mu.Lock()
	run := d.run
	d.mu.Unlock()
	q := "?d=" + url.QueryEscape(d.ID)
	return progress(run, "/wizard/progress"+q, "/wizard/company"+q, h.wizardStepURL(d.ID))
}

// wizardCheck is the "Check my setup" screen.
func (h *handler) wizardCheck(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if d == nil {
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	wd := h.wizard(d, 7)
	wd.Progress = h.draftProgress(d)
	h.render(w, r, http.StatusOK, "wizard_check", page{Title: "Check my setup", Nav: "wizard", Data: wd})
}

// wizardCheckRun starts the doctor on the draft in the background (unless it is already
// running) and answers with the progress fragment, which polls until the run is done.
func (h *handler) wizardCheckRun(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if d == nil {
		if r.Header.Get("HX-Request") != "" {
			w.Header().Set("HX-Redirect", "/wizard?expired=1")
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	d.mu.Lock()
	running := false
	if d.run != nil {
		_, rep, msg := d.run.state()
		running = rep == nil && msg == ""
	}
	if !running {
		in := d.in
		in.Entities = append([]string(nil), d.in.Entities...)
		in.Company = d.company
		d.run = startRun(r.Context(), func(ctx context.Context, onCheck func(doctor.Check)) (*doctor.Report, error) {
			return h.svc.Diagnose(ctx, h.endpoints.apply(in), onCheck), nil
		})
	}
	d.mu.Unlock()
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/wizard/check?d="+url.QueryEscape(d.ID), http.StatusSeeOther)
		return
	}
	h.fragment(w, http.StatusOK, "progress", h.draftProgress(d))
}

// wizardProgress is the polled progress fragment.
func (h *handler) wizardProgress(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if d == nil {
		w.Header().Set("HX-Redirect", "/wizard?expired=1")
		w.WriteHeader(http.StatusOK)
		return
	}
	h.fragment(w, http.StatusOK, "progress", h.draftProgress(d))
}

// wizardCompany picks the company from the live list and the entity sets.
func (h *handler) wizardCompany(w http.ResponseWriter, r *http.Request) {
	d := h.draftFor(r)
	if d == nil {
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	h.renderCompany(w, r, d, http.StatusOK, "", nil, "")
}

func (h *handler) renderCompany(w http.ResponseWriter, r *http.Request, d *draft, status int, problem string, chosen []string, more string) {
	wd := h.wizard(d, 8)
	wd.Defaults = doctor.DefaultEntities
	wd.Entities = chosen
	if wd.Entities == nil {
		wd.Entities = doctor.DefaultEntities
	}
	wd.More = more
	in := d.snapshot()
	comps, err := h.svc.CompaniesFor(r.Context(), h.endpoints.apply(in))
	if err != nil && problem == "" {
		problem = "Could not list the companies: " + err.Error()
	}
	wd.Companies = comps
	d.mu.Lock()
	if d.run != nil {
		if _, rep, _ := d.run.state(); rep != nil {
			wd.CompanyID = rep.CompanyID
		}
	}
	d.mu.Unlock()
	if wd.CompanyID == "" {
		for _, c := range comps {
			if strings.EqualFold(c[1], wd.CompanyName) || c[0] == wd.CompanyName {
				wd.CompanyID = c[0]
			}
		}
	}
	if wd.CompanyID == "" && len(comps) > 0 {
		wd.CompanyID = comps[0][0]
	}
	name := wd.CompanyName
	for _, c := range comps {
		if c[0] == wd.CompanyID {
			name = c[1]
		}
	}
	wd.Checked = []string{wd.CompanyID}
	if r.Method == http.MethodPost {
		wd.Checked, wd.AllCompanies = r.PostForm["company"], r.PostForm.Get("allCompanies") == "on"
	}
	wd.Connected = h.connectedCompanies(r.Context(), in, comps)
	wd.Duplicate = overlap(wd.Connected, wd.Checked, wd.AllCompanies)
	wd.DuplicateOK = r.PostFormValue("duplicate") == "ok"
	env := in.Environment
	wd.ConnName = guide.DisplayName(env, name)
	h.render(w, r, status, "wizard_company", page{Title: "Company and data", Nav: "wizard", Error: problem, Data: wd})
}

// wizardFinish stores the connection, starts the first sync and lands on its dashboard.
func (h *handler) wizardFinish(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	d := h.draftFor(r)
	if d == nil {
		http.Redirect(w, r, "/wizard?expired=1", http.StatusSeeOther)
		return
	}
	chosen := r.PostForm["entity"]
	more := r.PostForm.Get("more")
	sets := append([]string(nil), chosen...)
	sets = append(sets, strings.FieldsFunc(more, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })...)
	if chosen == nil {
		chosen = []string{}
	}
	if len(sets) == 0 {
		h.renderCompany(w, r, d, http.StatusUnprocessableEntity, "Pick at least one entity set to sync.", chosen, more)
		return
	}
	if _, err := permset.Permissions(sets, nil); err != nil {
		h.renderCompany(w, r, d, http.StatusUnprocessableEntity, err.Error(), chosen, more)
		return
	}
	companies := r.PostForm["company"]
	all := r.PostForm.Get("allCompanies") == "on"
	if len(companies) == 0 && !all {
		h.renderCompany(w, r, d, http.StatusUnprocessableEntity, "Pick the company to connect (or several, or All companies).", chosen, more)
		return
	}
	in := d.snapshot()
	if e := overlap(h.connectedCompanies(r.Context(), in, nil), companies, all); e != nil && r.PostForm.Get("duplicate") != "ok" {
		h.renderCompany(w, r, d, http.StatusConflict, "A company you picked is already connected with the same app and environment: "+e.Name+
			". A second connection replicates the same data again and shares the app's Business Central limits. Pick another company, or tick \"Create a second connection anyway\".", chosen, more)
		return
	}
	in.Company = ""
	if len(companies) > 0 {
		in.Company = companies[0]
	}
	if len(companies) > 1 {
		in.Companies = companies
	}
	in.AllCompanies = &all
	in.Entities = sets
	in.Name = strings.TrimSpace(r.PostForm.Get("name"))
	view, rep, err := h.svc.CreateConnection(r.Context(), h.endpoints.apply(in))
	if err != nil {
		if rep != nil && !rep.OK {
			run := &doctorRun{cancel: func() {}}
			run.finish(rep, nil)
			d.mu.Lock()
			d.run = run
			d.mu.Unlock()
			wd := h.wizard(d, 7)
			wd.Progress = h.draftProgress(d)
			h.render(w, r, http.StatusUnprocessableEntity, "wizard_check", page{Title: "Check my setup", Nav: "wizard", Error: "The setup is not right yet: " + err.Error(), Data: wd})
			return
		}
		h.renderCompany(w, r, d, http.StatusUnprocessableEntity, err.Error(), chosen, more)
		return
	}
	h.drafts.remove(d.ID)
	done := "created"
	if err := h.svc.Sync(context.WithoutCancel(r.Context()), view.ID, nil, false); err != nil {
		h.log.Warn("ui: first sync did not start", "connection", view.ID, "err", err)
		done = "created-nosync"
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(view.ID)+"?done="+done, http.StatusSeeOther)
}

package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/doctor"
	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
)

// doneMessages are the confirmations shown after an action; the query names one, so no
// text from the URL is ever reflected.
var doneMessages = map[string]string{
	"created":        "Connection created. The first sync has started.",
	"created-nosync": "Connection created, but the first sync did not start; see the log, then use Full resync.",
	"paused":         "Sync paused. Scheduled runs stop until you resume.",
	"resumed":        "Sync resumed.",
	"resync":         "Full resync started.",
	"schedule":       "Schedule saved. The next scheduler run (within 30 seconds) follows it.",
	"rotated":        "New secret verified with Entra ID and in use; the old one is retired.",
	"certificate":    "New certificate generated. The current credential stays in use: upload the certificate in Entra, then activate it.",
	"uploaded":       "The sandbox's app now has the new certificate: activate it.",
	"removed":        "Connection removed, with its sealed credentials, its replica and its sync state.",
	"activated":      "The new credential passed the setup check and is in use; the old one is retired here. Delete it in Entra once nothing else uses it.",
}

// connRow is a connection as the dashboard shows it.
type connRow struct {
	service.ConnectionView
	Health      string // "passed", "failed", "warning" or "pending"
	HealthIcon  string
	HealthText  string
	ExpiryClass string // "", "warn", "bad"
	ExpiryText  string
	// CredentialLabel names the active credential: "Secret", or "Certificate" and its
	// thumbprint.
	CredentialLabel, Thumbprint string
	Rows                        int64
	Sets                        []setRow
	Errors                      int
	Throttled                   int64
	Requests                    int64
	// Multi is set when the connection syncs several companies: the tables then name the
	// company of each row, CompanyNames (by ID) in the recent changes.
	Multi        bool
	CompanyNames map[string]string
	// SetGroups are Sets by company, in the connection's order, when Multi: the dashboard
	// shows each company's sets under its name.
	SetGroups []setGroup
}

// setGroup is one company's sets of a connection of several companies.
type setGroup struct {
	Company string
	Sets    []setRow
}

// setRow is the sync state of one entity set.
type setRow struct {
	// Company is the company's name (else ID); CompanyQuery the data browser's query for
	// it ("" for the connection's own company).
	Company, CompanyQuery string
	EntitySet             string
	Rows                  int64
	LastRun, LastSuccess  time.Time
	Lag                   string
	Error                 string
	Requests, Throttled   int64
	FullSyncDone, Paused  bool
	State, StateClass     string
}

func (h *handler) row(v service.ConnectionView) connRow {
	c := connRow{ConnectionView: v}
	switch {
	case v.LastDoctor == nil:
		c.Health, c.HealthIcon, c.HealthText = "pending", "·", "not checked yet"
	case v.LastDoctor.OK:
		c.Health, c.HealthIcon, c.HealthText = "passed", "✔", "setup right, checked "+v.LastDoctor.Finished.UTC().Format("2006-01-02 15:04")
		for _, ch := range v.LastDoctor.Checks {
			if ch.Status == doctor.Warning {
				c.Health, c.HealthIcon, c.HealthText = "warning", "!", ch.Problem
			}
		}
	default:
		c.Health, c.HealthIcon, c.HealthText = "failed", "✘", "setup broken"
		if v.LastDoctor.FailedStep != nil {
			c.HealthText = "fails at " + v.LastDoctor.FailedStep.String()
		}
	}
	what := "secret"
	c.CredentialLabel = "Secret"
	if v.Credential != nil && v.Credential.Kind == service.CredentialCertificate {
		what, c.CredentialLabel, c.Thumbprint = "certificate", "Certificate", v.Credential.Thumbprint
	}
	switch {
	case v.Credential == nil && v.PendingCredential != nil:
		c.CredentialLabel = "Certificate"
		c.ExpiryClass, c.ExpiryText = "warn", "waits for its upload and activation"
	case v.SecretExpiry == guide.ExpiryNone && v.SecretEndDate.IsZero():
		c.ExpiryText = "end date unknown"
	case v.SecretExpiry == guide.ExpiryNone:
		c.ExpiryText = fmt.Sprintf("%d days left", v.SecretDays)
	case v.SecretExpiry == guide.ExpiryExpired:
		c.ExpiryClass, c.ExpiryText = "bad", "expired: rotate the "+what+" now"
	case v.SecretExpiry == guide.Expiry3 || v.SecretExpiry == guide.Expiry14:
		c.ExpiryClass, c.ExpiryText = "bad", fmt.Sprintf("%d days left: rotate the %s", v.SecretDays, what)
	default:
		c.ExpiryClass, c.ExpiryText = "warn", fmt.Sprintf("%d days left: plan the rotation", v.SecretDays)
	}
	if x := v.Express; x != nil {
		// Express: no secret of the customer's; what stands for it is the consent.
		c.CredentialLabel, c.Thumbprint, c.ExpiryClass = "Express (Bizzjoiner's app)", "", ""
		c.ExpiryText = "consent " + x.Consent
		switch x.Consent {
		case "refused":
			c.ExpiryClass = "bad"
		case "revoked":
			c.ExpiryClass = "bad"
			c.ExpiryText = "consent revoked " + x.ConsentAt.UTC().Format("2006-01-02 15:04") + " UTC"
		}
	}
	now := h.now()
	cos := v.SyncCompanies()
	c.Multi = len(cos) > 1 || len(v.CompanyStatus) > 1
	if c.Multi {
		c.CompanyNames = map[string]string{}
		for _, co := range cos {
			c.CompanyNames[co.ID] = co.Label()
		}
	}
	label := func(id string) (string, string) {
		for _, co := range cos {
			if co.ID == id {
				if id == v.CompanyID {
					return co.Label(), ""
				}
				return co.Label(), "?" + url.Values{"company": {id}}.Encode()
			}
		}
		return id + " (no longer synced)", "?" + url.Values{"company": {id}}.Encode()
	}
	rows := func(company, set string) int64 {
		if v.CompanyCounts == nil {
			return v.Counts[set] // a view without the counts per company: one company
		}
		return v.CompanyCounts[company][set]
	}
	seen := map[string]bool{}
	for _, s := range v.Sync {
		seen[s.Key.CompanyID+"/"+s.Key.EntitySet] = true
		r := setRow{
			EntitySet: s.Key.EntitySet, Rows: rows(s.Key.CompanyID, s.Key.EntitySet), LastRun: s.LastRunAt, LastSuccess: s.LastSuccessAt,
			Error: s.LastError, Requests: s.Requests, Throttled: s.Throttled, FullSyncDone: s.FullSyncDone, Paused: s.Paused || v.Paused,
		}
		r.Company, r.CompanyQuery = label(s.Key.CompanyID)
		if !s.LastSuccessAt.IsZero() {
			r.Lag = lag(now.Sub(s.LastSuccessAt))
		}
		switch {
		case s.LastError != "":
			r.State, r.StateClass = "error", "failed"
			c.Errors++
		case r.Paused:
			r.State, r.StateClass = "paused", "pending"
		case !s.FullSyncDone:
			r.State, r.StateClass = "full sync running", "pending"
		default:
			r.State, r.StateClass = "up to date", "passed"
		}
		c.Sets = append(c.Sets, r)
		c.Rows += r.Rows
		c.Throttled += s.Throttled
		c.Requests += s.Requests
	}
	for _, co := range cos {
		for _, e := range v.Entities {
			if !seen[co.ID+"/"+e] {
				r := setRow{EntitySet: e, Rows: rows(co.ID, e), State: "not started", StateClass: "pending", Paused: v.Paused}
				r.Company, r.CompanyQuery = label(co.ID)
				c.Sets = append(c.Sets, r)
				c.Rows += r.Rows
			}
		}
	}
	order := func(company string) int {
		return slices.IndexFunc(cos, func(co store.Company) bool { return co.Label() == company })
	}
	sort.SliceStable(c.Sets, func(i, j int) bool {
		if oi, oj := order(c.Sets[i].Company), order(c.Sets[j].Company); oi != oj {
			return oi >= 0 && (oj < 0 || oi < oj)
		}
		return c.Sets[i].EntitySet < c.Sets[j].EntitySet
	})
	if c.Multi {
		for _, r := range c.Sets {
			if n := len(c.SetGroups); n == 0 || c.SetGroups[n-1].Company != r.Company {
				c.SetGroups = append(c.SetGroups, setGroup{Company: r.Company})
			}
			g := &c.SetGroups[len(c.SetGroups)-1]
			g.Sets = append(g.Sets, r)
		}
	}
	return c
}

func lag(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

type listData struct {
	// ExpressWarning warns the operator that the express app's credential expires soon
	// or has expired ("" otherwise).
	ExpressWarning string
	Conns          []connRow
	Changes        []store.Change
	Names          map[string]string
	// Companies names every company of every connection by ID when a connection has
	// several (the recent changes then say whose company each change is of); else nil.
	Companies map[string]string
}

// connections is the dashboard: every connection with its health, secret expiry and sync.
func (h *handler) connections(w http.ResponseWriter, r *http.Request) {
	views, err := h.svc.ListConnections(r.Context(), nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ld := listData{Names: map[string]string{}}
	for _, v := range views {
		row := h.row(v)
		h.samples.record(v.ID, h.now(), row.Rows, row.Requests, row.Throttled)
		ld.Conns = append(ld.Conns, row)
		ld.Names[v.ID] = v.Name
		if row.Multi && ld.Companies == nil {
			ld.Companies = map[string]string{}
		}
	}
	if ld.Companies != nil {
		for _, v := range views {
			for _, co := range v.SyncCompanies() {
				ld.Companies[co.ID] = co.Label()
			}
		}
	}
	ld.Changes = h.tail.recent(r.Context(), h.svc, 15, "")
	ld.ExpressWarning = h.expressWarning(r.Context())
	h.render(w, r, http.StatusOK, "connections", page{Title: "Connections", Nav: "connections", Flash: doneMessages[r.URL.Query().Get("done")], Data: ld})
}

type connData struct {
	connRow
	Chart    chart
	Changes  []store.Change
	Progress *progressData
	Report   *progressData
	Rotate   *field
	EndDate  *field
	// Pending is a certificate waiting for its upload and activation.
	Pending *pendingCertificate
	// Schedule is the schedule form.
	Schedule scheduleForm
	// CustomTables prefills the permission set's form, one "set=" line per custom API
	// set the connection syncs or writes, for the admin to name the table behind each
	// page; empty when it has none.
	CustomTables string
}

// customTablesOf lists the connection's custom API sets ("publisher/group/version/set")
// as "set=" lines.
func customTablesOf(c store.Connection) string {
	var lines []string
	for _, set := range append(slices.Clone(c.Entities), c.WriteEntities...) {
		if line := set + "="; strings.Count(set, "/") == 3 && !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// pendingCertificate is what the connection page shows of a pending certificate.
type pendingCertificate struct {
	Thumbprint, NotAfter, CerURL, PEMURL string
	SandboxUpload                        bool
}

func (h *handler) connData(ctx context.Context, v service.ConnectionView) connData {
	row := h.row(v)
	h.samples.record(v.ID, h.now(), row.Rows, row.Requests, row.Throttled)
	cd := connData{connRow: row, Chart: renderChart(h.samples.get(v.ID)), Schedule: scheduleFormOf(v.Connection), CustomTables: customTablesOf(v.Connection)}
	cd.Changes = h.tail.recent(ctx, h.svc, 15, v.ID)
	if run := h.doctors.get(v.ID); run != nil {
		cd.Progress = progress(run, "/connections/"+url.PathEscape(v.ID)+"/doctor", "", nil)
	}
	if v.LastDoctor != nil && (cd.Progress == nil || !cd.Progress.Running) {
		run := &doctorRun{cancel: func() {}}
		run.finish(v.LastDoctor, nil)
		cd.Report = progress(run, "", "", nil)
	}
	if p := v.PendingCredential; p != nil && p.Kind == service.CredentialCertificate {
		base := "/connections/" + url.PathEscape(v.ID) + "/certificates/" + url.PathEscape(p.ID)
		cd.Pending = &pendingCertificate{Thumbprint: p.Thumbprint, NotAfter: p.EndDate.Format(time.DateOnly),
			CerURL: base + ".cer", PEMURL: base + ".pem", SandboxUpload: h.sandboxUpload != nil}
	}
	cd.Rotate = &field{Name: "secret", Label: "New client secret"}
	cd.EndDate = &field{Name: "endDate", Label: "Its end date"}
	return cd
}

// connection is a connection's page.
func (h *handler) connection(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cd := h.connData(r.Context(), v)
	h.render(w, r, http.StatusOK, "connection", page{Title: v.Name, Nav: "connections", Flash: doneMessages[r.URL.Query().Get("done")], Data: cd})
}

// connectionLive is the polled fragment of a connection's page: sync table, chart, changes.
func (h *handler) connectionLive(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, http.StatusOK, "live", h.connData(r.Context(), v))
}

// connectionDoctor re-runs the doctor on a stored connection in the background.
func (h *handler) connectionDoctor(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.svc.GetConnection(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	run := h.doctors.start(id, func() *doctorRun {
		return startRun(r.Context(), func(ctx context.Context, onCheck func(doctor.Check)) (*doctor.Report, error) {
			return h.svc.RunDoctor(ctx, id, onCheck)
		})
	})
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/connections/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	h.fragment(w, http.StatusOK, "progress", progress(run, "/connections/"+url.PathEscape(id)+"/doctor", "", nil))
}

func (h *handler) connectionDoctorProgress(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h.fragment(w, http.StatusOK, "progress", progress(h.doctors.get(id), "/connections/"+url.PathEscape(id)+"/doctor", "", nil))
}

func (h *handler) connectionPause(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	paused := strings.HasSuffix(r.URL.Path, "/pause")
	if err := h.svc.SetPaused(r.Context(), id, paused); err != nil {
		h.fail(w, r, err)
		return
	}
	done := "resumed"
	if paused {
		done = "paused"
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

func (h *handler) connectionResync(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	set := r.FormValue("entitySet")
	if set == "" {
		http.Error(w, "entitySet: pick the entity set to resync", http.StatusBadRequest)
		return
	}
	if err := h.svc.Sync(context.WithoutCancel(r.Context()), id, []string{set}, true); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=resync", http.StatusSeeOther)
}

// connectionRotate rotates the client secret: the service adds the new one, verifies it
// with Entra ID and only then retires the old one, so syncs never stop.
func (h *handler) connectionRotate(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	newSecret, end := secret.Secret(r.PostForm.Get("secret")), strings.TrimSpace(r.PostForm.Get("endDate"))
	v, err := h.svc.GetConnection(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cd := h.connData(r.Context(), v)
	cd.EndDate.Value = end
	// Same checks as the CLI, one field at a time so the stored values do not matter.
	wd := &wizardData{Fields: map[string]*field{"secret": cd.Rotate, "endDate": cd.EndDate}}
	bad := h.validateInto(wd, service.ConnectionInput{Secret: newSecret}, []string{"secret"})
	bad = h.validateInto(wd, service.ConnectionInput{SecretEndDate: end}, []string{"endDate"}) || bad
	if !bad {
		if err = h.svc.RotateSecret(r.Context(), id, newSecret, end); err == nil {
			http.Redirect(w, r, "/connections/"+url.PathEscape(id)+"?done=rotated", http.StatusSeeOther)
			return
		}
	}
	p := page{Title: v.Name, Nav: "connections", Data: cd}
	if err != nil {
		p.Error = "The secret was not rotated; the old one stays in use. " + err.Error()
	}
	h.render(w, r, http.StatusUnprocessableEntity, "connection", p)
}

func (h *handler) connectionPermset(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	read := v.Entities
	if len(read) == 0 {
		read = doctor.DefaultEntities
	}
	h.writePermset(w, r, read, v.WriteEntities)
}

// dataPage is the data browser's view.
type dataPage struct {
	Conn      service.ConnectionView
	EntitySet string
	// Company names the company shown when the connection has several; CompanyID is the
	// company query parameter as given ("" the connection's own).
	Company, CompanyID string
	Filter             string
	// OrderBy is the field the rows are in the order of (the set's natural key), "" for id.
	OrderBy string
	// Choices are every column of the page, Shown when the table has it; Columns are the
	// shown ones, Picked the columns named in the URL ("col", remembered per set by
	// static/data.js), nil when all are shown.
	Choices []columnChoice
	Columns []string
	Picked  []string
	Rows    [][]string
	// FirstURL, Next and AllColumnsURL keep the filter, company and columns.
	FirstURL, Next, AllColumnsURL string
	First                         bool
	Problem                       string
}

// columnChoice is a column of the data browser's column picker.
type columnChoice struct {
	Name  string
	Shown bool
}

// pageSize is the data browser's page size.
const pageSize = 50

// allColumns is the "col" value that shows every column and forgets a remembered choice.
const allColumns = "*"

// dataBrowser shows the replica of an entity set as a table, in the order of the set's
// natural key, with a filter, paging and a choice of columns.
func (h *handler) dataBrowser(w http.ResponseWriter, r *http.Request) {
	id, set := r.PathValue("id"), r.PathValue("set")
	v, err := h.svc.GetConnection(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	dp := dataPage{Conn: v, EntitySet: set, Filter: q.Get("filter"), First: q.Get("cursor") == ""}
	status := http.StatusOK
	if co, ok := v.FindCompany(q.Get("company")); ok && len(v.SyncCompanies()) > 1 {
		dp.Company = co.Label()
	}
	dp.CompanyID = q.Get("company")
	base := url.Values{}
	if dp.Filter != "" {
		base.Set("filter", dp.Filter)
	}
	if dp.CompanyID != "" {
		base.Set("company", dp.CompanyID)
	}
	all := url.Values{"col": {allColumns}}
	for k, vs := range base {
		all[k] = vs
	}
	dp.AllColumnsURL = "?" + all.Encode()
	pg, err := h.svc.Browse(r.Context(), id, dp.CompanyID, set, dp.Filter, q.Get("cursor"), pageSize)
	if err != nil {
		dp.Problem = err.Error()
		status = http.StatusBadRequest
	} else {
		dp.OrderBy = pg.OrderBy
		cols, rows := table(pg.Records)
		dp.Choices, dp.Columns, dp.Rows, dp.Picked = pickColumns(cols, rows, q["col"])
	}
	for _, c := range dp.Picked {
		base.Add("col", c)
	}
	dp.FirstURL = "?" + base.Encode()
	if err == nil && pg.NextCursor != "" {
		base.Set("cursor", pg.NextCursor)
		dp.Next = "?" + base.Encode()
	}
	h.render(w, r, status, "data", page{Title: set + " – " + v.Name, Nav: "connections", Data: dp})
}

// pickColumns keeps the columns named in picked (in the table's order; names the page
// does not have are left out, "*" or none of them shows every column) and returns the
// picker's choices, the shown columns, their rows and the names kept.
func pickColumns(cols []string, rows [][]string, picked []string) ([]columnChoice, []string, [][]string, []string) {
	want := map[string]bool{}
	for _, p := range picked {
		want[p] = true
	}
	var keep []int
	var kept []string
	for i, c := range cols {
		if want[c] {
			keep = append(keep, i)
			kept = append(kept, c)
		}
	}
	choices := make([]columnChoice, len(cols))
	if len(keep) == 0 || want[allColumns] {
		for i, c := range cols {
			choices[i] = columnChoice{Name: c, Shown: true}
		}
		return choices, cols, rows, nil
	}
	for i, c := range cols {
		choices[i] = columnChoice{Name: c, Shown: want[c]}
	}
	out := make([][]string, len(rows))
	for r, row := range rows {
		out[r] = make([]string, len(keep))
		for j, i := range keep {
			out[r][j] = row[i]
		}
	}
	return choices, kept, out, kept
}

// table lays records out as rows under the union of their fields, in the order BC sends
// them (the first record's order, then new fields as they appear).
func table(records []json.RawMessage) ([]string, [][]string) {
	var cols []string
	idx := map[string]int{}
	var maps []map[string]string
	for _, raw := range records {
		m := map[string]string{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			continue
		}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				break
			}
			k, _ := t.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break
			}
			if strings.HasPrefix(k, "@odata.") {
				continue
			}
			if _, ok := idx[k]; !ok {
				idx[k] = len(cols)
				cols = append(cols, k)
			}
			m[k] = cell(v)
		}
		maps = append(maps, m)
	}
	rows := make([][]string, 0, len(maps))
	for _, m := range maps {
		row := make([]string, len(cols))
		for k, v := range m {
			row[idx[k]] = v
		}
		rows = append(rows, row)
	}
	return cols, rows
}

func cell(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
)

// Status is the outcome of one check.
type Status string

// Check outcomes. NotChecked means an earlier step failed, so the check could not run.
const (
	Passed     Status = "passed"
	Failed     Status = "failed"
	Warning    Status = "warning"
	NotChecked Status = "not-checked"
)

// Check IDs, in the order the doctor runs them (the order of the guide).
const (
	CheckInput        = "input"
	CheckToken        = "token"
	CheckRoles        = "roles"
	CheckBCAccess     = "bc-access"
	CheckEnvironment  = "environment"
	CheckCompany      = "company"
	CheckReadAccess   = "read-access"
	CheckWriteAccess  = "write-access"
	CheckSecretExpiry = "secret-expiry"
	// CheckEndpoints is reported instead of all others when the server may not use the
	// connection's own endpoints (nothing is sent then).
	CheckEndpoints = "endpoints"
)

// Check is one step of the diagnosis.
type Check struct {
	ID    string     `json:"id"`
	Title string     `json:"title"`
	Step  guide.Step `json:"step"`
	// Steps lists every guide step that can produce the failure's wire signal, when more
	// than one can (a token without roles: Step 4 or Step 5).
	Steps    []guide.Step `json:"steps,omitempty"`
	Status   Status       `json:"status"`
	Problem  string       `json:"problem,omitempty"`
	Fix      string       `json:"fix,omitempty"`
	Details  []string     `json:"details,omitempty"`
	Evidence *Evidence    `json:"evidence,omitempty"`
	// Retype names the values the admin must enter again to fix a failed check, as
	// guide.FieldError names them ("client secret", "tenant ID", "environment", …); empty
	// when the fix is made in the portal or in Business Central alone.
	Retype []string `json:"retype,omitempty"`
	// Duration is how long the check took, in seconds on the wire as every duration of
	// the API. (Reports stored before read as 0: they had durationNs.)
	Duration Seconds `json:"durationSeconds"`
}

// Seconds is a duration that is a number of seconds in JSON (millisecond precision).
type Seconds time.Duration

// MarshalJSON writes the number of seconds.
func (d Seconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(float64(time.Duration(d).Milliseconds()) / 1000)
}

// UnmarshalJSON reads a number of seconds.
func (d *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("duration in seconds: %w", err)
	}
	*d = Seconds(time.Duration(f * float64(time.Second)).Round(time.Millisecond))
	return nil
}

// Evidence is what came over the wire, for support: never a secret or a token.
type Evidence struct {
	AADSTS          []int    `json:"aadsts,omitempty"`
	EntraError      string   `json:"entraError,omitempty"`
	Description     string   `json:"description,omitempty"`
	TraceID         string   `json:"traceId,omitempty"`
	CorrelationID   string   `json:"correlationId,omitempty"`
	HTTPStatus      int      `json:"httpStatus,omitempty"`
	BCCode          string   `json:"bcCode,omitempty"`
	BCMessage       string   `json:"bcMessage,omitempty"`
	ClientRequestID string   `json:"clientRequestId,omitempty"`
	Roles           []string `json:"roles,omitempty"`
	TokenTenant     string   `json:"tokenTenant,omitempty"`
	TokenAppID      string   `json:"tokenAppId,omitempty"`
}

// Report is the result of a run. Its JSON form is stable: fields are only ever added.
type Report struct {
	OK bool `json:"ok"`
	// FailedStep is the first guide step that failed; nil when none did.
	FailedStep *guide.Step `json:"failedStep,omitempty"`
	Checks     []Check     `json:"checks"`
	// CompanyID and CompanyName are the resolved company, when found.
	CompanyID   string   `json:"companyId,omitempty"`
	CompanyName string   `json:"companyName,omitempty"`
	Companies   []string `json:"companies,omitempty"`
	// ConsentRevoked is set for an express connection whose consent had been granted
	// and is gone now (Entra no longer knows the app in the tenant, or its token has no
	// role): the service records the consent as revoked.
	ConsentRevoked bool      `json:"consentRevoked,omitempty"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
}

// Retype returns the values to enter again to fix the failed step (Check.Retype of the
// first failed check); nil when the setup is right or the fix needs no new value.
func (r *Report) Retype() []string {
	for _, c := range r.Checks {
		if c.Status == Failed {
			return c.Retype
		}
	}
	return nil
}

// Check returns the check with the given ID.
func (r *Report) Check(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a person: one line per check, and for a failure the
// step, the problem, the fix and the evidence.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	marks := map[Status]string{Passed: "✔", Failed: "✘", Warning: "!", NotChecked: "·"}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%s %-44s %s\n", marks[c.Status], c.Title, statusWord(c))
		if c.Status == Failed || c.Status == Warning {
			steps := c.Step.String()
			if len(c.Steps) > 1 {
				var names []string
				for _, s := range c.Steps {
					names = append(names, s.String())
				}
				steps = strings.Join(names, " or ")
			}
			fmt.Fprintf(&b, "    Guide:    %s\n", steps)
			if c.Problem != "" {
				fmt.Fprintf(&b, "    Problem:  %s\n", c.Problem)
			}
			if c.Fix != "" {
				fmt.Fprintf(&b, "    Fix:      %s\n", indent(c.Fix))
			}
		}
		if c.Status == NotChecked && c.Problem != "" {
			fmt.Fprintf(&b, "    %s\n", c.Problem)
		}
		for _, d := range c.Details {
			fmt.Fprintf(&b, "    - %s\n", d)
		}
		if ev := c.Evidence; ev != nil && c.Status != Passed {
			if line := ev.line(); line != "" {
				fmt.Fprintf(&b, "    Evidence: %s\n", line)
			}
		}
	}
	switch {
	case r.OK:
		fmt.Fprintf(&b, "\nThe setup is right (%s).\n", r.Finished.Sub(r.Started).Round(time.Millisecond))
	case r.FailedStep != nil && len(r.Retype()) > 0:
		fmt.Fprintf(&b, "\nFix %s first: enter the %s again, then run the doctor again.\n", r.FailedStep.Short(), joinAnd(r.Retype()))
	case r.FailedStep != nil:
		fmt.Fprintf(&b, "\nFix %s first (no value needs to be entered again), then run the doctor again.\n", r.FailedStep.Short())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(ss []string) string {
	if len(ss) < 2 {
		return strings.Join(ss, "")
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " and " + ss[len(ss)-1]
}

func statusWord(c Check) string {
	switch c.Status {
	case Failed:
		return "FAILED"
	case Warning:
		return "warning"
	case NotChecked:
		return "not checked"
	}
	return "ok"
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n              ") }

func (ev *Evidence) line() string {
	var parts []string
	for _, c := range ev.AADSTS {
		parts = append(parts, fmt.Sprintf("AADSTS%d", c))
	}
	if ev.EntraError != "" {
		parts = append(parts, "error="+ev.EntraError)
	}
	if ev.HTTPStatus != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", ev.HTTPStatus))
	}
	if ev.BCCode != "" {
		parts = append(parts, "code="+ev.BCCode)
	}
	if ev.TraceID != "" {
		parts = append(parts, "trace ID "+ev.TraceID)
	}
	if ev.CorrelationID != "" {
		parts = append(parts, "correlation ID "+ev.CorrelationID)
	}
	if ev.ClientRequestID != "" {
		parts = append(parts, "client-request-id "+ev.ClientRequestID)
	}
	if ev.TokenAppID != "" {
		roles := "none (no roles claim)"
		if len(ev.Roles) > 0 {
			roles = strings.Join(ev.Roles, ", ")
		}
		parts = append(parts, "token roles: "+roles)
	}
	return strings.Join(parts, "; ")
}

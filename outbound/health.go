package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bizzjoiner/bcconnector/guide"
	"github.com/bizzjoiner/bcconnector/store"
)

// Connection health events come from comparing what the store says now (the active
// credential's end date, the last doctor report, the sync state of each entity set) with
// the last state seen (store.HealthStore). A change makes events for the endpoints that
// want them; the deliveries' IDs follow from the change's version, so instances that see
// the same change at once make the same deliveries, stored once, and only one of them
// moves the version.

// The watched conditions (store.HealthState.Kind).
const (
	healthCredential = "credential"
	healthSetup      = "setup"
	healthSync       = "sync"
)

// stateOK is every condition's good state.
const stateOK = "ok"

// Credential expiry levels, from the least to the most urgent.
var expiryLevels = []struct {
	state string
	left  time.Duration
}{{"30", 30 * 24 * time.Hour}, {"14", 14 * 24 * time.Hour}, {"7", 7 * 24 * time.Hour}, {"1", 24 * time.Hour}}

const stateExpired = "expired"

// expiryState names how close end is: ok, 30, 14, 7, 1 (days or less left) or expired.
func expiryState(end, now time.Time) string {
	left := end.Sub(now)
	if left <= 0 {
		return stateExpired
	}
	state := stateOK
	for _, l := range expiryLevels {
		if left <= l.left {
			state = l.state
		}
	}
	return state
}

// expiryRank orders expiry states by urgency.
func expiryRank(state string) int {
	switch state {
	case stateExpired:
		return len(expiryLevels) + 1
	case stateOK, "":
		return 0
	}
	for i, l := range expiryLevels {
		if l.state == state {
			return i + 1
		}
	}
	return 0
}

// CredentialData is the data of connection.secret.expiring and connection.secret.expired.
type CredentialData struct {
	ConnectionID   string `json:"connectionId"`
	ConnectionName string `json:"connectionName"`
	// CredentialID is the stored credential's ID; Kind "secret" or "certificate".
	CredentialID string    `json:"credentialId"`
	Kind         string    `json:"kind"`
	EndDate      time.Time `json:"endDate"`
	// DaysLeft is the whole days until EndDate (0 once expired).
	DaysLeft int    `json:"daysLeft"`
	Fix      string `json:"fix"`
}

// SetupData is the data of connection.setup.failed and connection.setup.recovered.
type SetupData struct {
	ConnectionID   string `json:"connectionId"`
	ConnectionName string `json:"connectionName"`
	// Step is the failing guide step ("Step 3"), StepTitle its title; Check, Problem and
	// Fix the doctor's failing check. Empty when recovered.
	Step      string    `json:"step,omitempty"`
	StepTitle string    `json:"stepTitle,omitempty"`
	Check     string    `json:"check,omitempty"`
	Problem   string    `json:"problem,omitempty"`
	Fix       string    `json:"fix,omitempty"`
	CheckedAt time.Time `json:"checkedAt"`
}

// SyncData is the data of connection.sync.failing and connection.sync.recovered.
type SyncData struct {
	ConnectionID string `json:"connectionId"`
	CompanyID    string `json:"companyId"`
	EntitySet    string `json:"entitySet"`
	// Error is the last run's error (failing only).
	Error string `json:"error,omitempty"`
	// LastSuccessAt is when the set last synced without error (zero if never).
	LastSuccessAt time.Time `json:"lastSuccessAt,omitzero"`
}

// observation is one condition as seen now, and the event a change to it makes.
type observation struct {
	kind, subject, state string
	// event returns the type and data of the event for a change from prev to state; ""
	// for a change that is only recorded.
	event func(prev string) (string, any)
}

// CheckHealth compares every connection's conditions with their last known state and
// makes the health events of what changed; it returns how many deliveries it added. It is
// skipped while no endpoint wants connection events.
func (s *Service) CheckHealth(ctx context.Context) (int, error) {
	eps, err := s.st.Endpoints(ctx)
	if err != nil {
		return 0, err
	}
	eps = enabledOnly(eps)
	wanted := false
	for _, ep := range eps {
		for _, t := range []string{SecretExpiring, SecretExpired, SetupFailed, SetupRecovered, SyncFailing, SyncRecovered} {
			wanted = wanted || Wants(ep.EventTypes, t)
		}
	}
	if !wanted {
		return 0, nil
	}
	conns, err := s.st.ListConnections(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	added := 0
	var errs []error
	for _, c := range conns {
		obs, err := s.observe(ctx, c, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", c.ID, err))
			continue
		}
		states, err := s.st.HealthStates(ctx, c.ID)
		if err != nil {
			return added, err
		}
		known := map[[2]string]store.HealthState{}
		for _, h := range states {
			known[[2]string{h.Kind, h.Subject}] = h
		}
		for _, o := range obs {
			prev, ok := known[[2]string{o.kind, o.subject}]
			held := known[[2]string{o.kind + heldSuffix, o.subject}]
			if (!ok && o.state == stateOK) || prev.State == o.state {
				if held.State != "" && held.State != stateNone {
					// It went back before the hold was over: a flap, no event.
					s.hold(ctx, c.ID, o, held, stateNone, now)
				}
				continue
			}
			if o.kind != healthCredential && s.healthHold > 0 {
				if held.State != o.state {
					s.hold(ctx, c.ID, o, held, o.state, now) // first sighting: the hold starts
					continue
				}
				if now.Sub(held.Since) < s.healthHold {
					continue
				}
			}
			n, err := s.transition(ctx, c.ID, prev, held, o, eps, now)
			added += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return added, errors.Join(errs...)
}

// Hysteresis: a setup or sync condition that changes makes its event only once the new
// state has held for Options.HealthHold (default DefaultHealthHold) at every check since
// it was first seen, and a recovery likewise; a condition that flaps back within the hold
// makes none. The state being held is kept in the store (as the condition's kind +
// heldSuffix, with Since its first sighting), so every instance holds the same clock and
// a restart does not start the hold again. Credential expiry follows the clock, never
// flaps, and is sent at once.
const (
	// DefaultHealthHold is the default Options.HealthHold: with the checks a minute apart,
	// a change is sent when the second check in a row still sees it.
	DefaultHealthHold = time.Minute
	heldSuffix        = ":held"
	stateNone         = "-" // no state being held
)

// hold records the state a condition is held in (or stateNone); another instance that
// recorded it first wins (ErrConflict), which is as good.
func (s *Service) hold(ctx context.Context, connID string, o observation, prev store.HealthState, state string, now time.Time) {
	h := store.HealthState{ConnectionID: connID, Kind: o.kind + heldSuffix, Subject: o.subject, State: state, Version: prev.Version + 1, Since: now}
	if err := s.st.SetHealthState(ctx, h); err != nil && !errors.Is(err, store.ErrConflict) {
		s.log.Warn("connection health: hold not recorded", "connection", connID, "kind", o.kind, "subject", o.subject, "err", err)
	}
}

// observe reads a connection's conditions.
func (s *Service) observe(ctx context.Context, c store.Connection, now time.Time) ([]observation, error) {
	var out []observation
	recs, err := s.st.ListSecrets(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.State != store.SecretActive || r.EndDate.IsZero() {
			continue
		}
		data := CredentialData{ConnectionID: c.ID, ConnectionName: c.Name, CredentialID: r.ID, Kind: string(r.Kind), EndDate: r.EndDate,
			DaysLeft: max(int(r.EndDate.Sub(now)/(24*time.Hour)), 0)}
		if data.Kind == "" {
			data.Kind = string(store.CredentialSecret)
		}
		data.Fix = "Create a new " + data.Kind + " for the app registration in Entra (Certificates & secrets) and rotate it in: POST /api/v1/connections/" + c.ID + "/rotate-secret"
		state := expiryState(r.EndDate, now)
		out = append(out, observation{kind: healthCredential, subject: r.ID, state: state, event: func(prev string) (string, any) {
			if expiryRank(state) <= expiryRank(prev) {
				return "", nil // less urgent (a later end date): recorded only
			}
			if state == stateExpired {
				return SecretExpired, data
			}
			return SecretExpiring, data
		}})
	}
	if raw, err := s.st.DoctorReport(ctx, c.ID); err == nil {
		// The doctor's report as package doctor marshals it (read here without importing
		// doctor, a package of the same layer).
		var rep struct {
			OK         bool
			FailedStep string
			Finished   time.Time
			Checks     []struct{ Title, Status, Problem, Fix string }
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			return nil, fmt.Errorf("last doctor report: %w", err)
		}
		data := SetupData{ConnectionID: c.ID, ConnectionName: c.Name, CheckedAt: rep.Finished}
		state := stateOK
		if !rep.OK {
			state = "failed"
			if rep.FailedStep != "" {
				data.Step, data.StepTitle = rep.FailedStep, stepTitle(rep.FailedStep)
				state = "failed:" + data.Step
			}
			for _, ch := range rep.Checks {
				if ch.Status == "failed" {
					data.Check, data.Problem, data.Fix = ch.Title, ch.Problem, ch.Fix
					break
				}
			}
		}
		out = append(out, observation{kind: healthSetup, state: state, event: func(string) (string, any) {
			if state == stateOK {
				return SetupRecovered, data
			}
			return SetupFailed, data
		}})
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	sets, err := s.st.SyncStates(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	for _, st := range sets {
		data := SyncData{ConnectionID: c.ID, CompanyID: st.Key.CompanyID, EntitySet: st.Key.EntitySet, LastSuccessAt: st.LastSuccessAt}
		state := stateOK
		if st.LastError != "" {
			state, data.Error = "failing", st.LastError
		}
		out = append(out, observation{kind: healthSync, subject: st.Key.CompanyID + "/" + st.Key.EntitySet, state: state,
			event: func(string) (string, any) {
				if state == stateOK {
					return SyncRecovered, data
				}
				return SyncFailing, data
			}})
	}
	return out, nil
}

// transition records a condition's change and makes its events.
// The state it was held in is cleared.
func (s *Service) transition(ctx context.Context, connID string, prev, held store.HealthState, o observation, eps []store.Endpoint, now time.Time) (int, error) {
	h := store.HealthState{ConnectionID: connID, Kind: o.kind, Subject: o.subject, State: o.state, Version: prev.Version + 1, Since: now}
	typ, data := o.event(prev.State)
	var ds []store.Delivery
	if typ != "" {
		body, err := json.Marshal(Event{Type: typ, Timestamp: now, Data: data})
		if err != nil {
			return 0, err
		}
		key := "health/" + connID + "/" + o.kind + "/" + o.subject
		for _, ep := range eps {
			if !Wants(ep.EventTypes, typ) || (ep.ConnectionID != "" && ep.ConnectionID != connID) {
				continue
			}
			sum := sha256.Sum256([]byte(ep.ID + "/" + key + "/" + strconv.FormatInt(h.Version, 10)))
			ds = append(ds, store.Delivery{ID: "msg_" + hex.EncodeToString(sum[:16]), EndpointID: ep.ID, EventType: typ,
				ConnectionID: connID, OrderKey: key, Payload: body})
		}
	}
	// Deliveries first: if the process dies before the state is stored, the next check
	// makes the same deliveries (same IDs, stored once) and stores it.
	pending, err := s.st.AddDeliveries(ctx, nil, ds)
	if err != nil {
		return 0, err
	}
	if err := s.st.SetHealthState(ctx, h); err != nil && !errors.Is(err, store.ErrConflict) {
		return len(ds), err
	}
	if held.State != "" && held.State != stateNone {
		s.hold(ctx, connID, o, held, stateNone, now)
	}
	if typ != "" {
		s.log.Info("connection health event", "connection", connID, "event", typ, "subject", o.subject, "endpoints", len(ds))
	}
	return len(ds), s.enqueue(ctx, idsOf(pending)...)
}

// stepTitle returns the guide's title of a step named as in reports ("Step 3").
func stepTitle(short string) string {
	for _, st := range guide.Steps() {
		if st.Short() == short {
			return st.String()
		}
	}
	return short
}

// SubscriptionData is the data of connection.webhook.lost.
type SubscriptionData struct {
	ConnectionID   string `json:"connectionId"`
	CompanyID      string `json:"companyId"`
	EntitySet      string `json:"entitySet"`
	SubscriptionID string `json:"subscriptionId"`
}

// SubscriptionLost sends connection.webhook.lost for a BC webhook subscription that BC
// deleted or let expire (package webhook finds it). A subscription is reported once, by
// whichever instance finds it first (the delivery IDs follow from its ID).
func (s *Service) SubscriptionLost(ctx context.Context, d SubscriptionData) (int, error) {
	eps, err := s.st.Endpoints(ctx)
	if err != nil {
		return 0, err
	}
	eps = enabledOnly(eps)
	body, err := json.Marshal(Event{Type: WebhookLost, Timestamp: s.now(), Data: d})
	if err != nil {
		return 0, err
	}
	var ds []store.Delivery
	for _, ep := range eps {
		if !Wants(ep.EventTypes, WebhookLost) || (ep.ConnectionID != "" && ep.ConnectionID != d.ConnectionID) {
			continue
		}
		sum := sha256.Sum256([]byte(ep.ID + "/webhook.lost/" + d.SubscriptionID))
		ds = append(ds, store.Delivery{ID: "msg_" + hex.EncodeToString(sum[:16]), EndpointID: ep.ID, EventType: WebhookLost,
			ConnectionID: d.ConnectionID, OrderKey: "health/" + d.ConnectionID + "/webhook/" + d.CompanyID + "/" + d.EntitySet, Payload: body})
	}
	pending, err := s.st.AddDeliveries(ctx, nil, ds)
	if err != nil {
		return 0, err
	}
	s.log.Info("connection health event", "connection", d.ConnectionID, "event", WebhookLost, "subject", d.CompanyID+"/"+d.EntitySet, "endpoints", len(ds))
	return len(ds), s.enqueue(ctx, idsOf(pending)...)
}

package outbound

import (
	"fmt"
	"slices"
	"strings"
)

// The event types an endpoint can subscribe to. An endpoint lists names, "record.*" or
// "connection.*" (every type with that prefix), or "*" (every type).
const (
	// RecordCreated, RecordUpdated and RecordDeleted come from the change log: one per
	// insert, update and delete applied to the replica.
	RecordCreated = "record.created"
	RecordUpdated = "record.updated"
	RecordDeleted = "record.deleted"
	// SchemaChanged comes from the change log too: a replicated set's schema changed (a
	// field added or removed by an extension update); the data names the set and its new
	// version (GET /api/v1/connections/{id}/schema has the fields).
	SchemaChanged = "schema.changed"
	// SecretExpiring is sent once per level as the active client secret's end date comes
	// near (30, 14, 7 and 1 days left); SecretExpired once it has passed.
	SecretExpiring = "connection.secret.expiring"
	SecretExpired  = "connection.secret.expired"
	// SetupFailed is sent when the doctor's check of a connection fails (with the failing
	// guide step) after it passed or was never run; SetupRecovered when it passes again.
	SetupFailed    = "connection.setup.failed"
	SetupRecovered = "connection.setup.recovered"
	// SyncFailing is sent when a replicated entity set's sync starts failing;
	// SyncRecovered when it succeeds again.
	SyncFailing   = "connection.sync.failing"
	SyncRecovered = "connection.sync.recovered"
	// WebhookLost is sent when BC deleted one of our webhook subscriptions or let it
	// expire: changes may have been missed until a reconciliation (which starts at once).
	WebhookLost = "connection.webhook.lost"
	// Test is sent only on request ("send test event"), whatever the endpoint lists.
	Test = "webhook.test"
)

// EventTypes lists every event type an endpoint can subscribe to.
var EventTypes = []string{
	RecordCreated, RecordUpdated, RecordDeleted,
	SchemaChanged,
	SecretExpiring, SecretExpired,
	SetupFailed, SetupRecovered,
	SyncFailing, SyncRecovered,
	WebhookLost,
}

// patterns are the wildcards an endpoint may list besides names.
var patterns = []string{"*", "record.*", "connection.*"}

// CheckEventTypes checks an endpoint's list of event types: known names or patterns. Its
// error names the field, the bad value and what is allowed.
func CheckEventTypes(types []string) error {
	if len(types) == 0 {
		return fmt.Errorf("eventTypes is empty; list the event types the endpoint receives (%s) or a pattern (%s)",
			strings.Join(EventTypes, ", "), strings.Join(patterns, ", "))
	}
	for _, t := range types {
		t = strings.TrimSpace(t)
		if !slices.Contains(EventTypes, t) && !slices.Contains(patterns, t) {
			return fmt.Errorf("eventTypes: %q is not an event type; use one of %s or a pattern (%s)",
				t, strings.Join(EventTypes, ", "), strings.Join(patterns, ", "))
		}
	}
	return nil
}

// Wants reports whether an endpoint listing types receives events of type typ.
func Wants(types []string, typ string) bool {
	for _, t := range types {
		switch {
		case t == typ, t == "*":
			return true
		case strings.HasSuffix(t, ".*") && strings.HasPrefix(typ, strings.TrimSuffix(t, "*")):
			return true
		}
	}
	return false
}

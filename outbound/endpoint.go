package outbound

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// EndpointInput is what the platform registers: where to deliver, which events, for
// which connections.
type EndpointInput struct {
	URL           string   `json:"url"`
	EventTypes    []string `json:"eventTypes"`
	ConnectionID  string   `json:"connectionId,omitempty"`
	IncludeRecord bool     `json:"includeRecord,omitempty"`
	Description   string   `json:"description,omitempty"`
}

// DefaultOverlap is how long a rotated-out signing secret keeps signing by default.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap bounds the overlap of a rotation.
const MaxOverlap = 30 * 24 * time.Hour

// CreateEndpoint checks in and registers the endpoint with a new signing secret, which is
// returned once and afterwards only used to sign. Bad input yields an error wrapping
// store.ErrInvalid that names the field and the fix; an unknown connection
// store.ErrNotFound.
func (s *Service) CreateEndpoint(ctx context.Context, in EndpointInput) (store.Endpoint, secret.Secret, error) {
	if err := CheckURL(in.URL, s.allowPrivate); err != nil {
		return store.Endpoint{}, "", fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if err := CheckEventTypes(in.EventTypes); err != nil {
		return store.Endpoint{}, "", fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	if id := strings.TrimSpace(in.ConnectionID); id != "" {
		c, err := s.st.GetConnection(ctx, id)
		if err != nil {
			return store.Endpoint{}, "", fmt.Errorf("connectionId: %w", err)
		}
		in.ConnectionID = c.ID // a name is accepted and stored as the ID
	}
	signing := store.NewSigningSecret()
	e, err := s.st.CreateEndpoint(ctx, store.Endpoint{URL: in.URL, EventTypes: in.EventTypes, ConnectionID: in.ConnectionID,
		IncludeRecord: in.IncludeRecord, Description: in.Description}, signing)
	if err != nil {
		return store.Endpoint{}, "", err
	}
	return e, signing, nil
}

// RotateEndpointSecret gives the endpoint a new signing secret, returned once; the previous one
// keeps signing for overlap (0 means DefaultOverlap; negative means not at all), so every
// delivery in that time carries both signatures and the receiver can switch keys without
// losing one.
func (s *Service) RotateEndpointSecret(ctx context.Context, id string, overlap time.Duration) (store.Endpoint, secret.Secret, error) {
	switch {
	case overlap == 0:
		overlap = DefaultOverlap
	case overlap > MaxOverlap:
		return store.Endpoint{}, "", fmt.Errorf("%w: overlapSeconds %d is longer than %d (30 days); pick a shorter overlap",
			store.ErrInvalid, int64(overlap/time.Second), int64(MaxOverlap/time.Second))
	}
	signing := store.NewSigningSecret()
	e, err := s.st.RotateEndpointSecret(ctx, id, signing, s.now().Add(overlap))
	s.forget(id)
	if err != nil {
		return store.Endpoint{}, "", err
	}
	return e, signing, nil
}

// Endpoint returns the endpoint with the ID; store.ErrNotFound if there is none.
func (s *Service) Endpoint(ctx context.Context, id string) (store.Endpoint, error) {
	return s.st.Endpoint(ctx, id)
}

// Endpoints returns every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]store.Endpoint, error) {
	return s.st.Endpoints(ctx)
}

// enabledOnly leaves out the disabled endpoints: they get no new events.
func enabledOnly(eps []store.Endpoint) []store.Endpoint {
	out := eps[:0:0]
	for _, ep := range eps {
		if !ep.Disabled {
			out = append(out, ep)
		}
	}
	return out
}

// SetEndpointEnabled enables the endpoint or disables it (reason says by whom or why).
// A disabled endpoint gets no new events, and its pending deliveries end dead at their
// next attempt without being sent (replay them after enabling it). Other instances see
// the change within endpointTTL.
func (s *Service) SetEndpointEnabled(ctx context.Context, id string, enabled bool, reason string) (store.Endpoint, error) {
	ep, err := s.st.SetEndpointEnabled(ctx, id, enabled, reason)
	s.forget(id)
	return ep, err
}

// checkEnabled refuses to send anything new to a disabled endpoint.
func checkEnabled(ep store.Endpoint) error {
	if ep.Disabled {
		return fmt.Errorf("%w: webhook endpoint %s is disabled (%s); enable it first (PATCH /api/v1/webhook-endpoints/%s with {\"enabled\": true})",
			store.ErrConflict, ep.ID, ep.DisabledReason, ep.ID)
	}
	return nil
}

// DeleteEndpoint deletes the endpoint and what was delivered to it; deliveries in flight
// are dropped.
func (s *Service) DeleteEndpoint(ctx context.Context, id string) error {
	s.forget(id)
	return s.st.DeleteEndpoint(ctx, id)
}

// Delivery returns one delivery with its body; store.ErrNotFound if there is none.
func (s *Service) Delivery(ctx context.Context, id string) (store.Delivery, error) {
	return s.st.Delivery(ctx, id)
}

// Deliveries lists deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, q store.DeliveryQuery) ([]store.Delivery, error) {
	return s.st.Deliveries(ctx, q)
}

// DeliveryAttempts returns a delivery's attempt log, oldest first.
func (s *Service) DeliveryAttempts(ctx context.Context, id string) ([]store.DeliveryAttempt, error) {
	return s.st.DeliveryAttempts(ctx, id)
}

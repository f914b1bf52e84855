package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
)

// SigningSecretPrefix starts every signing secret of an outbound webhook endpoint, as the
// Standard Webhooks convention has it ("whsec_" + base64 of the key;
// auth-jobs-delivery-facts §5).
const SigningSecretPrefix = "whsec_"

// SigningSecretBytes is the size of the random key of a signing secret (the convention
// asks for 24 to 64 bytes).
const SigningSecretBytes = 32

// NewSigningSecret returns a fresh signing secret: SigningSecretPrefix and
// SigningSecretBytes random bytes in standard base64.
func NewSigningSecret() secret.Secret {
	b := make([]byte, SigningSecretBytes)
	_, _ = rand.Read(b)
	return secret.Secret(SigningSecretPrefix + base64.StdEncoding.EncodeToString(b))
}

// Endpoint is a URL of the platform that receives outbound webhooks (package outbound):
// which events it wants, for which connections, and the records of its signing secrets
// (never their values).
type Endpoint struct {
	ID string `json:"id"`
	// URL receives the deliveries (POST).
	URL string `json:"url"`
	// EventTypes are the event types (or "prefix.*" patterns) the endpoint receives;
	// package outbound knows the names.
	EventTypes []string `json:"eventTypes"`
	// ConnectionID limits the endpoint to one connection's events; "" means every
	// connection.
	ConnectionID string `json:"connectionId,omitempty"`
	// IncludeRecord asks for the record as BC sent it in record.created and
	// record.updated events.
	IncludeRecord bool `json:"includeRecord"`
	// Description is free text for people.
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	// Secrets are the signing secrets deliveries are signed with now: the current one
	// first, then a previous one until its ExpiresAt (the overlap of a rotation).
	Secrets []SigningSecretInfo `json:"secrets"`
}

// SigningSecretInfo describes a stored signing secret without its value.
type SigningSecretInfo struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when a rotated-out secret stops signing; zero for the current one.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// MaxEndpointURL bounds an endpoint URL's length.
const MaxEndpointURL = 2048

// Normalize trims the fields, drops duplicate event types (keeping their order) and
// checks the structure every stored endpoint must have. Its error wraps [ErrInvalid] and
// names the field. The URL's scheme and host and the event types' names are checked by
// package outbound, which knows the rules.
func (e *Endpoint) Normalize() error {
	e.URL = strings.TrimSpace(e.URL)
	e.ConnectionID = strings.TrimSpace(e.ConnectionID)
	e.Description = strings.TrimSpace(e.Description)
	var types []string
	for _, t := range e.EventTypes {
		if t = strings.TrimSpace(t); !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	e.EventTypes = types
	switch {
	case e.URL == "":
		return fmt.Errorf("%w: url is empty; give the https URL that receives the webhooks", ErrInvalid)
	case len(e.URL) > MaxEndpointURL:
		return fmt.Errorf("%w: url is %d characters long; the limit is %d", ErrInvalid, len(e.URL), MaxEndpointURL)
	case len(e.EventTypes) == 0:
		return fmt.Errorf("%w: eventTypes is empty; list the event types the endpoint receives, e.g. [\"record.created\"]", ErrInvalid)
	case slices.Contains(e.EventTypes, ""):
		return fmt.Errorf("%w: eventTypes holds an empty name; remove it", ErrInvalid)
	case len(e.Description) > 1000:
		return fmt.Errorf("%w: description is %d characters long; the limit is 1000", ErrInvalid, len(e.Description))
	}
	return nil
}

// OutboundStore keeps the platform's outbound webhook endpoints and their signing
// secrets, which are sealed like client secrets (AAD: endpoint ID + secret ID) and count
// in [SecretStore.ReSealAll] and [SecretStore.SealedKeyIDs].
type OutboundStore interface {
	// CreateEndpoint normalizes e (see [Endpoint.Normalize]), gives it an ID, stamps its
	// times, seals signing as its current secret and returns the stored endpoint.
	// ErrInvalid for a bad field or an empty secret.
	CreateEndpoint(ctx context.Context, e Endpoint, signing secret.Secret) (Endpoint, error)
	// Endpoint returns the endpoint with the ID; ErrNotFound if there is none.
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	// Endpoints returns every endpoint, oldest first.
	Endpoints(ctx context.Context) ([]Endpoint, error)
	// DeleteEndpoint deletes the endpoint, its secrets and everything delivered to it.
	// ErrNotFound if there is none.
	DeleteEndpoint(ctx context.Context, id string) error
	// RotateEndpointSecret makes signing the endpoint's current secret; the previous
	// current one keeps signing until oldUntil (not at all if oldUntil is not after now)
	// and any older one is erased. ErrNotFound, or ErrInvalid for an empty secret.
	RotateEndpointSecret(ctx context.Context, id string, signing secret.Secret, oldUntil time.Time) (Endpoint, error)
	// SigningSecrets opens the endpoint's secrets that sign now, the current one first.
	// ErrNotFound if the endpoint does not exist.
	SigningSecrets(ctx context.Context, endpointID string) ([]secret.Secret, error)
}

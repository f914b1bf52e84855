package outbound

import (
	"context"
	"sync"
	"time"

	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// endpointTTL is how long an instance reuses an endpoint and its opened signing secrets
// for attempts. A rotation or deletion on this instance takes effect at once; on another
// instance within endpointTTL (a rotation's overlap covers it).
const endpointTTL = 5 * time.Second

type cachedEndpoint struct {
	ep      store.Endpoint
	secrets []secret.Secret
	until   time.Time
}

type endpointCache struct {
	mu sync.Mutex
	m  map[string]cachedEndpoint
}

// endpoint returns the endpoint and the secrets that sign now, from the cache when fresh.
func (s *Service) endpoint(ctx context.Context, id string) (store.Endpoint, []secret.Secret, error) {
	now := s.now()
	s.cache.mu.Lock()
	c, ok := s.cache.m[id]
	s.cache.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.ep, c.secrets, nil
	}
	ep, err := s.st.Endpoint(ctx, id)
	if err != nil {
		return ep, nil, err
	}
	secrets, err := s.st.SigningSecrets(ctx, id)
	if err != nil {
		return ep, nil, err
	}
	until := now.Add(endpointTTL)
	for _, info := range ep.Secrets { // a rotated-out secret must not sign past its end
		if !info.ExpiresAt.IsZero() && info.ExpiresAt.Before(until) {
			until = info.ExpiresAt
		}
	}
	s.cache.mu.Lock()
	if s.cache.m == nil {
		s.cache.m = map[string]cachedEndpoint{}
	}
	s.cache.m[id] = cachedEndpoint{ep: ep, secrets: secrets, until: until}
	s.cache.mu.Unlock()
	return ep, secrets, nil
}

// forget drops an endpoint from the cache.
func (s *Service) forget(id string) {
	s.cache.mu.Lock()
	delete(s.cache.m, id)
	s.cache.mu.Unlock()
}

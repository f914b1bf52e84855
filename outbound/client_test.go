package outbound

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestClientRefusesPrivateAtDial: a URL whose host is a name (which CheckURL cannot
// judge) is refused when the name resolves to loopback; with AllowPrivate it goes
// through, and a redirect is returned as the answer, not followed.
func TestClientRefusesPrivateAtDial(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	url := "https://localhost:" + port + "/hook" // a name, resolved at dial time

	_, err := NewClient(ClientOptions{TLS: tlsCfg}).Post(url, "application/json", nil)
	if !errors.Is(err, ErrPrivateTarget) {
		t.Fatalf("POST to a name resolving to loopback: %v, want ErrPrivateTarget", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("the refused target was reached %d times", hits.Load())
	}
	resp, err := NewClient(ClientOptions{TLS: tlsCfg, AllowPrivate: true}).Post(srv.URL+"/hook", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits.Load() != 1 {
		t.Fatalf("with private targets allowed: status %d after %d hits, want the 302 itself after 1", resp.StatusCode, hits.Load())
	}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/outbound"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/service"
	"github.com/bizzjoiner/bcconnector/store"
	"github.com/bizzjoiner/bcconnector/store/sqlite"
	"github.com/bizzjoiner/bcconnector/syncer"
	"github.com/bizzjoiner/bcconnector/web/api"
)

// inlineJobs runs sync jobs in goroutines, one at a time per target (what River's
// uniqueness gives in production).
type inlineJobs struct {
	mu   sync.Mutex
	svc  *service.Impl
	sync *syncer.Syncer
	wg   sync.WaitGroup
	busy map[syncer.Target]bool
}

func (j *inlineJobs) Enqueue(ctx context.Context, a syncer.SyncArgs, _ time.Time) (syncer.Enqueued, error) {
	t := a.Target()
	j.mu.Lock()
	if j.busy[t] {
		j.mu.Unlock()
		return syncer.Enqueued{State: "running", Duplicate: true}, nil
	}
	j.busy[t] = true
	j.mu.Unlock()
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer func() { j.mu.Lock(); delete(j.busy, t); j.mu.Unlock() }()
		c, err := j.svc.Client(context.Background(), t.ConnectionID)
		if err == nil {
			_, _ = j.sync.Sync(context.Background(), c, t)
		}
	}()
	return syncer.Enqueued{State: "available"}, nil
}

type env struct {
	t      testing.TB
	sb     *emulatortest.Sandbox
	emu    *emulator.Emulator
	creds  emulator.Credentials
	db     *sqlite.DB
	svc    *service.Impl
	out    *outbound.Service
	jobs   *inlineJobs
	srv    *httptest.Server
	log    *testlog.Buffer
	bodies *[]string // every response body, for the secret scan
	token  string    // all connections
}

func setup(t testing.TB) *env {
	t.Helper()
	sb := emulatortest.Start(t, emulator.Config{Scenario: emulator.ScenarioOK})
	e := &env{t: t, sb: sb, emu: sb.Emulator, creds: sb.Creds, log: &testlog.Buffer{}, bodies: &[]string{}}
	logger := e.log.Logger()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bcc.db"), secret.GenerateKeyring(), sqlite.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	sy, err := syncer.New(syncer.Options{Store: db, PageSize: 200, Logger: logger, ExtensionFields: true})
	if err != nil {
		t.Fatal(err)
	}
	e.jobs = &inlineJobs{sync: sy, busy: map[syncer.Target]bool{}}
	e.svc, err = service.New(service.Options{Store: db, Syncer: sy, Jobs: e.jobs, HTTPClient: sb.Client(), Logger: logger, AllowEndpointOverrides: true})
	if err != nil {
		t.Fatal(err)
	}
	e.jobs.svc = e.svc
	t.Cleanup(e.jobs.wg.Wait)
	e.out = outbound.New(outbound.Options{Store: db, Logger: logger})
	h := api.New(api.Options{Service: e.svc, Tokens: db, Logger: logger, MaxWait: 2 * time.Second, Outbound: e.out, Audit: db})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.token = e.newToken("all", nil)
	return e
}

func (e *env) newToken(name string, conns []string) string {
	e.t.Helper()
	tok := store.NewToken()
	if _, err := e.db.CreateToken(context.Background(), name, conns, store.HashToken(tok.Reveal())); err != nil {
		e.t.Fatal(err)
	}
	return tok.Reveal()
}

func (e *env) input() service.ConnectionInput {
	return service.ConnectionInput{TenantID: e.creds.TenantID, ClientID: e.creds.ClientID, Secret: secret.Secret(e.creds.ClientSecret),
		SecretEndDate: e.creds.SecretEndDate.Format("2006-01-02"), Environment: e.creds.Environment, Company: e.creds.Company,
		AuthorityHost: e.sb.AuthorityHost(), BCBaseURL: e.sb.BCBaseURL(), Entities: []string{"customers", "currencies"}}
}

// wireInput is in as an API client sends it: a secret.Secret marshals as "[REDACTED]", so
// the secret's value is put into the JSON here.
func wireInput(in service.ConnectionInput) []byte {
	j, _ := json.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(j, &m)
	if !in.Secret.IsZero() {
		m["secret"] = in.Secret.Reveal()
	}
	j, _ = json.Marshal(m)
	return j
}

// createConn creates a connection through the API and returns its ID.
func (e *env) createConn(name string) string {
	e.t.Helper()
	in := e.input()
	in.Name = name
	var v struct{ ID string }
	e.do("POST", "/connections", e.token, in, 201, &v)
	return v.ID
}

// call sends a request and returns status, header and body; every body is kept for the
// secret scan.
func (e *env) call(method, path, token string, body any, hdr ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case service.ConnectionInput:
		rd = bytes.NewReader(wireInput(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.srv.URL+api.Prefix+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	*e.bodies = append(*e.bodies, string(b))
	return resp.StatusCode, resp.Header, b
}

// do is call that expects a status and decodes the body into out.
func (e *env) do(method, path, token string, body any, want int, out any, hdr ...string) []byte {
	e.t.Helper()
	st, _, b := e.call(method, path, token, body, hdr...)
	if st != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

// waitRows waits until the replica of set has rows.
func (e *env) waitRows(id, set string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Sets []struct {
				EntitySet    string
				Rows         int64
				FullSyncDone bool
			}
		}
		e.do("GET", "/connections/"+id+"/sync", e.token, nil, 200, &st)
		for _, s := range st.Sets {
			if s.EntitySet == set && s.FullSyncDone && s.Rows > 0 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s never synced", set)
}

// scanSecrets fails if any response or the log holds the client secret or a token.
func (e *env) scanSecrets(extra ...string) {
	e.t.Helper()
	logText := e.log.String()
	for _, s := range append([]string{e.creds.ClientSecret, e.token}, extra...) {
		if s == "" {
			continue
		}
		for i, b := range *e.bodies {
			if strings.Contains(b, s) {
				e.t.Errorf("response %d contains a secret: %.200s", i, b)
			}
		}
		if strings.Contains(logText, s) {
			e.t.Errorf("the log contains a secret")
		}
	}
}

// problemBody is an error answer: RFC 9457 problem details with our extension members.
type problemBody struct {
	Type, Title, Detail, Code, Field, Step, Fix string
	Status                                      int
	PrunedThrough                               *int64
}

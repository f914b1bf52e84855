package conn_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/bizzjoiner/bcconnector/conn"
	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
	"github.com/bizzjoiner/bcconnector/secret"
	"github.com/bizzjoiner/bcconnector/store"
)

// TestLogHostsNamesEachHostOnce: the first request to a host is logged with the host and
// nothing else of the request; later requests, from any client sharing the wrapper, are not.
func TestLogHostsNamesEachHostOnce(t *testing.T) {
	srv := emulatortest.Start(t, emulator.Config{})
	cr := srv.Creds
	var buf testlog.Buffer
	log := buf.Logger()
	wrap := conn.LogHosts(log)
	c := store.Connection{TenantID: cr.TenantID, ClientID: cr.ClientID, Environment: cr.Environment,
		AuthorityHost: srv.AuthorityHost(), BCBaseURL: srv.BCBaseURL(), CAFile: srv.CAFile}
	for range 2 { // two connections' clients over one wrapper
		cn, err := conn.Open(c, secret.Credential{Secret: secret.Secret(cr.ClientSecret)}, conn.Options{WrapTransport: wrap})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cn.BC.Companies(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(srv.BCBaseURL())
	var hosts []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var l struct{ Msg, Host, Scheme string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == conn.OutboundHostMsg {
			hosts = append(hosts, l.Scheme+"://"+l.Host)
		}
		if strings.Contains(line, cr.ClientSecret) || strings.Contains(line, "oauth2") {
			t.Errorf("a log line holds the secret or a path: %s", line)
		}
	}
	// Entra and BC share the emulator's host: one line.
	if len(hosts) != 1 || hosts[0] != "https://"+u.Host {
		t.Errorf("outbound host lines %v, want exactly [https://%s]", hosts, u.Host)
	}
}

package outbound

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.16.5.4", true}, {"172.31.255.255", true}, {"192.168.1.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"0.0.0.0", true}, {"::", true}, {"0.1.2.3", true},
		{"100.64.0.1", true}, {"198.18.0.1", true}, {"255.255.255.255", true}, {"224.0.0.1", true}, {"ff02::1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a9fe:a9fe", true}, // 169.254.169.254 via NAT64
		{"8.8.8.8", false}, {"172.32.0.1", false}, {"100.128.0.1", false}, {"2606:4700::1111", false},
		{"::ffff:8.8.8.8", false}, {"64:ff9b::808:808", false},
	} {
		if got := Refused(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Refused(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		wantErr      string // "" = accepted
	}{
		{"https://platform.example/hooks", false, ""},
		{"https://platform.example:8443/a?b=c", false, ""},
		{"https://8.8.8.8/x", false, ""},
		{"http://platform.example/hooks", false, "https only"},
		{"http://platform.example/hooks", true, ""},
		{"ftp://platform.example/", false, "absolute https URL"},
		{"/relative", false, "absolute https URL"},
		{"https:///nohost", false, "no host"},
		{"https://u:p@platform.example/", false, "password"},
		{"https://platform.example/#frag", false, "fragment"},
		{"https://localhost/x", false, "allow-private-webhook-targets"},
		{"https://api.LOCALHOST./x", false, "this machine"},
		{"https://127.0.0.1/x", false, "loopback"},
		{"https://127.0.0.1/x", true, ""},
		{"https://[fe80::1%25eth0]/x", false, "link-local"},
		{"https://10.0.0.1/x", false, "private"},
		{"https://%zz/", false, "url"},
	} {
		err := CheckURL(tc.url, tc.allowPrivate)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("CheckURL(%q, %v) = %v, want accepted", tc.url, tc.allowPrivate, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("CheckURL(%q, %v) = %v, want an error with %q", tc.url, tc.allowPrivate, err, tc.wantErr)
		}
	}
	if err := CheckURL("https://10.0.0.1/", false); !errors.Is(err, ErrPrivateTarget) {
		t.Errorf("a private target's error does not match ErrPrivateTarget: %v", err)
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://platform.example/hooks", "http://127.0.0.1:80/", "https://[::ffff:10.0.0.1]/", "https://u@h/#f", "%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckURL(raw, false)
		if err == nil {
			// Whatever is accepted is https with a host that is not a refused literal.
			if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(raw)), "https:") {
				t.Fatalf("accepted %q, which is not https", raw)
			}
		}
		if errAllowed := CheckURL(raw, true); err == nil && errAllowed != nil {
			t.Fatalf("%q is accepted without private targets but refused with them: %v", raw, errAllowed)
		}
	})
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	if err := CheckEventTypes([]string{"record.created", "connection.*", "*"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{nil, {"record.moved"}, {"record"}, {"record.*.x"}, {"Record.Created"}} {
		if err := CheckEventTypes(bad); err == nil || !strings.Contains(err.Error(), "eventTypes") {
			t.Errorf("CheckEventTypes(%q) = %v, want an error naming eventTypes", bad, err)
		}
	}
	for _, tc := range []struct {
		types []string
		typ   string
		want  bool
	}{
		{[]string{"record.created"}, RecordCreated, true},
		{[]string{"record.created"}, RecordUpdated, false},
		{[]string{"record.*"}, RecordDeleted, true},
		{[]string{"record.*"}, SetupFailed, false},
		{[]string{"connection.*"}, SecretExpiring, true},
		{[]string{"*"}, SyncRecovered, true},
		{[]string{"record.*"}, "recordx.y", false},
	} {
		if got := Wants(tc.types, tc.typ); got != tc.want {
			t.Errorf("Wants(%q, %s) = %v, want %v", tc.types, tc.typ, got, tc.want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "-5", "99999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 03 Dec 2026 08:00:00 GMT", "soon", ""} {
		f.Add(s, 429)
	}
	now := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string, status int) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {v}}}
		d := retryAfterOf(resp, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("Retry-After %q gave %s, want 0..%s", v, d, maxRetryAfter)
		}
		if d != 0 && status != 429 && status != 503 {
			t.Fatalf("Retry-After honoured on status %d", status)
		}
	})
}

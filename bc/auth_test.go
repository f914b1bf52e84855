package bc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bizzjoiner/bcconnector/emulator"
	"github.com/bizzjoiner/bcconnector/emulator/emulatortest"
	"github.com/bizzjoiner/bcconnector/internal/testlog"
)

func TestExpiredTokenMidCrawlIsRefreshedOnce(t *testing.T) {
	t.Parallel()
	bcClock := &emulatortest.Clock{}
	e := setup(t, emulator.Config{Now: bcClock.Now})
	tokens := e.tokens()
	c := e.client(Options{Tokens: tokens})
	n, pages := 0, 0
	for p, err := range c.Pages(t.Context(), e.set("customers"), &Query{PageSize: 10}) {
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		n += len(p.Records)
		if pages++; pages == 2 {
			// The cached token expires between two pages (tokens live 3599 s).
			bcClock.Advance(2 * time.Hour)
		}
	}
	if want := e.emu.Count(e.emu.DemoCompanyRef(), "customers"); n != want {
		t.Errorf("crawled %d customers, want %d", n, want)
	}
	fetches, invalidations := tokens.Counts()
	if fetches != 2 || invalidations != 1 {
		t.Errorf("token fetches %d, invalidations %d; want 2 and 1", fetches, invalidations)
	}
}

func TestAuthFailureIsNotRetriedTwice(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{Scenario: emulator.ScenarioBCAppMissing})
	tokens := e.tokens()
	c := e.client(Options{Tokens: tokens})
	_, err := c.ListPage(t.Context(), e.set("customers"), nil)
	if !IsAuth(err) || !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	var be *Error
	if !errors.As(err, &be) || be.Code != CodeInvalidCredentials || !strings.Contains(err.Error(), "Microsoft Entra Applications") {
		t.Errorf("err = %v", err)
	}
	if _, inv := tokens.Counts(); inv != 1 || e.bcRequests.Load() != 2 {
		t.Errorf("invalidations %d, requests %d; want one refresh and one retry", inv, e.bcRequests.Load())
	}
}

func TestTokenSourceErrorsAreReturned(t *testing.T) {
	t.Parallel()
	e := setup(t, emulator.Config{})
	tokens := e.tokens()
	fail := errors.New("AADSTS7000222: the client secret keys are expired")
	tokens.Fail(fail)
	c := e.client(Options{Tokens: tokens})
	_, err := c.ListPage(t.Context(), e.set("customers"), nil)
	if err == nil || !errors.Is(err, fail) || !strings.Contains(err.Error(), "access token") {
		t.Fatalf("err = %v", err)
	}
	if e.bcRequests.Load() != 0 {
		t.Error("a request went out without a token")
	}
}

func TestSecretsNeverReachLogsOrErrors(t *testing.T) {
	t.Parallel()
	bcClock := &emulatortest.Clock{}
	e := setup(t, emulator.Config{Now: bcClock.Now})
	var logs testlog.Buffer
	tokens := e.tokens()
	c := e.client(Options{Tokens: tokens, Logger: logs.Logger()})
	withFakeSleep(c)
	e.addFaults("seq:bc=429,500,ok")
	if _, err := c.ListPage(t.Context(), e.set("customers"), &Query{Top: 1}); err != nil {
		t.Fatal(err)
	}
	first, _ := tokens.Token(t.Context())
	bcClock.Advance(2 * time.Hour) // the next call is rejected with 401 and refreshed
	var errs []string
	_, err := c.Update(t.Context(), e.set("customers"), newUUID(), "W/\"x\"", map[string]any{"displayName": "x"})
	errs = append(errs, err.Error())
	_, err = c.Get(t.Context(), e.set("nope"), newUUID(), nil)
	errs = append(errs, err.Error())
	second, _ := tokens.Token(t.Context())
	if first == second {
		t.Fatal("the token was not refreshed; the test proves less than it claims")
	}
	for _, secret := range []string{first, second, e.creds.ClientSecret, second[len(second)-24:]} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs contain a secret")
		}
		for _, msg := range errs {
			if strings.Contains(msg, secret) {
				t.Errorf("an error contains a secret: %s", msg)
			}
		}
	}
	if !strings.Contains(logs.String(), "fresh token") || !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the refresh and the retries were not logged; the scan proves little:\n%s", logs.String())
	}
}

package emulatortest

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/bizzjoiner/bcconnector/emulator"
)

// FollowConsent opens an admin-consent link as the customer's admin's browser would and
// returns the query Entra redirected back with (admin_consent=True, tenant, state; or
// error, error_description, state). decision is the emulator's emulator_consent ("grant",
// "deny", "user"; "" leaves it to the tenant and the AutoConsent setting). The redirect
// itself is not followed: the caller hands the query to the callback it names.
func (s *Sandbox) FollowConsent(link, decision string) (redirect *url.URL) {
	s.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		s.t.Fatalf("emulatortest: consent link %q: %v", link, err)
	}
	if decision != "" {
		q := u.Query()
		q.Set("emulator_consent", decision)
		u.RawQuery = q.Encode()
	}
	c := *s.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(u.String())
	if err != nil {
		s.t.Fatalf("emulatortest: open the consent link: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		s.t.Fatalf("emulatortest: the consent link answered %d, not a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		s.t.Fatalf("emulatortest: consent redirect %q: %v", resp.Header.Get("Location"), err)
	}
	return loc
}

// RegisterInBC does Step 6 for client in a tenant's environment, as the customer's admin
// does on BC's Microsoft Entra Applications page: Enabled, with the permission set
// BIZZJOINER CONNECTOR.
func (s *Sandbox) RegisterInBC(tenantID, environment, clientID string) {
	s.t.Helper()
	err := s.SetBCApp(tenantID, environment, emulator.BCApp{ClientID: clientID, Description: "Bizzjoiner Connector",
		Enabled: true, PermissionSets: []string{emulator.ConnectorPermissionSet}})
	if err != nil {
		s.t.Fatalf("emulatortest: Step 6: %v", err)
	}
}

// RevokeExpress deletes the express app's service principal in a tenant, as an admin who
// deletes the enterprise application does (consent revoked).
func (s *Sandbox) RevokeExpress(tenantID string) {
	s.t.Helper()
	if err := s.Directory().RemoveApp(strings.ToLower(tenantID), s.Express().ClientID); err != nil {
		s.t.Fatalf("emulatortest: revoke express consent: %v", err)
	}
}

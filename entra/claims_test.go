package entra

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"
)

// jwt builds an unsigned-looking JWT around a JSON payload.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"typ":"JWT","alg":"RS256","kid":"k"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestParseClaims(t *testing.T) {
	t.Parallel()
	const tid, app, oid = "72f988bf-86f1-41af-91ab-2d7cd011db47", "964c5ad7-2f0b-4d37-a206-07eda9e646d7", "0b7e1c9a-0000-4000-8000-000000000001"
	// A v1 BC token as Entra issues it (bc-entra-facts §1.6).
	v1 := `{"aud":"https://api.businesscentral.dynamics.com","iss":"https://sts.windows.net/` + tid + `/","iat":1764156000,"nbf":1764156000,"exp":1764159599,` +
		`"aio":"x","appid":"` + app + `","appidacr":"1","idp":"https://sts.windows.net/` + tid + `/","oid":"` + oid + `","rh":"r",` +
		`"roles":["API.ReadWrite.All","Automation.ReadWrite.All"],"sub":"` + oid + `","tid":"` + tid + `","uti":"u","ver":"1.0"}`
	tests := []struct {
		name    string
		token   string
		want    Claims
		wantErr string
	}{
		{name: "v1 BC token", token: jwt(v1), want: Claims{
			TenantID: tid, AppID: app, Audience: "https://api.businesscentral.dynamics.com", Issuer: "https://sts.windows.net/" + tid + "/",
			ObjectID: oid, Roles: []string{"API.ReadWrite.All", "Automation.ReadWrite.All"}, HasRolesClaim: true,
			IssuedAt: time.Unix(1764156000, 0).UTC(), NotBefore: time.Unix(1764156000, 0).UTC(), ExpiresAt: time.Unix(1764159599, 0).UTC(),
		}},
		{name: "no roles claim (consent missing)", token: jwt(`{"tid":"` + tid + `","appid":"` + app + `","exp":1764159599}`),
			want: Claims{TenantID: tid, AppID: app, ExpiresAt: time.Unix(1764159599, 0).UTC()}},
		{name: "roles null is no roles claim", token: jwt(`{"roles":null}`), want: Claims{}},
		{name: "roles empty array", token: jwt(`{"roles":[]}`), want: Claims{Roles: []string{}, HasRolesClaim: true}},
		{name: "v2 azp and audience GUID array", token: jwt(`{"azp":"` + app + `","aud":["996def3d-b36c-4153-8607-a6fd3c01b89f","x"]}`),
			want: Claims{AppID: app, Audience: "996def3d-b36c-4153-8607-a6fd3c01b89f x"}},
		{name: "fractional exp", token: jwt(`{"exp":1764159599.5}`), want: Claims{ExpiresAt: time.Unix(1764159599, 5e8).UTC()}},
		{name: "padded payload", token: "h." + base64.URLEncoding.EncodeToString([]byte(`{"tid":"abc"}`)) + ".s", want: Claims{TenantID: "abc"}},
		{name: "empty", token: "", wantErr: "empty"},
		{name: "opaque token", token: "opaque-reference-token", wantErr: "has 1 dot-separated parts"},
		{name: "JWE has five parts", token: "a.b.c.d.e", wantErr: "has 5 dot-separated parts"},
		{name: "bad base64", token: "h.!!!.s", wantErr: "not base64url"},
		{name: "not json", token: "h." + base64.RawURLEncoding.EncodeToString([]byte("secretish-not-json")) + ".s", wantErr: "not a JSON object"},
		{name: "json array", token: jwt(`["a"]`), wantErr: "not a JSON object"},
		{name: "json null", token: jwt(`null`), wantErr: "not a JSON object"},
		{name: "wrong claim types", token: jwt(`{"tid":5,"roles":"API.ReadWrite.All","exp":"soon","aud":7,"iat":-1,"nbf":1e300}`),
			wantErr: `claim "tid" is not a string`, want: Claims{HasRolesClaim: true}},
		{name: "too long", token: strings.Repeat("a", maxTokenLen+1), wantErr: "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseClaims(tc.token)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				if len(tc.token) >= 8 && strings.Contains(err.Error(), tc.token) {
					t.Errorf("error echoes the token: %v", err)
				}
				if strings.Contains(err.Error(), "secretish") {
					t.Errorf("error echoes the payload: %v", err)
				}
			} else if err != nil {
				t.Fatalf("ParseClaims: %v", err)
			}
			if got.TenantID != tc.want.TenantID || got.AppID != tc.want.AppID || got.Audience != tc.want.Audience ||
				got.Issuer != tc.want.Issuer || got.ObjectID != tc.want.ObjectID || !slices.Equal(got.Roles, tc.want.Roles) ||
				got.HasRolesClaim != tc.want.HasRolesClaim || !got.IssuedAt.Equal(tc.want.IssuedAt) ||
				!got.NotBefore.Equal(tc.want.NotBefore) || !got.ExpiresAt.Equal(tc.want.ExpiresAt) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseClaimsReportsEveryBadClaim(t *testing.T) {
	t.Parallel()
	_, err := ParseClaims(jwt(`{"tid":5,"roles":"x","exp":"soon","aud":7,"iat":-1,"nbf":1e300}`))
	for _, want := range []string{`"tid"`, `"roles"`, `"exp"`, `"aud"`, `"iat"`, `"nbf"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name claim %s", err, want)
		}
	}
}

func TestHasRole(t *testing.T) {
	t.Parallel()
	c := Claims{Roles: []string{"API.ReadWrite.All"}}
	if !c.HasRole("API.ReadWrite.All") || c.HasRole("api.readwrite.all") || c.HasRole("Automation.ReadWrite.All") || (Claims{}).HasRole("") {
		t.Error("HasRole")
	}
}

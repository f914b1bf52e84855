// Package idp is the Microsoft Entra ID side of the emulator: a mutable directory of tenants,
// app registrations, client secrets and API permissions, and an HTTP server that answers like
// login.microsoftonline.com does for the OAuth 2.0 client-credentials flow against Business
// Central.
//
// It serves, on the emulator's own https host (bc-entra-facts §1, §11 items 1–6):
//
//	POST /{tenant}/oauth2/v2.0/token                    client credentials (v2, scope=…/.default)
//	POST /{tenant}/oauth2/token                         client credentials (v1, resource=…)
//	GET  /{tenant}/v2.0/.well-known/openid-configuration OIDC discovery (MSAL reads it)
//	GET  /{tenant}/discovery/v2.0/keys                  JWKS (also /{tenant}/discovery/keys)
//	GET  /common/discovery/instance                     MSAL instance discovery
//	GET  /{tenant}/adminconsent                         admin consent (test convenience, no UI)
//
// Access tokens are RS256 JWTs in Entra's v1 shape for the BC resource (§1.6): roles are the
// consented Application permissions on the BC resource that BC actually defines as app roles,
// snapshotted at issuance, and the roles claim is absent when there are none — Entra issues
// such tokens without complaint and leaves the refusal to BC (§0 items 1–2).
//
// The BC side of the emulator checks bearer tokens with [Server.Verify] (signature and time
// only; audience, tenant and roles are its own business).
package idp

// Package bc is bcconnector's client for the Business Central online APIs: API v2.0, custom
// API pages (/api/{publisher}/{group}/{version}) and the automation API.
//
// One Client serves one connection: one Entra app in one tenant and environment. It keeps
// within BC's per-app limits (bc-entra-facts §5) with a concurrency cap and a sliding-window
// rate limit, retries transient failures with jittered exponential backoff that honours
// Retry-After, refreshes an expired token once per call, and tags every request with a
// client-request-id that BC records in its telemetry.
//
// Reads follow @odata.nextLink verbatim, size pages with Prefer: odata.maxpagesize (never
// $top), send Data-Access-Intent: ReadOnly and decode pages as a stream into Records that
// keep each entity's raw JSON. Writes are addressed by company ID, carry If-Match and are
// retried only when a retry cannot apply them twice.
//
// Entity sets are addressed with Ref; filters are built with Eq, And, Or and friends, which
// render every value as an OData literal so that no user value can change a query's
// meaning.
//
// Section numbers in comments (§4.3) refer to bc-entra-facts.md, the project's reference
// for BC's wire behaviour.
package bc

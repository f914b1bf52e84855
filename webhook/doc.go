// Package webhook keeps Business Central webhook subscriptions alive and turns BC's change
// notifications into hints for the syncer.
//
// BC pushes a notification to a public HTTPS URL when records of a subscribed entity set
// change (bc-entra-facts §7). Subscriptions are fragile (peers-and-user-pain §3, "Webhooks"):
// they expire after 3 days unless renewed, every create and renewal repeats a
// validationToken handshake against the URL, and BC deletes a subscription for good when the
// URL answers anything but 2xx, 408, 429 or 5xx, or stays unreachable through five retries
// (§7.4). Notifications can also silently never come (BC's job queue, permissions). So this
// package treats notifications as hints only, and polling stays on as the safety net:
//
//   - Manager.Ensure subscribes each webhook-capable entity set of a company
//     (bcschema.Entity.Webhooks), renews subscriptions RenewBefore their expiry, re-creates
//     the ones BC deleted, and removes the ones no longer wanted. The caller runs it on a
//     schedule (EnsureResult.NextRenewal says when at the latest).
//   - Manager.ServeHTTP is the receiver behind the public URL: it answers the handshake,
//     checks each notification's clientState (a random secret per subscription, kept only as
//     a SHA-256 hash and compared in constant time) and hands a Hint per notification to the
//     HintFunc, after the response. It never answers 4xx to BC for a transient problem: a
//     4xx makes BC delete every subscription on the URL.
//   - Manager.ObservedChange lets polling report the changes it found; a change that no
//     notification covered within MissedAfter counts as a missed notification (Stats,
//     Silent), which is how the "subscriptions die silently" failure becomes visible.
//
// Subscriptions are persisted through SubscriptionStore (= store.WebhookStore, which
// *sqlite.DB implements durably); MemoryStore is the in-memory
// implementation, and store/storetest.RunWebhooks holds the conformance tests every
// implementation must pass.
//
// Section numbers (§7.3) refer to bc-entra-facts.md, the project's reference for BC's wire
// behaviour.
//
// https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions
package webhook

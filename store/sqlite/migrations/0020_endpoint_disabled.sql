-- An outbound webhook endpoint can be disabled (store.Endpoint.Disabled): by the API or
-- the UI, or by the endpoint itself answering 410 Gone. disabled_at NULL means enabled.
ALTER TABLE outbound_endpoints ADD COLUMN disabled_at TEXT;
ALTER TABLE outbound_endpoints ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';

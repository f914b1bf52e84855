-- An express connection's consent can be seen revoked (by the doctor or a token request):
-- state 'revoked', updated_at when it was first seen, error/error_description what was seen.
ALTER TABLE express_consents DROP CONSTRAINT express_consents_state_check,
    ADD CONSTRAINT express_consents_state_check CHECK (state IN ('pending', 'granted', 'refused', 'revoked'));

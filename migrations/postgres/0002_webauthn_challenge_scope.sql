-- A login challenge is either usernameless (any registered credential may
-- answer it) or bound to the account of the address it was issued for. A
-- bound challenge with user_id NULL (an address without an account) accepts
-- no credential at all, so a passkey of another account fails the same way
-- for known and unknown addresses.
ALTER TABLE webauthn_challenges ADD COLUMN discoverable BIGINT NOT NULL DEFAULT 0;

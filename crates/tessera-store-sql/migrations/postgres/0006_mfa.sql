-- Second factors and passkeys, and how each session and refresh family was
-- signed in (RFC 8176 amr values, space-separated; '' before this).

ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN amr TEXT NOT NULL DEFAULT '';

-- A user's TOTP: the secret sealed with the deployment key; pending until
-- `enabled_at`; the last time step accepted is never accepted again.
CREATE TABLE totp (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret  BYTEA NOT NULL,
    enabled_at     BIGINT,
    last_step      BIGINT,
    created_at     BIGINT NOT NULL
);

-- Only the SHA-256 of each recovery code; a used code is deleted.
CREATE TABLE recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, hash)
);

-- WebAuthn credentials; `data` is the verifier's record of the credential
-- (public key, counter, flags) as JSON.
CREATE TABLE passkeys (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id    BYTEA NOT NULL UNIQUE,
    data             TEXT NOT NULL,
    name             TEXT NOT NULL,
    sign_count       BIGINT NOT NULL,
    backup_eligible  BOOLEAN NOT NULL,
    backup_state     BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);

CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- Sign-in challenges and passkey ceremonies, when sessions are kept here
-- (Redis keeps them otherwise): keyed by the SHA-256 of what the client
-- holds, gone after a few minutes.
CREATE TABLE challenges (
    hash        BYTEA PRIMARY KEY,
    value       BYTEA NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE INDEX challenges_expires_at ON challenges (expires_at);

-- Signing keys and refresh-token families.

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY NOT NULL,
    alg          TEXT NOT NULL,
    private_der  BLOB NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
) STRICT;

CREATE TABLE refresh_families (
    id                   TEXT PRIMARY KEY NOT NULL,
    user_id              TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    absolute_expires_at  INTEGER NOT NULL,
    revoked_at           INTEGER
) STRICT;

CREATE INDEX refresh_families_user_id ON refresh_families (user_id);

-- Only the SHA-256 of a refresh token is kept.
CREATE TABLE refresh_tokens (
    hash            BLOB PRIMARY KEY NOT NULL,
    family_id       TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    spent_at        INTEGER,
    successor_hash  BLOB
) STRICT;

CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

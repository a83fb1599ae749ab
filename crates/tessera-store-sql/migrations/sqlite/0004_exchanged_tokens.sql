-- Provider tokens already traded for Tessera tokens (the token exchange):
-- only the SHA-256 of each, until it could no longer be exchanged anyway.
CREATE TABLE exchanged_tokens (
    hash        BLOB PRIMARY KEY NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX exchanged_tokens_expires_at ON exchanged_tokens (expires_at);

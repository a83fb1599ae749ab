-- Mail tokens (verify, reset, email change): only the SHA-256 of each,
-- bound to one purpose, one user and one address.
CREATE TABLE mail_tokens (
    hash        BLOB PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    address     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX mail_tokens_user_id ON mail_tokens (user_id, purpose);
CREATE INDEX mail_tokens_expires_at ON mail_tokens (expires_at);

-- The mail queue: what to send, never a token (the worker mints it when it
-- sends). A row stays until the mail is delivered; `locked_until` hides a
-- row one worker is sending from the others.
CREATE TABLE mail_queue (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    user_id          TEXT,
    address          TEXT NOT NULL,
    other            TEXT,
    created_at       INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    last_error       TEXT
) STRICT;

CREATE INDEX mail_queue_next_attempt_at ON mail_queue (next_attempt_at);
CREATE INDEX mail_queue_user_id ON mail_queue (user_id);

-- Users, sessions and shared secrets for the embedded default.
-- Times are Unix seconds (UTC). Roles are a JSON array of strings.

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT,
    email_verified  INTEGER NOT NULL DEFAULT 0,
    roles           TEXT NOT NULL DEFAULT '[]',
    password_hash   TEXT,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER
) STRICT;

CREATE INDEX users_created_at ON users (created_at, id);

-- Only the SHA-256 of a session token is kept. Each row carries a snapshot of
-- its user so that whoami is a single read. No foreign key to users: sessions
-- may live in another store (Redis) and the snapshot stands on its own.
CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY NOT NULL,
    token_hash           BLOB NOT NULL UNIQUE,
    user_id              TEXT NOT NULL,
    user_email           TEXT NOT NULL,
    user_name            TEXT,
    user_email_verified  INTEGER NOT NULL,
    user_roles           TEXT NOT NULL,
    user_created_at      INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    idle_expires_at      INTEGER NOT NULL,
    absolute_expires_at  INTEGER NOT NULL,
    user_agent           TEXT,
    ip                   TEXT
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);

CREATE TABLE secrets (
    name   TEXT PRIMARY KEY NOT NULL,
    value  BLOB NOT NULL
) STRICT;

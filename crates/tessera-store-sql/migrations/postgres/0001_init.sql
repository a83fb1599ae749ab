-- Users, sessions and shared secrets on PostgreSQL. The same columns and
-- encodings as the SQLite schema (Unix-second BIGINTs, roles as JSON text),
-- so one set of statements serves both.

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    roles           TEXT NOT NULL DEFAULT '[]',
    password_hash   TEXT,
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);

CREATE INDEX users_created_at ON users (created_at, id);

-- Used when sessions are kept in PostgreSQL too (no Redis configured).
CREATE TABLE sessions (
    id                   TEXT PRIMARY KEY,
    token_hash           BYTEA NOT NULL UNIQUE,
    user_id              TEXT NOT NULL,
    user_email           TEXT NOT NULL,
    user_name            TEXT,
    user_email_verified  BOOLEAN NOT NULL,
    user_roles           TEXT NOT NULL,
    user_created_at      BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    last_seen_at         BIGINT NOT NULL,
    idle_expires_at      BIGINT NOT NULL,
    absolute_expires_at  BIGINT NOT NULL,
    user_agent           TEXT,
    ip                   TEXT
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_idle_expires_at ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expires_at ON sessions (absolute_expires_at);

CREATE TABLE secrets (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);

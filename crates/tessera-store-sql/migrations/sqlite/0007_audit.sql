-- The audit log: security events, appended and pruned by age, never
-- updated. `seq` orders them (events of one request share a second);
-- `detail` is a JSON object without secrets.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    user_id     TEXT,
    actor       TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    detail      TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_user ON audit_events (user_id, seq);
CREATE INDEX audit_events_at ON audit_events (at);

-- The webhook outbox: one message per audit event while webhooks are on,
-- written in the event's transaction. `id` is the message's webhook-id
-- and `body` the exact bytes sent on every attempt. A sender holds a
-- message it is sending until `locked_until`; after that (a crashed
-- sender) it is due again. Delivered messages are kept a week.
CREATE TABLE webhook_outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    locked_until     INTEGER,
    delivered_at     INTEGER,
    last_error       TEXT
) STRICT;

CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_attempt_at);
CREATE INDEX webhook_outbox_created ON webhook_outbox (created_at);

-- A refresh rotation writes one row: the successor, naming the token it
-- replaces (predecessor). A token is spent once a successor names it; the
-- unique index lets exactly one successor do so, whatever the concurrency,
-- and the successor's created_at is when its predecessor was spent. So the
-- spent token's own row is no longer written: spent_at and successor_hash
-- go, their values are read through the successor.
ALTER TABLE refresh_tokens ADD COLUMN predecessor BYTEA;

UPDATE refresh_tokens SET predecessor = spent.hash
FROM refresh_tokens AS spent
WHERE spent.successor_hash = refresh_tokens.hash;

CREATE UNIQUE INDEX refresh_tokens_predecessor ON refresh_tokens (predecessor);

ALTER TABLE refresh_tokens DROP COLUMN spent_at;
ALTER TABLE refresh_tokens DROP COLUMN successor_hash;

-- Refresh tokens that name their family and generation (MAC'd with the
-- server's refresh key) keep the live token in the family's own row: a
-- rotation is one conditional UPDATE of that row, of columns no index
-- covers, so PostgreSQL can make it a heap-only (HOT) update. Reuse of an
-- older token is told from its generation, so spent tokens need no rows of
-- their own. Families of the older token format leave these columns NULL
-- and keep their chain in refresh_tokens until it expires.
ALTER TABLE refresh_families ADD COLUMN generation BIGINT;
ALTER TABLE refresh_families ADD COLUMN live_hash BYTEA;
ALTER TABLE refresh_families ADD COLUMN live_expires_at BIGINT;
ALTER TABLE refresh_families ADD COLUMN previous_hash BYTEA;
-- When the live token and those before it were stored (each one: when
-- its predecessor was spent), newest first: unix seconds, ten digits and a
-- space each, the newest 32. A replay within the grace window gets the
-- pair its token was spent for, at the time it was spent.
ALTER TABLE refresh_families ADD COLUMN created_log TEXT;

-- Room on each page for the new version of a row a rotation writes, so
-- the update stays on the page (HOT) instead of moving the row.
ALTER TABLE refresh_families SET (fillfactor = 70);

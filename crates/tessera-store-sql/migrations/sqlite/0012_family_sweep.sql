-- The periodic sweep deletes refresh-token families past their absolute
-- expiry (and the older format's tokens with them). The column never
-- changes after a family is created, so a rotation's UPDATE leaves this
-- index alone (on PostgreSQL it can stay heap-only).
CREATE INDEX refresh_families_absolute_expires_at ON refresh_families (absolute_expires_at);

-- PostgreSQL's migration 0010 drops the refresh token's foreign key to its
-- family (a lookup and a row lock on every rotation). SQLite keeps it: the
-- check is one lookup in the family's primary key on the same connection,
-- and dropping it would mean rebuilding the table. This file keeps the two
-- backends at the same migrations (`tessera copy` compares them).
SELECT 1;

-- A refresh token's family is no longer a foreign key. Every token is
-- written with its family: the first in the family's own transaction, each
-- successor by the spend, which copies the family id from the live token
-- it read joined with its family. The key's check cost every rotation a
-- lookup and a row lock on the family (a WAL record); deleting a user
-- deletes its tokens before its families (no cascade is needed). A
-- successor that a spend inserts while the user is being deleted is left
-- without a family: every read joins the family, so it reads as unknown.
ALTER TABLE refresh_tokens DROP CONSTRAINT IF EXISTS refresh_tokens_family_id_fkey;

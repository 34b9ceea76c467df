-- Writes the text (placeholder text) to a file (placeholder path) on the database server, as the
-- server's own user (a new file gets mode 0600, an existing one keeps its mode): a large object made
-- of the text, exported, then dropped.
DO $remedlab$
DECLARE
  lo oid := lo_from_bytea(0, convert_to({text}, 'UTF8'));
BEGIN
  PERFORM lo_export(lo, {path});
  PERFORM lo_unlink(lo);
END
$remedlab$;

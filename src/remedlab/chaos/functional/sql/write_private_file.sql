-- Writes a text of lines without tabs or backslashes (a PEM key; placeholder text) to a file only the
-- server's user may read, through a shell command run by the server in its data directory
-- (placeholder program, e.g. umask 077 && cat > server.key): large objects and COPY TO a file would
-- leave it readable by all, and the server refuses a private key others may read.
COPY (SELECT line FROM unnest(string_to_array({text}, E'\n')) AS line WHERE line <> '')
TO PROGRAM {program};

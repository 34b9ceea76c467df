-- Ends the sessions of the role (placeholder role) that do not use TLS; how many.
SELECT count(pg_terminate_backend(a.pid))
FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.usename = {role} AND NOT s.ssl;

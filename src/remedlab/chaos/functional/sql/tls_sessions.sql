-- How many sessions of the role (placeholder role) use TLS now.
SELECT count(*)
FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
WHERE a.usename = {role} AND s.ssl;

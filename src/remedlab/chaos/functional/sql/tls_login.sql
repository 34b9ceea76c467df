-- Answers `t` over a connection that uses TLS.
SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid();

-- How the server takes TCP clients, as one JSON document: its pg_hba.conf (path and text), its data
-- directory, whether it serves TLS now, where the ssl setting comes from (the file that sets it,
-- postgresql.auto.conf when ALTER SYSTEM did; null for the default), and where its certificate and
-- key are read from (relative to the data directory unless absolute).
SELECT json_build_object(
  'hbaFile', current_setting('hba_file'),
  'hba', pg_read_file(current_setting('hba_file')),
  'dataDirectory', current_setting('data_directory'),
  'ssl', (SELECT setting FROM pg_settings WHERE name = 'ssl'),
  'sslSourceFile', (SELECT sourcefile FROM pg_settings WHERE name = 'ssl'),
  'sslCertFile', current_setting('ssl_cert_file'),
  'sslKeyFile', current_setting('ssl_key_file')
);

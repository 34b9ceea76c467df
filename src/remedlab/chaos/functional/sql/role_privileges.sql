-- What a role may do in the current database, as one JSON document: whether it exists, its login
-- and password (the stored hash), and every privilege granted to it directly on the database, its
-- schemas, tables, sequences and default privileges. {role} is the role's name, a quoted literal.
WITH target AS (
  SELECT oid, rolname, rolcanlogin, rolpassword FROM pg_authid WHERE rolname = {role}
)
SELECT json_build_object(
  'exists', EXISTS (SELECT 1 FROM target),
  'login', COALESCE((SELECT rolcanlogin FROM target), false),
  'password', (SELECT rolpassword FROM target),
  'database', COALESCE((
    SELECT json_agg(DISTINCT a.privilege_type)
    FROM pg_database d, aclexplode(d.datacl) a, target t
    WHERE d.datname = current_database() AND a.grantee = t.oid), '[]'::json),
  'schemas', COALESCE((
    SELECT json_agg(json_build_object('schema', n.nspname, 'privileges', p.privileges) ORDER BY n.nspname)
    FROM pg_namespace n,
      LATERAL (SELECT json_agg(DISTINCT a.privilege_type) AS privileges
               FROM aclexplode(n.nspacl) a, target t WHERE a.grantee = t.oid) p
    WHERE p.privileges IS NOT NULL), '[]'::json),
  'relations', COALESCE((
    SELECT json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
                                      'sequence', c.relkind = 'S', 'privileges', p.privileges)
                    ORDER BY n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
      LATERAL (SELECT json_agg(DISTINCT a.privilege_type) AS privileges
               FROM aclexplode(c.relacl) a, target t WHERE a.grantee = t.oid) p
    WHERE p.privileges IS NOT NULL), '[]'::json),
  'defaults', COALESCE((
    SELECT json_agg(json_build_object('owner', pg_get_userbyid(da.defaclrole), 'schema', n.nspname,
                                      'sequence', da.defaclobjtype = 'S', 'privileges', p.privileges)
                    ORDER BY n.nspname, da.defaclobjtype)
    FROM pg_default_acl da LEFT JOIN pg_namespace n ON n.oid = da.defaclnamespace,
      LATERAL (SELECT json_agg(DISTINCT a.privilege_type) AS privileges
               FROM aclexplode(da.defaclacl) a, target t WHERE a.grantee = t.oid) p
    WHERE p.privileges IS NOT NULL AND da.defaclobjtype IN ('r', 'S')), '[]'::json)
);

/**
 * The queries that read the server and its databases from the catalog, for the snapshot
 * providers (snapshot/*), the preflight and the golden snapshots' metadata: who the server
 * is, who is connected, what a database is called, weighs, owns and says in its COMMENT.
 */

/** The server's version and identity, and whether the current role may create databases. */
export const SERVER_INFO_QUERY = `
SELECT current_setting('server_version') AS version,
       current_setting('server_version_num') AS version_num,
       (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
       current_setting('port') AS port,
       (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_create,
       current_user AS user,
       current_setting('file_copy_method', true) AS file_copy_method`;

/**
 * Sessions on database $1 other than the caller's: `others` (autovacuum workers aside) and
 * `users`, the client sessions whose application_name does not start with $2 (ours).
 * CREATE DATABASE ... TEMPLATE ends autovacuum workers on the template itself (and waits
 * for them), so they do not stand in a copy's way; any other session does.
 */
export const SESSIONS_QUERY = `
SELECT count(*) FILTER (WHERE backend_type <> 'autovacuum worker') AS others,
       count(*) FILTER (WHERE backend_type = 'client backend'
                          AND coalesce(application_name, '') NOT LIKE $2 || '%') AS users
  FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;

/** Ends every session on database $1 but the caller's; one row per session. */
export const TERMINATE_OTHER_SESSIONS = `
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`;

/** Ends every session on database $1 (before a DROP DATABASE on servers without FORCE). */
export const TERMINATE_SESSIONS = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`;

/** A row when database $1 exists. */
export const DATABASE_EXISTS_QUERY = `SELECT 1 FROM pg_database WHERE datname = $1`;

/** The size in bytes of database $1 (`size`). */
export const DATABASE_SIZE_QUERY = `SELECT pg_database_size(datname)::bigint AS size FROM pg_database WHERE datname = $1`;

/** The size in bytes of the database the client is connected to (`size`). */
export const CURRENT_DATABASE_SIZE_QUERY = `SELECT pg_database_size(current_database()) AS size`;

/** The name of the database the client is connected to (`db`). */
export const CURRENT_DATABASE_QUERY = `SELECT current_database() AS db`;

/** The COMMENT of database $1 (`comment`), where golden snapshots keep their metadata. */
export const DATABASE_COMMENT_QUERY = `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`;

/** Every database with its COMMENT (`datname`, `comment`), by name. */
export const DATABASE_COMMENTS_QUERY = `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY datname`;

/** The owner of database $1 (`owner`). */
export const DATABASE_OWNER_QUERY = `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1`;

/** Database $1's pg_database row as JSON (`d`), with its encoding's name, for CREATE DATABASE. */
export const DATABASE_PROPERTIES_QUERY = `
SELECT to_jsonb(d) || jsonb_build_object('encoding_name', pg_encoding_to_char(d.encoding)) AS d
  FROM pg_database d WHERE datname = $1`;

/** The settings ALTER DATABASE / ALTER ROLE ... IN DATABASE gave database $1 (`role`, `setting`). */
export const DATABASE_SETTINGS_QUERY = `
SELECT r.rolname AS role, unnest(s.setconfig) AS setting
  FROM pg_db_role_setting s
  JOIN pg_database d ON d.oid = s.setdatabase
  LEFT JOIN pg_roles r ON r.oid = s.setrole
 WHERE d.datname = $1
 ORDER BY r.rolname NULLS FIRST`;

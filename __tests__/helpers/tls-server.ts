import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL 15 cluster of its own that accepts TLS connections only (hostssl), with a
 * server certificate signed by a private CA made here with openssl: the RDS / Cloud SQL
 * setup. Needs root (pg_createcluster); `drop` removes the cluster and every file.
 */
export interface TlsServer {
  port: number;
  /** The private CA that signed the server's certificate. */
  caFile: string;
  /** Another CA, which did not. */
  wrongCaFile: string;
  /** psql-ready socket connection (trust), for test setup only. */
  socketArgs: string[];
  drop: () => void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => run('openssl', args);
  const selfSignedCa = (name: string) =>
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      path.join(dir, `${name}.key`),
      '-out',
      path.join(dir, `${name}.crt`),
    );
  selfSignedCa('ca');
  selfSignedCa('wrong-ca');
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    path.join(dir, 'server.key'),
    '-out',
    path.join(dir, 'server.csr'),
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    path.join(dir, 'server.csr'),
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    path.join(dir, 'san.ext'),
    '-out',
    path.join(dir, 'server.crt'),
  );
}

export async function startTlsServer(): Promise<TlsServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pg-rehearsal-tls-'));
  chmodSync(dir, 0o755);
  makeCertificates(dir);
  const port = await freePort();
  const name = `rehearsal_tls_${port}`;
  run('pg_createcluster', ['15', name, '--port', String(port)]);
  const drop = () => {
    try {
      run('pg_dropcluster', ['--stop', '15', name]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const etc = `/etc/postgresql/15/${name}`;
    for (const file of ['server.crt', 'server.key']) {
      copyFileSync(path.join(dir, file), path.join(etc, file));
      chownSync(path.join(etc, file), postgresUid(), postgresGid());
      chmodSync(path.join(etc, file), 0o600);
    }
    writeFileSync(
      path.join(etc, 'conf.d', 'tls.conf'),
      `ssl = on\nssl_cert_file = '${etc}/server.crt'\nssl_key_file = '${etc}/server.key'\nlisten_addresses = '127.0.0.1'\n`,
    );
    // TCP only with TLS; the socket (trust) is for this setup.
    writeFileSync(path.join(etc, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
    run('pg_ctlcluster', ['15', name, 'start']);
  } catch (error) {
    drop();
    throw error;
  }
  return {
    port,
    caFile: path.join(dir, 'ca.crt'),
    wrongCaFile: path.join(dir, 'wrong-ca.crt'),
    socketArgs: ['-h', '/var/run/postgresql', '-p', String(port), '-U', 'postgres'],
    drop,
  };
}

function postgresUid(): number {
  return Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
}

function postgresGid(): number {
  return Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
}

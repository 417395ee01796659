import { randomBytes } from 'node:crypto';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/postgres.js';

/**
 * A second embedded PostgreSQL whose TCP connections need a password (scram-sha-256),
 * with a password nobody else uses: tests grep every artefact for it.
 */
export interface PasswordServer {
  server: EmbeddedServer;
  password: string;
  /** URL of the `postgres` maintenance database, password included. */
  url: string;
  /** The same URL with a wrong password. */
  wrongPasswordUrl: string;
}

export async function startPasswordServer(): Promise<PasswordServer> {
  // Letters and digits around characters that URLs must encode, so both forms are checked.
  const password = `Pw${randomBytes(6).toString('hex')}#x/y`;
  const server = await startEmbeddedPostgres({ password });
  const wrong = new URL(server.url);
  wrong.password = `Wrong${randomBytes(4).toString('hex')}`;
  return { server, password, url: server.url, wrongPasswordUrl: wrong.toString() };
}

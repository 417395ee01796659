// Plain JavaScript: Jest loads global setup outside its TypeScript/ESM pipeline. To run
// the one embedded-server implementation (src/embedded/postgres.ts) we transpile it with
// the project's TypeScript into node_modules/.cache, where its package imports resolve.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function loadEmbedded() {
  const source = readFileSync(path.join(root, 'src/embedded/postgres.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  const cache = path.join(root, 'node_modules/.cache/pg-rehearsal');
  mkdirSync(cache, { recursive: true });
  const file = path.join(cache, `embedded-${process.pid}.mjs`);
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

/**
 * Debian's `psql` and `pg_dump` on PATH are pg_wrapper, which reads every cluster under
 * /etc/postgresql on each call and fails ("Invalid data directory for cluster") while a
 * test is creating or dropping one (the TLS and logged clusters). The tests call the
 * same programs from the newest version's own bin directory, which pg_wrapper would
 * have run, so no test depends on another's cluster being half made.
 */
function preferVersionedClientTools() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return;
  const newest = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(path.join(base, v, 'bin', 'psql')))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (newest) process.env.PATH = `${path.join(base, newest, 'bin')}:${process.env.PATH ?? ''}`;
}

/** Starts the embedded PostgreSQL 18 once; workers inherit its URL through the environment. */
export default async function globalSetup() {
  preferVersionedClientTools();
  const { startEmbeddedPostgres } = await loadEmbedded();
  const server = await startEmbeddedPostgres();
  process.env.PG18_URL = server.url;
  globalThis.__PG18__ = server;
}

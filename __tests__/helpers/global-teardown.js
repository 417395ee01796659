export default async function globalTeardown() {
  await globalThis.__PG18__?.stop();
}

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, parseConnectionUrl } from '../src/engine/connection.js';
import { LockTracingProxy } from '../src/engine/proxy/server.js';
import { cstring, message, MessageReader, queryMessage, startupPacket } from '../src/engine/proxy/wire.js';
import { createDatabase, dropDatabase, testServers } from './helpers/servers.js';

const [local] = testServers();

/** A tool's connection to the proxy, seen byte for byte: the message types of each read from the socket. */
class RawTool {
  readonly reads: string[][] = [];
  private readonly reader = new MessageReader();
  private waiting?: { until: string; resolve: () => void };

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reads.push(this.reader.push(chunk).map((m) => m.type));
      if (this.waiting && this.reads.at(-1)?.includes(this.waiting.until)) this.waiting.resolve();
    });
  }

  /** Sends `data` and resolves with the reads up to and including the one that held `until`. */
  async exchange(data: Buffer, until = 'Z'): Promise<string[][]> {
    const first = this.reads.length;
    const ready = new Promise<void>((resolve) => (this.waiting = { until, resolve }));
    this.socket.write(data);
    await ready;
    return this.reads.slice(first);
  }
}

describe('lock-tracing proxy: what the tool receives', () => {
  let sourceUrl: string;
  let proxy: LockTracingProxy;
  let tool: RawTool;
  beforeAll(async () => {
    sourceUrl = await createDatabase(local.url, 'CREATE TABLE items (id int);');
    const target = parseConnectionUrl(sourceUrl, 'test');
    const observer = await connect(target);
    proxy = new LockTracingProxy({
      target,
      before: undefined,
      clock: () => performance.now(),
      label: 'raw tool',
      observer: async () => observer,
    });
    await proxy.listen();
    const { user, database } = proxy.toolTarget();
    const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
    socket.setNoDelay(true);
    tool = new RawTool(socket);
    await tool.exchange(startupPacket({ user, database }), 'R');
    const login = await tool.exchange(message('p', cstring(proxy.password)));
    expect(login.flat()).toEqual(expect.arrayContaining(['R', 'K', 'Z']));
    await observer.end();
  });
  afterAll(async () => {
    await proxy.close();
    await dropDatabase(sourceUrl);
  });

  // The CommandComplete waits for the lock read with the ReadyForQuery it came with: one
  // wake-up of the tool per statement, as when it is connected directly.
  it.each([
    ['in its own transaction', 'BEGIN'],
    ["in autocommit, wrapped in the proxy's transaction", undefined],
  ])("gets a statement's CommandComplete and ReadyForQuery in one read, %s", async (_, begin) => {
    if (begin) expect(await tool.exchange(queryMessage(begin))).toEqual([['C', 'Z']]);
    expect(await tool.exchange(queryMessage('ALTER TABLE items ADD COLUMN n int'))).toEqual([['C', 'Z']]);
    expect(await tool.exchange(queryMessage('INSERT INTO items VALUES (1, 1), (2, 2)'))).toEqual([
      ['C', 'Z'],
    ]);
    expect(await tool.exchange(queryMessage('SELECT id FROM items ORDER BY id'))).toEqual([
      ['T', 'D', 'D', 'C', 'Z'],
    ]);
    if (begin) expect(await tool.exchange(queryMessage('COMMIT'))).toEqual([['C', 'Z']]);
    const traced = proxy.statements().filter((s) => s.sql === 'ALTER TABLE items ADD COLUMN n int');
    expect(traced.at(-1)?.lock_capture).toBe('exact');
    await tool.exchange(queryMessage('ALTER TABLE items DROP COLUMN n; DELETE FROM items'));
  });
});

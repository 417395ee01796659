import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type pg from 'pg';
import type { CatalogSnapshot } from '../catalog.js';
import type { ConnectionInfo } from '../connection.js';
import { LockTracer } from '../observe/lock-tracer.js';
import type { LockRecord, StatementReport } from '../report.js';
import { ProxySession } from './session.js';
import { connectUpstream, MessageStream, openTransport, UpstreamError, type Upstream } from './upstream.js';
import {
  authenticationMessage,
  CANCEL_REQUEST,
  errorResponse,
  GSSENC_REQUEST,
  message,
  MessageReader,
  packetCode,
  PROTOCOL_3,
  readyForQuery,
  SSL_REQUEST,
  startupParameters,
  type ServerError,
} from './wire.js';

export interface ProxyOptions {
  /** The snapshot, with its real credentials. */
  target: ConnectionInfo;
  before: CatalogSnapshot | undefined;
  clock: () => number;
  label: string;
  observer: () => Promise<pg.Client>;
}

interface Traced {
  session: ProxySession;
  tracer: LockTracer;
  upstream: Upstream;
  /** The cancel key the tool was given; the upstream's own is never shown to it. */
  secret: Buffer;
}

/**
 * A PostgreSQL protocol proxy on 127.0.0.1 between a migration tool and the snapshot.
 * The tool logs in with a password made for this run only (cleartext: the connection
 * never leaves the loopback interface and the password opens nothing but this proxy);
 * the proxy logs in to the snapshot with the real credentials.
 */
export class LockTracingProxy {
  readonly password = randomBytes(18).toString('base64url');
  private readonly server = net.createServer((socket) => this.accept(socket));
  private readonly sockets = new Set<net.Socket>();
  private readonly traced = new Set<Traced>();
  /** Every session's last lock read, ended sessions' too: their reports fill in when it is answered. */
  private readonly sessions: ProxySession[] = [];
  private readonly tracers: LockTracer[] = [];
  private readonly collected: StatementReport[] = [];
  private index = 0;
  /** Why a session broke (the snapshot server went away, a read failed): the run fails on it. */
  readonly failures: string[] = [];
  port = 0;

  constructor(private readonly options: ProxyOptions) {}

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Where the tool connects: the proxy, the snapshot's user and database, the run's password. */
  toolTarget(): ConnectionInfo {
    const { user, database } = this.options.target;
    return {
      host: '127.0.0.1',
      port: this.port,
      user,
      database,
      password: this.password,
      params: { sslmode: 'disable' },
    };
  }

  /**
   * Waits until every lock read sent was answered and taken in: a tool may exit as soon as it
   * was told ReadyForQuery, before the read behind it came back. Bounded by the run's signal.
   */
  async settle(signal: AbortSignal): Promise<void> {
    let stop = () => undefined as void;
    const aborted = new Promise<void>((resolve) => (stop = resolve));
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.race([Promise.all(this.sessions.map((s) => s.settled())), aborted]);
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  statements(): StatementReport[] {
    return [...this.collected].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  locks(): LockRecord[] {
    const now = this.options.clock();
    for (const tracer of this.tracers) tracer.endTransaction(now); // a session left open: never lose a hold
    return this.tracers.flatMap((t) => t.records()).sort((a, b) => a.started_at_ms - b.started_at_ms);
  }

  tracingMs(): number {
    return this.tracers.reduce((sum, t) => sum + t.spentMs, 0);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    for (const t of this.traced) t.upstream.stream.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    const stream = new MessageStream(socket, new MessageReader(true));
    this.handshake(stream).catch(() => socket.destroy());
  }

  private async handshake(stream: MessageStream): Promise<void> {
    for (;;) {
      const packet = await stream.next();
      if (!packet) return;
      const code = packetCode(packet);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        // Loopback only: no TLS between the tool and the proxy. A tool that insists gets refused by its driver.
        stream.reader.untyped = true;
        stream.write(Buffer.from('N'));
        continue;
      }
      if (code === CANCEL_REQUEST)
        return this.cancel(packet.body.readInt32BE(4), packet.body.subarray(8), stream);
      if (code !== PROTOCOL_3)
        return refuse(stream, {
          code: '08P01',
          message: `unsupported protocol version ${code >> 16}.${code & 0xffff}`,
        });
      return this.login(stream, startupParameters(packet));
    }
  }

  private async login(stream: MessageStream, params: Record<string, string>): Promise<void> {
    stream.write(authenticationMessage(3));
    const answer = await stream.next();
    if (!answer) return;
    const given = answer.type === 'p' ? answer.body.subarray(0, answer.body.length - 1) : Buffer.alloc(0);
    const expected = Buffer.from(this.password);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return refuse(stream, {
        code: '28P01',
        message: `password authentication failed for user "${params.user ?? ''}": pg-rehearsal's proxy takes only the password it gave the command in DATABASE_URL and PGPASSWORD; connect with those`,
      });
    }
    const { user: _user, database, ...toolParams } = params;
    let upstream: Upstream;
    try {
      upstream = await connectUpstream(
        { ...this.options.target, database: database || this.options.target.database },
        toolParams,
      );
    } catch (error) {
      const reason = error instanceof UpstreamError ? error.error.message : (error as Error).message;
      this.failures.push(`could not connect to the snapshot: ${reason}`);
      return refuse(stream, {
        code: (error as UpstreamError).error?.code ?? '08006',
        message: `pg-rehearsal proxy: could not connect to the snapshot: ${reason}`,
      });
    }
    const secret = randomBytes(4);
    const key = Buffer.alloc(4);
    key.writeInt32BE(upstream.pid);
    stream.write(authenticationMessage(0));
    for (const m of upstream.startup) stream.write(m.raw);
    stream.write(message('K', Buffer.concat([key, secret])));
    stream.write(readyForQuery('I'));
    this.startSession(stream, upstream, secret);
  }

  private startSession(stream: MessageStream, upstream: Upstream, secret: Buffer): void {
    const tracer = new LockTracer(this.options.before);
    this.tracers.push(tracer);
    const traced: Traced = { tracer, upstream, secret, session: undefined as unknown as ProxySession };
    traced.session = new ProxySession(
      stream,
      upstream,
      {
        tracer,
        clock: this.options.clock,
        label: this.options.label,
        nextIndex: () => ++this.index,
        observer: this.options.observer,
        onStatement: (s) => this.collected.push(s),
      },
      () => {
        this.traced.delete(traced);
        if (traced.session.failure) this.failures.push(traced.session.failure);
      },
    );
    this.traced.add(traced);
    this.sessions.push(traced.session);
    traced.session.start();
  }

  /** A tool's CancelRequest (Ctrl-C in psql, a driver's statement timeout), sent on to its backend. */
  private async cancel(pid: number, secret: Buffer, stream: MessageStream): Promise<void> {
    stream.socket.end();
    const traced = [...this.traced].find(
      (t) => t.upstream.pid === pid && t.secret.length === secret.length && timingSafeEqual(t.secret, secret),
    );
    if (!traced) return;
    // A lock read may be running ahead of the statement the tool means: let it finish first.
    await traced.session.settled();
    const { socket } = await openTransport(this.options.target);
    const head = Buffer.alloc(12);
    head.writeInt32BE(12 + traced.upstream.secret.length, 0);
    head.writeInt32BE(CANCEL_REQUEST, 4);
    head.writeInt32BE(pid, 8);
    socket.end(Buffer.concat([head, traced.upstream.secret]));
  }
}

function refuse(stream: MessageStream, error: Omit<ServerError, 'severity'>): void {
  stream.write(errorResponse({ severity: 'FATAL', ...error }));
  stream.socket.end();
}

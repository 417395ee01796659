import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import * as sasl from 'pg/lib/crypto/sasl.js';
import { CONNECT_TIMEOUT_MS, type ConnectionInfo } from '../connection.js';
import { sslAttempts, tlsSettings } from '../connection-tls.js';
import {
  cstring,
  message,
  MessageReader,
  parseError,
  SSL_REQUEST,
  startupPacket,
  untypedPacket,
  type Message,
  type ServerError,
} from './wire.js';

/** An ErrorResponse the server sent, kept whole so the proxy can pass it on to the tool. */
export class UpstreamError extends Error {
  constructor(
    readonly error: ServerError,
    readonly raw?: Buffer,
  ) {
    super(error.message);
  }
}

/** A socket read message by message, for the proxy's request/response exchanges. */
export class MessageStream {
  private readonly queue: Message[] = [];
  private waiter?: (m: Message | null) => void;
  private closed = false;
  /** Called for every message instead of queueing it, once the session runs. */
  onMessage?: (m: Message) => void;
  /** Called once the messages of one read from the socket were delivered, in push mode. */
  onBatchEnd?: () => void;
  onClose?: () => void;

  constructor(
    readonly socket: net.Socket,
    readonly reader = new MessageReader(),
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) this.deliver(m);
      this.onBatchEnd?.();
    });
    socket.on('error', () => undefined); // 'close' follows and ends the stream
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.(null);
      this.waiter = undefined;
      this.onClose?.();
    });
  }

  private deliver(m: Message): void {
    if (this.onMessage) this.onMessage(m);
    else if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  /** The next message, or null once the socket closed. */
  next(): Promise<Message | null> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Switches to push mode, delivering what was queued first. */
  listen(onMessage: (m: Message) => void, onClose: () => void, onBatchEnd?: () => void): void {
    this.onMessage = onMessage;
    this.onBatchEnd = onBatchEnd;
    this.onClose = onClose;
    for (const m of this.queue.splice(0)) onMessage(m);
    onBatchEnd?.();
    if (this.closed) onClose();
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }
}

export interface Upstream {
  stream: MessageStream;
  /** ParameterStatus, BackendKeyData and notices the server sent at startup, to replay to the tool. */
  startup: Message[];
  pid: number;
  secret: Buffer;
  tls: boolean;
}

/**
 * TCP (or Unix socket) to the server, upgraded to TLS as the snapshot's own connections
 * are (sslmode, sslrootcert, client certificate from the URL or PGSSL*). When the mode
 * allows a plain connection too (allow, prefer), TLS is used if the server offers it.
 */
export async function openTransport(info: ConnectionInfo): Promise<{ socket: net.Socket; tls: boolean }> {
  const attempts = sslAttempts(info);
  const socket = info.host.startsWith('/')
    ? net.connect({ path: `${info.host}/.s.PGSQL.${info.port}` })
    : net.connect({ host: info.host, port: info.port });
  socket.setNoDelay(true);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    socket,
  );
  const options = attempts.find((attempt) => attempt !== false);
  if (!options) return { socket, tls: false };
  socket.write(untypedPacket(SSL_REQUEST));
  const answer = await withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
    }),
    socket,
  );
  if (answer[0] !== 0x53 /* S */) {
    if (attempts.includes(false)) return { socket, tls: false };
    socket.destroy();
    throw new UpstreamError({
      severity: 'FATAL',
      code: '08004',
      message: `the snapshot server ${info.host}:${info.port} does not accept TLS but its URL asks for sslmode=${tlsSettings(info).mode}`,
    });
  }
  const secure = tls.connect({
    ...(options === true ? {} : options),
    socket,
    host: info.host,
    servername: net.isIP(info.host) ? undefined : info.host,
  });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    }),
    secure,
  );
  return { socket: secure, tls: true };
}

/**
 * Opens the session the proxy forwards a tool's connection to: the tool's startup
 * parameters (application_name, DateStyle, options...) with the real user and database,
 * authenticated with the real password (trust, cleartext, MD5 or SCRAM-SHA-256).
 */
export async function connectUpstream(
  info: ConnectionInfo,
  toolParams: Record<string, string>,
): Promise<Upstream> {
  const { socket, tls: secure } = await openTransport(info);
  const stream = new MessageStream(socket);
  try {
    stream.write(startupPacket({ ...toolParams, user: info.user, database: info.database }));
    await withTimeout(authenticate(stream, info), socket);
    const startup: Message[] = [];
    let pid = 0;
    let secret = Buffer.alloc(0);
    for (;;) {
      const m = await withTimeout(stream.next(), socket);
      if (!m) throw closedEarly(info);
      if (m.type === 'E') throw new UpstreamError(parseError(m.body), m.raw);
      if (m.type === 'Z') break;
      if (m.type === 'K') {
        pid = m.body.readInt32BE(0);
        secret = Buffer.from(m.body.subarray(4));
        continue; // the tool gets a key of the proxy's own
      }
      startup.push(m);
    }
    return { stream, startup, pid, secret, tls: secure };
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

async function authenticate(stream: MessageStream, info: ConnectionInfo): Promise<void> {
  let session: ReturnType<typeof sasl.startSession> | undefined;
  const password = () => {
    if (info.password === undefined)
      throw new UpstreamError({
        severity: 'FATAL',
        code: '28P01',
        message: `the snapshot server asks for a password for "${info.user}" and the URL has none`,
      });
    return info.password;
  };
  for (;;) {
    const m = await stream.next();
    if (!m) throw closedEarly(info);
    if (m.type === 'E') throw new UpstreamError(parseError(m.body), m.raw);
    if (m.type !== 'R') continue;
    const code = m.body.readInt32BE(0);
    if (code === 0) return;
    if (code === 3) stream.write(message('p', cstring(password())));
    else if (code === 5) {
      const inner = md5(password() + info.user);
      stream.write(
        message('p', cstring(`md5${md5(Buffer.concat([Buffer.from(inner), m.body.subarray(4, 8)]))}`)),
      );
    } else if (code === 10) {
      const mechanisms = m.body.toString('utf8', 4).split('\0').filter(Boolean);
      session = sasl.startSession(mechanisms);
      const response = Buffer.from(session.response);
      const length = Buffer.alloc(4);
      length.writeInt32BE(response.length);
      stream.write(message('p', Buffer.concat([cstring(session.mechanism), length, response])));
    } else if (code === 11 && session) {
      await sasl.continueSession(session, password(), m.body.toString('utf8', 4));
      stream.write(message('p', Buffer.from(session.response)));
    } else if (code === 12 && session) {
      sasl.finalizeSession(session, m.body.toString('utf8', 4));
    } else {
      throw new UpstreamError({
        severity: 'FATAL',
        code: '28000',
        message: `the snapshot server asks for an authentication method the proxy does not support (code ${code})`,
      });
    }
  }
}

function md5(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

function closedEarly(info: ConnectionInfo): UpstreamError {
  return new UpstreamError({
    severity: 'FATAL',
    code: '08006',
    message: `the snapshot server ${info.host}:${info.port} closed the connection during startup`,
  });
}

async function withTimeout<T>(work: Promise<T>, socket: net.Socket): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from the snapshot server within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

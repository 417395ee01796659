import pg from 'pg';
import { dropsPreparedStatements, type LockTracer } from '../observe/lock-tracer.js';
import { sampleBackendLocks } from '../observe/pid-sampler.js';
import type { StatementReport } from '../report.js';
import { endsTransaction, excerpt, isTransactionControl } from '../runner/split.js';
import { firstSql, openUnit, unitSql, type Injection, type Unit } from './unit.js';
import type { MessageStream, Upstream } from './upstream.js';
import {
  namedQueryMessages,
  parseBind,
  preparedQueryMessages,
  parseDataRow,
  parseError,
  parseParse,
  parseRowDescription,
  errorResponse,
  readyForQuery,
  type Message,
} from './wire.js';

/** What a session needs from the run: its tracer, the clock, and where statements go. */
export interface SessionContext {
  tracer: LockTracer;
  clock: () => number;
  /** The report's `path` of every statement: the command. */
  label: string;
  /** The order of a statement across all sessions of the run. */
  nextIndex: () => number;
  /** A second connection that watches statements that cannot run in a transaction block. */
  observer: () => Promise<pg.Client>;
  onStatement: (statement: StatementReport) => void;
}

const QUERY_NAME = 'pg_rehearsal_proxy';

/**
 * One tool connection, forwarded to its own upstream session. Client messages are
 * handled one at a time; a unit ending in Query or Sync waits until its ReadyForQuery
 * was dealt with. The proxy's own queries go between two of the tool's units, never
 * inside one: a lock read after the unit (inside the tool's transaction, sent as the tool
 * is told ReadyForQuery, so its next unit queues behind it in the server), a BEGIN before it.
 */
export class ProxySession {
  private status = 'I';
  private unit?: Unit;
  /** The proxy's own queries on their way, answered in order (each ends at its ReadyForQuery). */
  private readonly injections: Injection[] = [];
  /** The prepared queries of the proxy's own that exist in this session, by name. */
  private readonly prepared = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly statements = new Map<string, string>();
  private readonly portals = new Map<string, string>();
  /**
   * The server's messages on their way to the tool: written together once per read from
   * the server, and held while the unit's ReadyForQuery waits for the lock read, so that
   * its last CommandComplete reaches the tool with it (one wake-up of the tool, not two).
   */
  private readonly toTool: Buffer[] = [];
  private holdingForReady = false;
  /** The last lock read sent ahead of the tool's next statement, until its locks were taken in. */
  private readBehind: Promise<void> = Promise.resolve();
  /** Set when the session broke: the message the tool got. */
  failure?: string;

  constructor(
    private readonly client: MessageStream,
    private readonly upstream: Upstream,
    private readonly context: SessionContext,
    private readonly onEnd: () => void,
  ) {}

  start(): void {
    this.upstream.stream.listen(
      (m) => this.fromServer(m),
      () => this.end('the snapshot server closed the connection'),
      () => {
        if (!this.holdingForReady) this.flushToTool();
      },
    );
    this.client.listen(
      (m) => {
        // COPY data belongs to the unit that is waiting for its end: it cannot wait behind it.
        if (this.unit && 'dcf'.includes(m.type)) return this.upstream.stream.write(m.raw);
        this.chain = this.chain.then(() => this.fromClient(m)).catch((error) => this.end(errorText(error)));
      },
      // A read sent behind the tool's last ReadyForQuery is still answered: take it in first.
      () => void this.readBehind.then(() => this.end()),
    );
  }

  /** Resolves once the lock reads sent behind a ReadyForQuery were taken in (or the session ended). */
  settled(): Promise<void> {
    return this.readBehind;
  }

  /** The tracer's reads, run inside this session on the upstream connection. */
  readonly queryable = {
    query: async (query: string | { name: string; text: string }, values?: unknown[]) => {
      const params = (values ?? []).map((v) =>
        Array.isArray(v) ? `{${v.join(',')}}` : v === null ? null : String(v),
      );
      // Sent before the first await, so that a COMMIT queued next follows it in the same flight.
      const result = await (typeof query === 'string'
        ? this.inject(query, params)
        : this.injectPrepared(query.name, query.text, params));
      if (result.error)
        throw Object.assign(new Error(parseError(result.error.body).message), parseError(result.error.body));
      if (result.lost) throw new Error('the session ended before the read was answered');
      return { rows: result.rows };
    },
  };

  private async fromClient(m: Message): Promise<void> {
    if (m.type === 'X') {
      this.closing = true;
      this.upstream.stream.write(m.raw);
      this.client.socket.end();
      return;
    }
    const opening = !this.unit && 'QPBDEHSFC'.includes(m.type);
    if (opening) await this.startUnit(m);
    else this.upstream.stream.write(m.raw);
    const unit = this.unit;
    this.track(m, unit);
    if (unit?.observer && !unit.polling) {
      // From the moment the statement is on its way: it may hold its locks only a few milliseconds.
      unit.polling = sampleBackendLocks(unit.observer, this.upstream.pid, 10, unit.finished).then(
        (r) => r.locks,
      );
    }
    if (unit && (m.type === 'Q' || m.type === 'S')) await unit.done;
  }

  /** Which SQL the tool's extended-protocol messages prepare and run. */
  private track(m: Message, unit: Unit | undefined): void {
    if (m.type === 'P') {
      const { name, sql } = parseParse(m.body);
      this.statements.set(name, sql);
      unit?.parsed.push(sql);
    } else if (m.type === 'B') {
      const { portal, statement } = parseBind(m.body);
      this.portals.set(portal, this.statements.get(statement) ?? '');
    } else if (m.type === 'E') {
      const portal = m.body.toString('utf8', 0, m.body.indexOf(0));
      const sql = this.portals.get(portal);
      if (sql) unit?.executed.push(sql);
    }
  }

  /**
   * Opens the unit the tool's message starts, and sends that message on: inside the tool's
   * transaction at once, an autocommit one right behind our BEGIN (one packet), a polled
   * one once the observer connection is there to watch it.
   */
  private async startUnit(first: Message): Promise<void> {
    const unit = openUnit(first, firstSql(first, this.statements), this.status, this.context.clock());
    this.unit = unit;
    if (unit.mode === 'polled') {
      unit.observer = await this.context.observer();
      unit.started = this.context.clock();
    }
    const socket = this.upstream.stream.socket;
    socket.cork();
    // Not waited for: the tool's messages follow it, and its answers are swallowed in order.
    if (unit.mode === 'wrap') unit.begun = this.inject('BEGIN', []);
    this.upstream.stream.write(first.raw);
    socket.uncork();
  }

  private fromServer(m: Message): void {
    const injection = this.injections[0];
    if (injection) {
      if (m.type === 'T') injection.columns = parseRowDescription(m.body);
      else if (m.type === 'D') injection.rows.push(toRow(injection.columns, parseDataRow(m.body)));
      else if (m.type === 'E') injection.error = m;
      else if (m.type === 'Z') {
        this.injections.shift();
        // The tool's next statement waited in the server behind this read: it starts now.
        if (injection.behindReady && this.unit)
          this.unit.started = Math.max(this.unit.started, this.context.clock());
        injection.resolve();
      } else if (m.type === 'A' || m.type === 'S') this.toTool.push(m.raw);
      return;
    }
    const unit = this.unit;
    if (m.type === 'Z' && unit) {
      const status = String.fromCharCode(m.body[0]);
      this.holdingForReady = true;
      if (this.canReadBehind(unit, status)) return this.readBehindReady(unit);
      // Not on the client chain: that one waits for this unit to be done.
      this.endUnit(unit, status).catch((error) =>
        this.end(`the proxy could not read the session's locks: ${errorText(error)}`),
      );
      return;
    }
    if (m.type === 'Z') this.status = String.fromCharCode(m.body[0]);
    if (unit?.mode === 'wrap' && unit.simple && m.type === 'C') {
      if (unit.heldComplete) this.toTool.push(unit.heldComplete);
      unit.heldComplete = m.raw;
      return;
    }
    if (unit?.heldComplete) {
      this.toTool.push(unit.heldComplete);
      unit.heldComplete = undefined;
    }
    if (m.type === 'E' && unit) this.reportOf(unit).error ??= parseError(m.body).message;
    this.toTool.push(m.raw);
  }

  /**
   * The unit's ReadyForQuery: read its locks, end our own transaction, then tell the tool.
   * A wrapped unit that succeeded gets its lock read and our COMMIT in one flight.
   */
  private async endUnit(unit: Unit, status: string): Promise<void> {
    const { tracer, clock } = this.context;
    const report = this.reportOf(unit);
    report.duration_ms = round(clock() - unit.started);
    await this.readBehind; // the previous statement's locks are taken in before this one's
    const begun = await unit.begun;
    if (begun?.error) throw new Error(`BEGIN failed: ${parseError(begun.error.body).message}`);
    const unitStatements = unit.executed.length ? unit.executed : unit.parsed;
    const sql = unitSql(unit);
    if (dropsPreparedStatements(sql)) this.prepared.clear();
    let ending: Promise<Injection> | undefined;
    if (unit.polling) {
      report.lock_capture = 'polled';
      unit.finish();
      tracer.observe(await unit.polling, unit.started, report);
    } else if (status === 'T' && report.sql) {
      report.lock_capture = 'exact';
      // BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO take no lock: nothing new to read.
      if (unitStatements.every(isTransactionControl)) {
        // COMMIT AND CHAIN ends one transaction and begins the next: the first one's holds end here.
        if (unitStatements.some(endsTransaction)) tracer.endTransaction(clock());
        this.tellTool(unit, report, status);
        return;
      }
      const socket = this.upstream.stream.socket;
      socket.cork(); // the read and our COMMIT leave in one packet
      const reading = tracer.readOwnLocksInOneQuery(this.queryable, sql);
      if (unit.mode === 'wrap') ending = this.inject('COMMIT', []);
      socket.uncork();
      tracer.observe(await reading, unit.started, report);
    }
    let toolStatus = status;
    if (unit.mode === 'wrap' && status !== 'I') {
      const end = await (ending ?? this.inject(status === 'E' ? 'ROLLBACK' : 'COMMIT', []));
      toolStatus = 'I';
      if (end.error) {
        // A deferred constraint failed at our COMMIT: to the tool, it is the statement's error.
        unit.heldComplete = end.error.raw;
        report.error ??= parseError(end.error.body).message;
      }
    }
    if (toolStatus === 'I') tracer.endTransaction(clock());
    this.tellTool(unit, report, toolStatus);
  }

  /** A statement of the tool's own transaction that took locks: its read can go behind the tool's ReadyForQuery. */
  private canReadBehind(unit: Unit, status: string): boolean {
    const statements = unit.executed.length ? unit.executed : unit.parsed;
    // BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO take no lock: nothing new to read.
    return (
      status === 'T' &&
      unit.mode === 'inside' &&
      statements.length > 0 &&
      !statements.every(isTransactionControl)
    );
  }

  /**
   * Inside the tool's own transaction: the tool is told ReadyForQuery at once, and the lock
   * read goes out in the same turn of the event loop, before anything the tool sends next
   * can be taken in. That next message then queues behind the read, because the server
   * runs a session's messages in order, so the locks read are still exactly those after
   * this statement; the read's round trip now overlaps the tool's own instead of adding to
   * it. (An autocommit statement cannot do this: an error at our COMMIT must still reach
   * the tool as the statement's.)
   */
  private readBehindReady(unit: Unit): void {
    const { tracer, clock } = this.context;
    const endedAt = clock();
    this.status = 'T';
    this.unit = undefined;
    this.toTool.push(readyForQuery('T'));
    this.holdingForReady = false;
    this.flushToTool();
    unit.finish();
    unit.markDone(); // its next message is taken in only after this function returned, the read sent
    const sql = unitSql(unit);
    if (dropsPreparedStatements(sql)) this.prepared.clear();
    const reading = tracer.readOwnLocksInOneQuery(this.queryable, sql);
    const injection = this.injections.at(-1); // queued synchronously by the call above
    if (injection) injection.behindReady = true;
    // Off the tool's path from here: the report, then its locks in statement order.
    const report = this.reportOf(unit);
    report.duration_ms = round(endedAt - unit.started);
    report.lock_capture = 'exact';
    const previous = this.readBehind;
    this.readBehind = Promise.all([reading, previous]).then(
      ([locks]) => {
        tracer.observe(locks, unit.started, report);
        this.context.onStatement(report);
      },
      (error) => this.end(`the proxy could not read the session's locks: ${errorText(error)}`),
    );
  }

  /** The end of a unit: its held CommandComplete or error, then ReadyForQuery. */
  private tellTool(unit: Unit, report: StatementReport, toolStatus: string): void {
    this.status = toolStatus;
    this.unit = undefined;
    if (report.sql) this.context.onStatement(report);
    if (unit.heldComplete) this.toTool.push(unit.heldComplete);
    this.toTool.push(readyForQuery(toolStatus));
    this.holdingForReady = false;
    this.flushToTool();
    unit.finish();
    unit.markDone();
  }

  private flushToTool(): void {
    if (this.toTool.length > 0) this.client.write(Buffer.concat(this.toTool.splice(0)));
  }

  private reportOf(unit: Unit): StatementReport {
    if (!unit.report) {
      const sql = unitSql(unit);
      unit.report = {
        path: this.context.label,
        line: 0,
        index: sql ? this.context.nextIndex() : 0,
        sql: excerpt(sql),
        started_at_ms: round(unit.started),
        duration_ms: 0,
        locks: [],
        rewrites: [],
      };
    }
    return unit.report;
  }

  /**
   * Sends one query of the proxy's own in this session: between the tool's units, or a
   * wrapped unit's BEGIN right before its first message (answered first, so swallowed first).
   */
  private inject(sql: string, params: (string | null)[]): Promise<Injection> {
    return this.send(namedQueryMessages(QUERY_NAME, sql, params));
  }

  /** The same with a statement prepared once per session: later runs only Bind and Execute. */
  private injectPrepared(name: string, sql: string, params: (string | null)[]): Promise<Injection> {
    const prepare = !this.prepared.has(name);
    this.prepared.add(name);
    return this.send(preparedQueryMessages(name, sql, params, prepare));
  }

  private send(messages: Buffer): Promise<Injection> {
    if (this.ended) return Promise.resolve({ columns: [], rows: [], lost: true, resolve: () => undefined });
    return new Promise((resolve) => {
      const injection: Injection = { columns: [], rows: [], resolve: () => resolve(injection) };
      this.injections.push(injection);
      this.upstream.stream.write(messages);
    });
  }

  private ended = false;
  /** The tool said goodbye (Terminate): the upstream closing next is no failure. */
  private closing = false;
  private end(reason?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (reason && !this.closing) this.failure = reason;
    for (const injection of this.injections.splice(0)) {
      injection.lost = true;
      injection.resolve();
    }
    this.unit?.finish();
    this.unit?.markDone();
    this.flushToTool();
    if (this.failure)
      this.client.write(
        errorResponse({ severity: 'FATAL', code: '08006', message: `pg-rehearsal proxy: ${this.failure}` }),
      );
    this.client.socket.end();
    this.upstream.stream.socket.destroy();
    this.onEnd();
  }
}

function toRow(columns: { name: string; typeOid: number }[], values: (string | null)[]): pg.QueryResultRow {
  const row: pg.QueryResultRow = {};
  columns.forEach((column, i) => {
    const value = values[i];
    row[column.name] = value === null ? null : pg.types.getTypeParser(column.typeOid, 'text')(value);
  });
  return row;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

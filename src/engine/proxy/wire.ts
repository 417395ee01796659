/**
 * PostgreSQL wire protocol (v3) framing: every message after startup is a type byte and
 * an int32 length that counts itself; the startup packet, SSLRequest, GSSENCRequest and
 * CancelRequest have no type byte. The proxy forwards messages as the raw bytes it
 * received, so only the few it must understand are decoded here.
 */

export interface Message {
  /** The type byte as a character ('Q', 'Z', ...); '' for an untyped startup-phase packet. */
  type: string;
  /** The bytes after the length. */
  body: Buffer;
  /** The whole message as received, to forward unchanged. */
  raw: Buffer;
}

/** Cuts a byte stream into messages. `untyped` is true while the next packet has no type byte. */
export class MessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  untyped: boolean;

  constructor(untyped = false) {
    this.untyped = untyped;
  }

  push(chunk: Buffer): Message[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const messages: Message[] = [];
    for (;;) {
      const header = this.untyped ? 4 : 5;
      if (this.buffer.length < header) break;
      const length = this.buffer.readInt32BE(header - 4);
      const total = length + header - 4;
      if (length < 4 || this.buffer.length < total) break;
      const raw = this.buffer.subarray(0, total);
      messages.push({
        type: this.untyped ? '' : String.fromCharCode(raw[0]),
        body: raw.subarray(header),
        raw,
      });
      this.buffer = this.buffer.subarray(total);
      // Only the first packet of a connection is untyped; the caller re-arms it after SSLRequest.
      this.untyped = false;
    }
    return messages;
  }
}

export function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** Reads NUL-terminated strings from a body. */
export class BodyReader {
  offset = 0;
  constructor(private readonly body: Buffer) {}
  cstring(): string {
    const end = this.body.indexOf(0, this.offset);
    const text = this.body.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }
  int16(): number {
    const v = this.body.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.body.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.body.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
}

// Untyped packet codes (the int32 after the length).
export const PROTOCOL_3 = 196608;
export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;

export function packetCode(packet: Message): number {
  return packet.body.readInt32BE(0);
}

/** The key/value pairs of a startup packet (user, database, options, application_name...). */
export function startupParameters(packet: Message): Record<string, string> {
  const reader = new BodyReader(packet.body);
  reader.offset = 4;
  const params: Record<string, string> = {};
  while (reader.offset < packet.body.length - 1) {
    const key = reader.cstring();
    if (!key) break;
    params[key] = reader.cstring();
  }
  return params;
}

export function startupPacket(params: Record<string, string>): Buffer {
  const pairs = Object.entries(params).flatMap(([k, v]) => [cstring(k), cstring(v)]);
  const body = Buffer.concat([int32(PROTOCOL_3), ...pairs, Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export function untypedPacket(code: number, ...rest: number[]): Buffer {
  return Buffer.concat([int32(8 + rest.length * 4), int32(code), ...rest.map(int32)]);
}

export function authenticationMessage(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  return message('R', Buffer.concat([int32(code), extra]));
}

export function readyForQuery(status: string): Buffer {
  return message('Z', Buffer.from(status, 'latin1'));
}

export function queryMessage(sql: string): Buffer {
  return message('Q', cstring(sql));
}

export interface ServerError {
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** An ErrorResponse ('E') from fields, e.g. the proxy's own FATAL refusals. */
export function errorResponse(error: ServerError): Buffer {
  const fields: Buffer[] = [
    Buffer.from('S'),
    cstring(error.severity),
    Buffer.from('V'),
    cstring(error.severity),
    Buffer.from('C'),
    cstring(error.code),
    Buffer.from('M'),
    cstring(error.message),
  ];
  if (error.hint) fields.push(Buffer.from('H'), cstring(error.hint));
  return message('E', Buffer.concat([...fields, Buffer.from([0])]));
}

export function parseError(body: Buffer): ServerError {
  const fields: Record<string, string> = {};
  const reader = new BodyReader(body);
  while (reader.offset < body.length && body[reader.offset] !== 0) {
    const code = String.fromCharCode(body[reader.offset]);
    reader.offset++;
    fields[code] = reader.cstring();
  }
  return {
    severity: fields.V ?? fields.S ?? 'ERROR',
    code: fields.C ?? 'XX000',
    message: fields.M ?? 'unknown error',
    detail: fields.D,
    hint: fields.H,
  };
}

/** RowDescription ('T'): column names and type OIDs, enough to read text-format rows. */
export function parseRowDescription(body: Buffer): { name: string; typeOid: number }[] {
  const reader = new BodyReader(body);
  const count = reader.int16();
  const columns: { name: string; typeOid: number }[] = [];
  for (let i = 0; i < count; i++) {
    const name = reader.cstring();
    reader.offset += 6; // table OID, column number
    const typeOid = reader.int32();
    reader.offset += 8; // type size, modifier, format
    columns.push({ name, typeOid });
  }
  return columns;
}

/** DataRow ('D') in text format: null or the value's text. */
export function parseDataRow(body: Buffer): (string | null)[] {
  const reader = new BodyReader(body);
  const count = reader.int16();
  const values: (string | null)[] = [];
  for (let i = 0; i < count; i++) {
    const length = reader.int32();
    values.push(length < 0 ? null : reader.bytes(length).toString('utf8'));
  }
  return values;
}

/** The SQL of a Parse ('P') message: statement name, then the query text. */
export function parseParse(body: Buffer): { name: string; sql: string } {
  const reader = new BodyReader(body);
  const name = reader.cstring();
  return { name, sql: reader.cstring() };
}

/** Bind ('B'): which portal from which statement. The parameter values are not read. */
export function parseBind(body: Buffer): { portal: string; statement: string } {
  const reader = new BodyReader(body);
  const portal = reader.cstring();
  return { portal, statement: reader.cstring() };
}

/**
 * The extended-protocol messages of one query the proxy runs itself, under a named
 * statement and portal that it closes again: a simple Query would drop the tool's unnamed
 * statement and portal, which a driver may still mean to use.
 */
export function namedQueryMessages(name: string, sql: string, params: (string | null)[]): Buffer {
  return Buffer.concat([
    parseMessage(name, sql),
    executeMessages(name, params),
    closeMessage('S', name),
    message('S'),
  ]);
}

/**
 * A query the proxy prepared once in the session (`prepare`: Parse it first, closing any
 * statement of that name left over), bound and run under a portal of the same name.
 */
export function preparedQueryMessages(
  name: string,
  sql: string,
  params: (string | null)[],
  prepare: boolean,
): Buffer {
  const parse = prepare ? [closeMessage('S', name), parseMessage(name, sql)] : [];
  return Buffer.concat([...parse, executeMessages(name, params), message('S')]);
}

function parseMessage(name: string, sql: string): Buffer {
  return message('P', Buffer.concat([cstring(name), cstring(sql), Buffer.alloc(2)]));
}

/** Bind, Describe, Execute and Close of the portal `name` from the statement `name`. */
function executeMessages(name: string, params: (string | null)[]): Buffer {
  const values = params.map((v) => {
    if (v === null) return int32(-1);
    const bytes = Buffer.from(v, 'utf8');
    return Buffer.concat([int32(bytes.length), bytes]);
  });
  const count = Buffer.alloc(2);
  count.writeInt16BE(params.length);
  const zero16 = Buffer.alloc(2);
  return Buffer.concat([
    message('B', Buffer.concat([cstring(name), cstring(name), zero16, count, ...values, zero16])),
    message('D', Buffer.concat([Buffer.from('P'), cstring(name)])),
    message('E', Buffer.concat([cstring(name), int32(0)])),
    closeMessage('P', name),
  ]);
}

function closeMessage(kind: 'S' | 'P', name: string): Buffer {
  return message('C', Buffer.concat([Buffer.from(kind), cstring(name)]));
}

import pg from 'pg';

/**
 * Runs `COPY ... FROM stdin` with `data` sent over the COPY protocol, as psql sends the
 * rows that follow the statement in a script. pg's Query answers the server's
 * CopyInResponse with a CopyFail; this one sends the data and CopyDone instead.
 */
class CopyFromQuery extends pg.Query {
  constructor(
    sql: string,
    private readonly data: string,
    callback: (error: Error | undefined) => void,
  ) {
    super({ text: sql }, callback);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    if (this.data) connection.sendCopyFromChunk(Buffer.from(this.data, 'utf8'));
    connection.endCopyFrom();
  }
}

interface CopyConnection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

export function copyFrom(client: pg.Client, sql: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyFromQuery(sql, data, (error) => (error ? reject(error) : resolve())));
  });
}

/** Sends a statement of a script: plain SQL (its result returned), or a COPY with the data that followed it. */
export async function sendStatement(
  client: pg.Client,
  statement: { sql: string; copyData?: string },
): Promise<pg.QueryResult | undefined> {
  if (statement.copyData === undefined) return client.query(statement.sql);
  await copyFrom(client, statement.sql, statement.copyData);
  return undefined;
}

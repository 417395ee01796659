// node-postgres's own SCRAM-SHA-256 client steps (pg/lib/crypto/sasl.js), reused by the proxy
// to authenticate to the snapshot server; the module ships without type declarations.
declare module 'pg/lib/crypto/sasl.js' {
  interface SaslSession {
    mechanism: string;
    response: string;
  }
  export function startSession(mechanisms: string[]): SaslSession;
  export function continueSession(session: SaslSession, password: string, serverData: string): Promise<void>;
  export function finalizeSession(session: SaslSession, serverData: string): void;
}

/** How the engine talks to whoever runs it; the CLI prints, the Action uses @actions/core. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Runs `fn` inside a named, collapsible section where the adapter supports it. */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  group: (_name, fn) => fn(),
};

export function consoleLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return {
    info: (message) => stream.write(`${message}\n`),
    warn: (message) => stream.write(`warning: ${message}\n`),
    group: async (name, fn) => {
      stream.write(`== ${name}\n`);
      return fn();
    },
  };
}

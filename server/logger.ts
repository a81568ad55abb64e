// Logs: JSON lines, or one readable line per event for a terminal. Callers pass only metadata
// (ids, sizes, timings, counts): no field here ever carries prompt or completion text, and
// nothing in the server hands such text to a logger.
import type { LogFormat, LogLevel } from './config.ts';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** `time LEVEL event key=value …`; values with spaces or quotes are JSON-quoted. */
function textLine(time: string, level: LogLevel, event: string, fields: LogFields): string {
  const pairs = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`);
  return [time, level.toUpperCase().padEnd(5), event, ...pairs].join(' ');
}

export function createLogger(level: LogLevel, format: LogFormat = 'json', write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const emit = (at: LogLevel) => (event: string, fields: LogFields = {}) => {
    if (rank[at] < rank[level]) return;
    const time = new Date().toISOString();
    write(`${format === 'json' ? JSON.stringify({ time, level: at, event, ...fields }) : textLine(time, at, event, fields)}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

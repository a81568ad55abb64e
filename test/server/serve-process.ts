// `xllm serve` as a child process on a free port, ready once the model is loaded: used by
// the shutdown and checkpoint tests and by bench/load.ts, which need the real process
// (signals, exit code, start-up).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** The JSON log lines so far, parsed (the process keeps appending). */
  logs: Array<{ event: string; [field: string]: unknown }>;
}

const CLI = join(import.meta.dirname, '..', '..', 'server', 'cli.ts');

export async function startServeProcess(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', '--log-format', 'json', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs: ServeProcess['logs'] = [];
  const lines = createInterface({ input: child.stdout! });
  let port = 0;
  // The log says where it listens, then that the model is ready; it keeps being collected.
  const ready = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const event = JSON.parse(line) as ServeProcess['logs'][number];
      logs.push(event);
      if (event.event === 'listening') port = event.port as number;
      if (event.event === 'model_loaded') resolve();
    });
    lines.on('close', () => resolve());
  });
  await ready;
  if (port === 0) throw new Error('xllm serve exited before it was ready');
  return { child, url: `http://127.0.0.1:${port}`, exited, logs };
}

// `xllm serve` as a child process on a free port, ready once the model is loaded: used by
// the shutdown tests and by bench/load.ts, which need the real process (signals, exit code).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

const CLI = join(import.meta.dirname, '..', '..', 'server', 'cli.ts');

export async function startServeProcess(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let port = 0;
  // The JSON-line log says where it listens, then that the model is ready.
  for await (const line of createInterface({ input: child.stdout! })) {
    const event = JSON.parse(line) as { event: string; port?: number };
    if (event.event === 'listening') port = event.port!;
    if (event.event === 'model_loaded') break;
  }
  if (port === 0) throw new Error('xllm serve exited before it was ready');
  child.stdout!.resume();
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

// Runs a command under GNU time (`/usr/bin/time -v`) and reads back its wall time and peak
// resident set size: how the conversion checks measure a converter's memory from outside.
import { spawnSync } from 'node:child_process';

export interface TimedRun {
  seconds: number;
  peakRssBytes: number;
}

export function runTimed(command: string, args: string[]): TimedRun {
  const run = spawnSync('/usr/bin/time', ['-v', command, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) {
    console.error(run.stdout, run.stderr);
    throw new Error(`${command} ${args.join(' ')} failed with status ${run.status}`);
  }
  const field = (label: string) => run.stderr.match(new RegExp(`${label}: (.+)`))?.[1]?.trim() ?? '?';
  const clock = field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)').split(':').map(Number);
  const seconds = clock.reduce((total, part) => total * 60 + part, 0);
  const peakRssBytes = Number(field('Maximum resident set size \\(kbytes\\)')) * 1024;
  if (!Number.isFinite(seconds) || !Number.isFinite(peakRssBytes)) throw new Error('could not read /usr/bin/time -v output');
  return { seconds, peakRssBytes };
}

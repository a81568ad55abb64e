// Stop strings for streaming output: each push returns the text that is safe to emit,
// holding back a tail that could still grow into a stop string, and cuts the text where
// a stop string completes (before it, or after it with includeStopStr). Matching runs in
// C over UTF-8 bytes (xl_stop_scan), across pushes and for several stop strings at once.
import { Layout } from './arena.ts';
import { MAX_STOP_STRINGS } from './params.ts';
import { checkStatus } from './status.ts';
import { textArena, textUnit } from './text-unit.ts';

export interface StopMatcherOptions {
  /** Keep the stop string at the end of the text (include_stop_str_in_output). */
  includeStopStr?: boolean;
}

export interface StopPush {
  /** Text to emit now. */
  text: string;
  /** A stop string completed: generation ends, nothing more is emitted. */
  stopped: boolean;
  /** Which stop string (its index) completed, on the push where it did. */
  matched?: number;
}

const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a leading U+FEFF is output text

export class StopMatcher {
  private readonly stopBytes: Uint8Array;
  private readonly offsets: Int32Array;
  private readonly includeStopStr: boolean;
  private held = '';
  private stopped = false;

  constructor(stops: readonly string[], options: StopMatcherOptions = {}) {
    if (stops.length > MAX_STOP_STRINGS) throw new Error(`stop: at most ${MAX_STOP_STRINGS} stop strings, got ${stops.length}`);
    const encoded = stops.map((stop, i) => {
      if (typeof stop !== 'string' || stop.length === 0) throw new Error(`stop: stop string ${i} is empty`);
      return utf8.encode(stop);
    });
    this.offsets = new Int32Array(encoded.length + 1);
    encoded.forEach((bytes, i) => (this.offsets[i + 1] = this.offsets[i] + bytes.length));
    this.stopBytes = new Uint8Array(this.offsets[encoded.length]);
    encoded.forEach((bytes, i) => this.stopBytes.set(bytes, this.offsets[i]));
    this.includeStopStr = options.includeStopStr ?? false;
  }

  /** Feeds newly decoded text; returns what can be emitted now. */
  push(text: string): StopPush {
    if (this.stopped) return { text: '', stopped: true };
    const pending = this.held + text;
    if (pending === '' || this.offsets.length === 1) {
      this.held = '';
      return { text: pending, stopped: false };
    }
    const bytes = utf8.encode(pending);
    const layout = new Layout();
    const textAt = layout.take(bytes.length);
    const stopsAt = layout.take(this.stopBytes.length);
    const offsetsAt = layout.take(4 * this.offsets.length);
    const outAt = layout.take(8);
    const base = textArena.reserve(layout.size);
    const u8 = textUnit.u8;
    u8.set(bytes, base + textAt);
    u8.set(this.stopBytes, base + stopsAt);
    textUnit.i32(base + offsetsAt, this.offsets.length).set(this.offsets);
    const found = checkStatus(
      textUnit.exports.xl_stop_scan(base + textAt, bytes.length, base + stopsAt, base + offsetsAt, this.offsets.length - 1, base + outAt),
      'stop',
    );
    const [at, stop] = textUnit.i32(base + outAt, 2);
    if (found) {
      this.stopped = true;
      this.held = '';
      const end = this.includeStopStr ? at + this.offsets[stop + 1] - this.offsets[stop] : at;
      return { text: decoder.decode(bytes.subarray(0, charBoundary(bytes, end))), stopped: true, matched: stop };
    }
    const safe = charBoundary(bytes, at);
    this.held = decoder.decode(bytes.subarray(safe));
    return { text: decoder.decode(bytes.subarray(0, safe)), stopped: false };
  }

  /** The held-back tail, at the end of generation when no stop string completed. */
  flush(): string {
    const rest = this.stopped ? '' : this.held;
    this.held = '';
    return rest;
  }
}

/** The largest index ≤ end that does not fall inside a UTF-8 character. */
function charBoundary(bytes: Uint8Array, end: number): number {
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
  return end;
}

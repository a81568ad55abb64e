import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StopMatcher } from '../../src/sampling/stop.ts';

const PIECES = ['中', '文', '字', '😀', '🎉', 'é', 'a', 'b', ' ', '\n', 'END', '停止', '👍🏽'];
const pieceArb = fc.constantFrom(...PIECES);
const textArb = fc.array(pieceArb, { maxLength: 40 }).map((p) => p.join(''));
const stopArb = fc.array(pieceArb, { minLength: 1, maxLength: 3 }).map((p) => p.join(''));

/** Reference: the occurrence that ends first (ties: the longest, then the stop listed first), cut before or after it. */
function expected(text: string, stops: string[], include: boolean): { text: string; stopped: boolean; stop?: string } {
  const bytes = Buffer.from(text);
  let best: { end: number; length: number; stop: string } | null = null;
  for (const stop of stops) {
    const pattern = Buffer.from(stop);
    const at = bytes.indexOf(pattern);
    const end = at + pattern.length;
    if (at >= 0 && (best === null || end < best.end || (end === best.end && pattern.length > best.length))) best = { end, length: pattern.length, stop };
  }
  if (!best) return { text, stopped: false };
  const cut = include ? best.end : best.end - best.length;
  return { text: bytes.subarray(0, cut).toString(), stopped: true, stop: best.stop };
}

test('streamed output equals the reference cut, for text split at random byte points', () => {
  fc.assert(
    fc.property(textArb, fc.array(stopArb, { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (text, stops, cuts, include) => {
      const bytes = Buffer.from(text);
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const decoder = new TextDecoder(); // like the detokenizer: never yields half a character
      const matcher = new StopMatcher(stops, { includeStopStr: include });
      let emitted = '';
      let stopped = false;
      let matched: string | undefined;
      let seen = '';
      let from = 0;
      for (const to of [...points, bytes.length]) {
        const piece = decoder.decode(bytes.subarray(from, to), { stream: to < bytes.length });
        from = to;
        seen += piece;
        const step = matcher.push(piece);
        emitted += step.text;
        assert.ok(!/[\ud800-\udbff]$/.test(step.text) && !/^[\udc00-\udfff]/.test(step.text), 'a chunk splits a surrogate pair');
        if (step.stopped) {
          // The stop completes in this very push, not earlier.
          assert.ok(expected(seen, stops, include).stopped);
          stopped = true;
          matched = stops[step.matched!];
          break;
        } else {
          assert.not.ok(expected(seen, stops, include).stopped, 'a completed stop string went unnoticed');
          assert.ok(!stops.some((s) => emitted.includes(s)), 'a stop string was emitted');
        }
      }
      if (!stopped) emitted += matcher.flush();
      assert.equal({ text: emitted, stopped, ...(matched !== undefined ? { stop: matched } : {}) }, expected(text, stops, include), 'the text, and which stop string ended it');
    }),
    { numRuns: 500 },
  );
});

test('held-back prefixes are released at the end, and bad stop lists are rejected', () => {
  const matcher = new StopMatcher(['</end>']);
  assert.equal(matcher.push('answer </e'), { text: 'answer ', stopped: false });
  assert.equal(matcher.push('n'), { text: '', stopped: false });
  assert.is(matcher.flush(), '</en');
  assert.throws(() => new StopMatcher(['']), /stop string 0 is empty/);
  assert.throws(() => new StopMatcher(Array.from({ length: 17 }, (_, i) => `s${i}`)), /at most 16/);
  const done = new StopMatcher(['x'], { includeStopStr: true });
  assert.equal(done.push('abxcd'), { text: 'abx', stopped: true, matched: 0 });
  assert.equal(done.push('more'), { text: '', stopped: true });
});

test.run();

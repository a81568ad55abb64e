// The C constraint engine against plain references: its masks against a subset simulation of
// the same NFA token by token, and the text it lets through against JavaScript's own RegExp.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Automaton, compileConstraint, VocabularyTrie } from '../../src/constraint/index.ts';
import { simulator } from '../../src/constraint/json-schema.ts';
import { seedRng } from '../../src/sampling/rng.ts';
import { Sampler } from '../../src/sampling/sampler.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** A small vocabulary: every single byte, some multi-byte pieces, and two unusable ids. */
const PIECES = ['ab', 'abc', 'ba', '"a', '{"', '":', '12', '3.', 'true', 'false', 'null', 'é', 'éé', '中文', 'x"', '\\"', ' {', '},', '"}', 'aaaa'];
const VOCAB = 256 + PIECES.length + 2;
const EOS = VOCAB - 1;
const tokenBytes = (id: number): Uint8Array | null => (id < 256 ? Uint8Array.of(id) : id < 256 + PIECES.length ? encoder.encode(PIECES[id - 256]) : null);

async function setup() {
  const sampler = await Sampler.create(VOCAB, 2);
  const trie = VocabularyTrie.build(sampler, { usableBytes: tokenBytes });
  return { sampler, trie };
}

/** A small deterministic generator. */
function rng(seed: number): () => number {
  const state = seedRng(seed);
  return () => {
    state[0] = (Math.imul(state[0] ^ (state[0] >>> 15), 0x2c1b3c6d) + state[1]) >>> 0;
    state[1] = (state[1] + 0x9e3779b9) >>> 0;
    return state[0] / 4294967296;
  };
}

const REGEXES = ['[a-c]{2,4}x', '(true|false|null)', '"[^"\\\\]*"', '-?\\d+(\\.\\d{1,3})?', 'é+中?', '(ab|ba)*', '\\{"[a-z]{1,3}": \\d\\}', '[^a-z]{0,3}'];

test('masks equal a subset simulation of the NFA, token by token, along random walks', async () => {
  const { trie } = await setup();
  for (const [r, pattern] of REGEXES.entries()) {
    const { nfa } = compileConstraint({ type: 'regex', pattern });
    const automaton = Automaton.create(trie, nfa, [EOS]).acquire();
    const sim = simulator(nfa);
    const next = rng(r + 1);
    for (let walk = 0; walk < 20; walk++) {
      let state = automaton.start;
      let set = sim.closure([nfa.start]);
      for (let step = 0; step < 12; step++) {
        const expected: number[] = [];
        for (let id = 0; id < VOCAB; id++) {
          const bytes = tokenBytes(id);
          if (!bytes) continue;
          let s = set;
          for (const b of bytes) if (s.length > 0) s = sim.step(s, b);
          if (s.length > 0) expected.push(id);
        }
        if (set.includes(nfa.accept)) expected.push(EOS);
        const allowed = automaton.allowed(state);
        assert.equal(allowed, expected, `${pattern}: walk ${walk}, step ${step}`);
        assert.is(automaton.accepting(state), set.includes(nfa.accept));
        const choices = allowed.filter((id) => id !== EOS);
        if (choices.length === 0) break;
        const token = choices[Math.floor(next() * choices.length)];
        state = automaton.step(state, token);
        for (const b of tokenBytes(token)!) set = sim.step(set, b);
        assert.ok(state > 0, 'an allowed token keeps the automaton alive');
      }
    }
    automaton.releaseUse();
    automaton.retire();
  }
});

test('text drawn through the masks always matches the RegExp, and masked rows keep only allowed logits', async () => {
  const { sampler, trie } = await setup();
  for (const [r, pattern] of REGEXES.entries()) {
    const automaton = Automaton.create(trie, compileConstraint({ type: 'regex', pattern }).nfa, [EOS]);
    const reference = new RegExp(`^(?:${pattern})$`, 'u');
    const next = rng(100 + r);
    let matched = 0;
    for (let draw = 0; draw < 40; draw++) {
      let state = automaton.start;
      const bytes: number[] = [];
      for (let step = 0; step < 40; step++) {
        sampler.logitsView(1).fill(0);
        const kept = automaton.applyMask(state, 0);
        const row = sampler.logitsView(1);
        const open = [...row.keys()].filter((id) => row[id] === 0);
        assert.is(open.length, kept);
        assert.equal(open, automaton.allowed(state));
        const token = open[Math.floor(next() * open.length)];
        if (token === EOS) break;
        bytes.push(...tokenBytes(token)!);
        state = automaton.step(state, token);
      }
      if (!automaton.accepting(state)) continue; // the walk ran out of steps
      const text = decoder.decode(Uint8Array.from(bytes));
      assert.ok(reference.test(text), `${pattern} does not match ${JSON.stringify(text)}`);
      matched++;
    }
    assert.ok(matched >= 10, `${pattern}: only ${matched} of 40 draws ended`);
    automaton.retire();
  }
});

test('stepping out of the language reaches the dead state, and its mask is empty', async () => {
  const { trie } = await setup();
  const automaton = Automaton.create(trie, compileConstraint({ type: 'regex', pattern: 'ab' }).nfa, [EOS]);
  const dead = automaton.step(automaton.start, 'z'.charCodeAt(0));
  assert.is(dead, 0);
  assert.equal(automaton.allowed(dead), []);
  assert.equal(automaton.allowed(automaton.step(automaton.start, 256 /* "ab" */)), [EOS]);
  automaton.retire();
});

test.run();

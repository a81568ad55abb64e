// Per-request PRNG state: xoshiro128** (four 32-bit words) advanced by the C sampler.
// The state lives with the request, so a seeded request draws the same tokens alone or
// at any position in any batch.
import { randomFillSync } from 'node:crypto';

export type RngState = Uint32Array;

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) >>> 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A generator state from a safe-integer seed, or a random one without a seed. */
export function seedRng(seed?: number): RngState {
  const state = new Uint32Array(4);
  if (seed === undefined) {
    do randomFillSync(state);
    while (state.every((w) => w === 0));
    return state;
  }
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
  const low = { x: seed >>> 0 };
  const high = { x: Math.floor(seed / 2 ** 32) >>> 0 };
  for (let i = 0; i < 4; i++) state[i] = (splitmix32(low) ^ Math.imul(splitmix32(high), 0x27d4eb2d)) >>> 0;
  if (state.every((w) => w === 0)) state[0] = 1; // the all-zero state never leaves zero
  return state;
}

// Rotary cos/sin tables [positions, headDim / 2] for GroupQueryAttention's rotary (and the
// optimum graph), following transformers' rope_init functions for the scaling types the
// families use (linear, YaRN, Llama 3's).
import type { GraphBuilder } from '../onnx/graph.ts';
import { attr } from '../onnx/graph.ts';
import type { DecoderConfig } from './config.ts';

export interface RopeTables {
  positions: number;
  half: number;
  cos: Float32Array;
  sin: Float32Array;
}

function inverseFrequencies(config: DecoderConfig): { invFreq: Float64Array; attentionFactor: number } {
  const dim = config.headDim;
  const half = dim / 2;
  const base = new Float64Array(half);
  for (let i = 0; i < half; i++) base[i] = 1 / config.ropeTheta ** ((2 * i) / dim);
  const s = config.ropeScaling;
  if (!s) return { invFreq: base, attentionFactor: 1 };
  if (s.type === 'linear') return { invFreq: base.map((f) => f / s.factor), attentionFactor: 1 };
  if (s.type === 'llama3') {
    // Wavelengths longer than the original context / low_freq_factor are slowed by `factor`,
    // shorter than context / high_freq_factor kept, and the band between blended smoothly.
    const lowWavelength = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelength = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    const invFreq = base.map((f) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength > lowWavelength) return f / s.factor;
      if (wavelength < highWavelength) return f;
      const smooth = (s.originalMaxPositionEmbeddings / wavelength - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
      return (1 - smooth) * (f / s.factor) + smooth * f;
    });
    return { invFreq, attentionFactor: 1 };
  }
  // YaRN: interpolate low frequencies, keep high ones, blend linearly in between.
  const correctionDim = (rotations: number) => (dim * Math.log(s.originalMaxPositionEmbeddings / (rotations * 2 * Math.PI))) / (2 * Math.log(config.ropeTheta));
  const low = Math.max(Math.floor(correctionDim(s.betaFast)), 0);
  const high = Math.min(Math.ceil(correctionDim(s.betaSlow)), dim - 1);
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high === low ? high - low + 0.001 : high - low)));
    const extrapolationWeight = 1 - ramp;
    invFreq[i] = (base[i]! / s.factor) * (1 - extrapolationWeight) + base[i]! * extrapolationWeight;
  }
  return { invFreq, attentionFactor: s.factor <= 1 ? 1 : 0.1 * Math.log(s.factor) + 1 };
}

/** Rows the tables need: the config's context, or YaRN's extended one when larger. */
export function ropePositions(config: DecoderConfig): number {
  const s = config.ropeScaling;
  const extended = s?.type === 'yarn' ? Math.round(s.factor * s.originalMaxPositionEmbeddings) : 0;
  return Math.max(config.maxPositionEmbeddings, extended);
}

export function ropeTables(config: DecoderConfig): RopeTables {
  const { invFreq, attentionFactor } = inverseFrequencies(config);
  const positions = ropePositions(config);
  const half = invFreq.length;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      cos[p * half + i] = Math.cos(angle) * attentionFactor;
      sin[p * half + i] = Math.sin(angle) * attentionFactor;
    }
  }
  return { positions, half, cos, sin };
}

/**
 * transformers' apply_rotary_pos_emb as plain ops: x·cos + rotate_half(x)·sin, where
 * rotate_half(x) = [-x2, x1] for the two halves of the last axis and cos/sin span the whole
 * head width (each table row repeated twice), broadcast against x.
 */
export function rotateHalf(g: GraphBuilder, x: string, cos: string, sin: string, name: string): string {
  const [x1, x2] = g.node('Split', [x], { name: `${name}/halves`, outputs: 2, attrs: { axis: attr.int(-1) } });
  const turned = g.op('Concat', [g.op('Neg', [x2!], { name: `${name}/neg` }), x1!], { name: `${name}/turned`, attrs: { axis: attr.int(-1) } });
  return g.op('Add', [g.op('Mul', [x, cos], { name: `${name}/cos` }), g.op('Mul', [turned, sin], { name: `${name}/sin` })], { name });
}

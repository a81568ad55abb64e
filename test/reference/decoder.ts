// A plain forward pass of the decoder-only families for tests, written from transformers'
// modeling files (Qwen2, Qwen3, Llama, Mistral): float64 loops straight over the Hugging Face
// checkpoint, with its own minimal safetensors reader (independent of the converter's), one
// token at a time with a KV cache. Slow and obviously correct is the point.
//   Qwen2: q/k/v biases. Qwen3: no biases; RMSNorm over each head of q and k (q_norm,
//   k_norm) before the rotary; head_dim from config. Llama 3: no biases; rope frequencies
//   rescaled by _compute_llama3_parameters. Mistral: Llama's layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Config {
  modelType: string;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  eps: number;
  theta: number;
  /** The rotary's inverse frequencies, headDim / 2 of them, after any rope scaling. */
  invFreq: Float64Array;
  tied: boolean;
}

/** transformers' rope init: default, linear, or llama3 (_compute_llama3_parameters). */
function inverseFrequencies(raw: Record<string, any>, headDim: number): Float64Array {
  const base = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / raw.rope_theta ** ((2 * i) / headDim));
  const s = raw.rope_scaling;
  const type = s && (s.rope_type ?? s.type);
  if (!s || type === 'default' || Array.isArray(s.mrope_section)) return base; // M-RoPE sections are the caller's
  if (type === 'linear') return base.map((f) => f / s.factor);
  if (type !== 'llama3') throw new Error(`reference: rope_scaling ${type} is not implemented`);
  const oldContext = s.original_max_position_embeddings;
  const lowFreqWavelen = oldContext / s.low_freq_factor;
  const highFreqWavelen = oldContext / s.high_freq_factor;
  return base.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    let scaled = wavelen > lowFreqWavelen ? f / s.factor : f;
    const smooth = (oldContext / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (medium) scaled = (1 - smooth) * (scaled / s.factor) + smooth * scaled;
    return scaled;
  });
}

function loadTensors(dir: string): Map<string, Float32Array> {
  const file = readFileSync(join(dir, 'model.safetensors'));
  const headerLength = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + headerLength).toString('utf8'));
  const base = 8 + headerLength;
  const tensors = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries<{ dtype: string; data_offsets: [number, number] }>(header)) {
    if (name === '__metadata__') continue;
    const bytes = file.subarray(base + t.data_offsets[0], base + t.data_offsets[1]);
    const values = new Float32Array(bytes.length / (t.dtype === 'F32' ? 4 : 2));
    for (let i = 0; i < values.length; i++) {
      if (t.dtype === 'F32') values[i] = bytes.readFloatLE(4 * i);
      else if (t.dtype === 'BF16') values[i] = new Float32Array(new Uint32Array([bytes.readUInt16LE(2 * i) << 16]).buffer)[0]!;
      else if (t.dtype === 'F16') {
        const h = bytes.readUInt16LE(2 * i);
        const e = (h >> 10) & 31;
        const m = h & 1023;
        const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
        values[i] = h & 0x8000 ? -v : v;
      } else throw new Error(`reference: unsupported dtype ${t.dtype}`);
    }
    tensors.set(name, values);
  }
  return tensors;
}

function rmsNorm(x: Float64Array, weight: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * weight[i]!);
}

/** y = W x (+ b), W stored [out, in]. */
function linear(w: Float32Array, x: Float64Array, out: number, bias?: Float32Array): Float64Array {
  const n = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let acc = bias ? bias[o]! : 0;
    const row = o * n;
    for (let i = 0; i < n; i++) acc += w[row + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

export class ReferenceSequence {
  private readonly keys: Float64Array[][];
  private readonly values: Float64Array[][];

  constructor(private readonly model: DecoderReference) {
    this.keys = Array.from({ length: model.config.layers }, () => []);
    this.values = Array.from({ length: model.config.layers }, () => []);
  }

  /** Tokens already in the cache. */
  get length(): number {
    return this.keys[0]!.length;
  }

  /** Appends tokens (positions continue from the cache length); returns one logits row per token. */
  forward(tokens: number[]): Float32Array[] {
    return tokens.map((t) => this.logits(this.step(t)));
  }

  /** Appends tokens like forward(); returns each token's final hidden state (after the last norm, as Qwen2Model's last_hidden_state). */
  hiddenStates(tokens: number[]): Float64Array[] {
    return tokens.map((t) => this.step(t));
  }

  private rotate(x: Float64Array, heads: number, positionOf: (frequency: number) => number): void {
    const { headDim, invFreq } = this.model.config;
    const half = headDim / 2;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < half; i++) {
        const angle = positionOf(i) * invFreq[i]!;
        const a = x[h * headDim + i]!;
        const b = x[h * headDim + i + half]!;
        x[h * headDim + i] = a * Math.cos(angle) - b * Math.sin(angle);
        x[h * headDim + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
      }
    }
  }

  private step(token: number): Float64Array {
    const position = this.length;
    return this.appendHidden(this.model.embedding(token), () => position);
  }

  private logits(hidden: Float64Array): Float32Array {
    const c = this.model.config;
    return Float32Array.from(linear(this.model.tensor(c.tied ? 'model.embed_tokens.weight' : 'lm_head.weight'), hidden, c.vocab));
  }

  /**
   * Appends one token given its input embedding; rotary frequency i rotates by position
   * `positionOf(i)` (a plain position for Qwen2, a per-section one for M-RoPE).
   */
  append(embedding: Float64Array, positionOf: (frequency: number) => number): Float32Array {
    return this.logits(this.appendHidden(embedding, positionOf));
  }

  private appendHidden(embedding: Float64Array, positionOf: (frequency: number) => number): Float64Array {
    const c = this.model.config;
    const w = (name: string) => this.model.tensor(name);
    let x = Float64Array.from(embedding);
    const groups = c.heads / c.kvHeads;
    for (let l = 0; l < c.layers; l++) {
      const p = `model.layers.${l}`;
      const h = rmsNorm(x, w(`${p}.input_layernorm.weight`), c.eps);
      const bias = (t: string) => this.model.optionalTensor(`${p}.self_attn.${t}_proj.bias`);
      const q = linear(w(`${p}.self_attn.q_proj.weight`), h, c.heads * c.headDim, bias('q'));
      const k = linear(w(`${p}.self_attn.k_proj.weight`), h, c.kvHeads * c.headDim, bias('k'));
      const v = linear(w(`${p}.self_attn.v_proj.weight`), h, c.kvHeads * c.headDim, bias('v'));
      if (c.modelType === 'qwen3') {
        // Qwen3Attention: q_norm / k_norm over each head's head_dim values, before the rotary.
        for (const [t, heads, norm] of [[q, c.heads, 'q_norm'], [k, c.kvHeads, 'k_norm']] as const) {
          for (let head = 0; head < heads; head++) {
            const slice = t.subarray(head * c.headDim, (head + 1) * c.headDim);
            slice.set(rmsNorm(Float64Array.from(slice), w(`${p}.self_attn.${norm}.weight`), c.eps));
          }
        }
      }
      this.rotate(q, c.heads, positionOf);
      this.rotate(k, c.kvHeads, positionOf);
      this.keys[l]!.push(k);
      this.values[l]!.push(v);
      const attn = new Float64Array(c.heads * c.headDim);
      for (let head = 0; head < c.heads; head++) {
        const kvOffset = Math.floor(head / groups) * c.headDim;
        const scores = this.keys[l]!.map((key) => {
          let dot = 0;
          for (let i = 0; i < c.headDim; i++) dot += q[head * c.headDim + i]! * key[kvOffset + i]!;
          return dot / Math.sqrt(c.headDim);
        });
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, b) => a + b, 0);
        exps.forEach((e, j) => {
          for (let i = 0; i < c.headDim; i++) attn[head * c.headDim + i]! += (e / sum) * this.values[l]![j]![kvOffset + i]!;
        });
      }
      const o = linear(w(`${p}.self_attn.o_proj.weight`), attn, c.hidden);
      x = x.map((v, i) => v + o[i]!);
      const h2 = rmsNorm(x, w(`${p}.post_attention_layernorm.weight`), c.eps);
      const gate = linear(w(`${p}.mlp.gate_proj.weight`), h2, c.intermediate);
      const up = linear(w(`${p}.mlp.up_proj.weight`), h2, c.intermediate);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = linear(w(`${p}.mlp.down_proj.weight`), act, c.hidden);
      x = x.map((v, i) => v + down[i]!);
    }
    return rmsNorm(x, w('model.norm.weight'), c.eps);
  }
}

export class DecoderReference {
  private constructor(
    readonly config: Config,
    private readonly tensors: Map<string, Float32Array>,
  ) {}

  /**
   * Loads a Hugging Face directory of a text family with a single model.safetensors.
   * Qwen2.5-VL's text model loads too: its M-RoPE sections are the caller's, through
   * `append`'s positionOf.
   */
  static load(dir: string): DecoderReference {
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    if (raw.rope_scaling?.type === 'yarn' || raw.rope_scaling?.rope_type === 'yarn') throw new Error('reference: YaRN is not implemented');
    const headDim = raw.head_dim ?? raw.hidden_size / raw.num_attention_heads;
    const config: Config = {
      modelType: raw.model_type,
      hidden: raw.hidden_size,
      intermediate: raw.intermediate_size,
      layers: raw.num_hidden_layers,
      heads: raw.num_attention_heads,
      kvHeads: raw.num_key_value_heads,
      headDim,
      vocab: raw.vocab_size,
      eps: raw.rms_norm_eps,
      theta: raw.rope_theta,
      invFreq: inverseFrequencies(raw, headDim),
      tied: raw.tie_word_embeddings === true,
    };
    return new DecoderReference(config, loadTensors(dir));
  }

  /** A tensor the family may leave out (attention biases). */
  optionalTensor(name: string): Float32Array | undefined {
    return this.tensors.get(name);
  }

  tensor(name: string): Float32Array {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`reference: missing tensor ${name}`);
    return t;
  }

  /** The input embedding of one token. */
  embedding(token: number): Float64Array {
    const { vocab, hidden } = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= vocab) throw new Error(`reference: token ${token} out of range`);
    return Float64Array.from(this.tensor('model.embed_tokens.weight').subarray(token * hidden, (token + 1) * hidden));
  }

  newSequence(): ReferenceSequence {
    return new ReferenceSequence(this);
  }

  /** Greedy continuation of `prompt` by `steps` tokens. */
  greedy(prompt: number[], steps: number): number[] {
    const seq = this.newSequence();
    let logits = seq.forward(prompt).at(-1)!;
    const out: number[] = [];
    for (let s = 0; s < steps; s++) {
      const next = argmax(logits);
      out.push(next);
      logits = seq.forward([next])[0]!;
    }
    return out;
  }
}

/**
 * An embedding as sentence-transformers computes it from the final hidden states: the last
 * token's (or the mean over all tokens), cut to `dimensions`, scaled to unit length.
 */
export function referenceEmbedding(
  model: DecoderReference,
  tokens: number[],
  { pooling = 'last', dimensions = model.config.hidden, normalize = true }: { pooling?: 'last' | 'mean'; dimensions?: number; normalize?: boolean } = {},
): number[] {
  const hidden = model.newSequence().hiddenStates(tokens);
  const rows = pooling === 'mean' ? hidden : [hidden.at(-1)!];
  const pooled = Array.from({ length: dimensions }, (_, i) => rows.reduce((sum, row) => sum + row[i]!, 0) / rows.length);
  const norm = normalize ? Math.hypot(...pooled) : 1;
  return pooled.map((v) => v / norm);
}

export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

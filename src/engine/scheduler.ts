// The step loop. Each turn: admit waiting requests into free KV slots, run one prefill chunk
// (so a long prompt never freezes other streams; plain prompts admitted together share it,
// one row each), then one decode step over every running sequence at once (continuous
// batching). Where the runner takes mixed passes, a prompt being prefilled while streams decode
// goes into their decode step instead, a chunk each step, sized by PrefillBudget so that the
// streams keep their pace. A request's slots are freed the step it ends or is cancelled.
import type { Tokenizer } from '../tokenizer/tokenizer.ts';
import { hasVision } from '../model/manifest.ts';
import type { Decoding } from './decoding.ts';
import { EngineError } from './errors.ts';
import type { ForwardStep, ModelRunner, PassSegment } from './model-runner.ts';
import { PrefillBudget } from './prefill-budget.ts';
import { isPrefillOnly, Phase, type EmbedRequestState, type GenerateRequestState, type RequestState, type SampleRequestState } from './requests.ts';
import { Sequence } from './sequence.ts';
import { SequenceStepper } from './sequence-stepper.ts';
import type { EngineObserver, TopLogprob } from './types.ts';
import { chunkInputs, type VisionPrompt } from './vision-prompt.ts';

export interface SchedulerOptions {
  slots: number;
  maxModelLen: number;
  maxQueueLength: number;
  prefixCache: boolean;
  /** Prompt tokens per prefill forward pass. */
  prefillChunk: number;
  /**
   * Mixed passes (where the runner takes them): a running stream's step may take up to this
   * many times a decode-only step while a prompt is prefilled in it; 0 = no mixed passes.
   */
  maxDecodeSlowdown: number;
  /** How long the KV buffers may stay larger than needed before they shrink (fitCache). */
  kvShrinkDelayMs: number;
  observer?: EngineObserver;
}

/** A prompt chunk's part of a pass: prompt positions [start, end), the output rows it keeps. */
interface ChunkPlan {
  state: RequestState;
  segment: PassSegment;
  end: number;
  /** Prompt positions whose output rows the pass keeps, in order. */
  keep: number[];
}

/** A decode step's part of a pass: the live sequences, their segments, where their tokens lie. */
interface DecodePlan {
  live: { state: GenerateRequestState; seq: Sequence }[];
  segments: PassSegment[];
  /** live[i]'s token among the segments' tokens. */
  tokenAt: number[];
}

/** Where a forward pass writes the output rows it keeps: logits (the sampler's memory) or hidden states. */
interface OutputRows {
  /** Rows one pass may keep. */
  readonly maxRows: number;
  readonly width: number;
  /** The first `rows` rows, for ONNX Runtime to write into. */
  view(rows: number): Float32Array;
}

export class Scheduler {
  private readonly waiting: RequestState[] = [];
  private readonly running: RequestState[] = [];
  private readonly owner: (RequestState | null)[];
  /** Tokens whose KV a free slot still holds (the prefix cache). */
  private readonly slotContent: number[][];
  /** When each slot's content was last released (a count of releases): the least recent goes first. */
  private readonly slotReleasedAt: number[];
  private releases = 0;
  private readonly steppers = new WeakMap<GenerateRequestState, SequenceStepper>();
  /** Vision graph runs in flight (close waits for them before the sessions go). */
  private readonly encoding = new Set<Promise<void>>();
  private wake: (() => void) | null = null;
  /** Since when the KV buffers could have shrunk (fitCache), or null. */
  private oversizedSince: number | null = null;
  private stopped = false;
  private paused = false;
  private readonly loopDone: Promise<void>;
  private readonly outputRows: OutputRows;
  /** Sizes mixed passes' prompt chunks; null when there are none. */
  private readonly budget: PrefillBudget | null;
  prefixCacheHits = 0;

  constructor(
    private readonly runner: ModelRunner,
    private readonly decoding: Decoding,
    private readonly tokenizer: Tokenizer,
    private readonly options: SchedulerOptions,
  ) {
    this.owner = new Array(options.slots).fill(null);
    this.slotContent = Array.from({ length: options.slots }, () => []);
    this.slotReleasedAt = new Array(options.slots).fill(0);
    this.outputRows = runner.manifest.embedding ? hiddenStateRows(options.prefillChunk, runner.rowOutput.width) : { maxRows: decoding.maxRows, width: runner.rowOutput.width, view: (rows) => decoding.logits(rows) };
    this.budget = runner.mixedPasses && options.maxDecodeSlowdown > 0 ? new PrefillBudget(options.maxDecodeSlowdown, options.prefillChunk) : null;
    this.loopDone = this.loop();
  }

  get waitingCount(): number {
    return this.waiting.length;
  }
  get runningCount(): number {
    return this.running.length;
  }
  get slotCount(): number {
    return this.owner.length;
  }
  get slotsUsed(): number {
    return this.owner.filter((o) => o !== null).length;
  }

  submit(state: RequestState): void {
    if (this.waiting.length >= this.options.maxQueueLength) {
      throw new EngineError('RESOURCE_EXHAUSTED', 'The number of concurrent requests has reached the limit.');
    }
    this.waiting.push(state);
    this.poke();
  }

  /** Marks a request cancelled; its slots are freed at the start of the next step. */
  cancel(state: RequestState): void {
    state.cancelled = true;
    this.poke();
  }

  /** Sleep: stop stepping (the engine refuses new work first) and forget the KV contents. */
  pause(): void {
    this.paused = true;
    for (const content of this.slotContent) content.length = 0;
  }
  resume(): void {
    this.paused = false;
    this.poke();
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const state of [...this.waiting, ...this.running]) this.fail(state, new EngineError('CANCELLED', 'engine closed'));
    this.poke();
    await this.loopDone;
    await Promise.all(this.encoding);
  }

  /** Until poked, or until the KV buffers are due to shrink. */
  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const since = this.oversizedSince;
      const timer = since === null ? null : setTimeout(() => this.poke(), Math.max(0, since + this.options.kvShrinkDelayMs - performance.now()));
      timer?.unref();
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.dropCancelled();
      if (!this.paused) this.admit();
      const prefill = this.paused ? undefined : this.running.find((s) => s.phase === Phase.Prefill && !awaitingImages(s));
      const decoding = this.paused ? [] : this.running.filter((s) => s.phase === Phase.Decode);
      if (!prefill && decoding.length === 0) {
        this.fitCache();
        await this.idle();
        continue;
      }
      this.fitCache();
      const streams = this.decodingStreams();
      if (prefill && streams.length > 0 && this.budget) {
        // A decode-only step first when there is no timing of one yet to size the chunk by.
        const tokens = this.budget.tokens();
        if (tokens > 0) {
          const alone = (state: RequestState) => (state === prefill ? this.prefillChunk(state) : this.decodeStep([state as GenerateRequestState]));
          await this.contained<RequestState>([...streams, prefill], () => this.mixedStep(prefill, streams, tokens), alone);
        } else {
          await this.contained(streams, () => this.decodeStep(streams), (state) => this.decodeStep([state]));
        }
      } else {
        const together = prefill && this.prefillCompanions(prefill);
        if (together) await this.contained(together, () => this.prefillTogether(together), (state) => this.prefillChunk(state));
        else if (prefill) await this.contained([prefill], () => this.prefillChunk(prefill));
        const decode = this.decodingStreams();
        if (decode.length > 0) await this.contained(decode, () => this.decodeStep(decode), (state) => this.decodeStep([state]));
      }
      await new Promise((resolve) => setImmediate(resolve)); // let HTTP work run between steps
    }
  }

  /** The requests whose sequences take a decode step. */
  private decodingStreams(): GenerateRequestState[] {
    return this.running.filter((s): s is GenerateRequestState => s.phase === Phase.Decode && !isPrefillOnly(s));
  }

  /**
   * Runs a forward pass of `members` so that its failure harms only them: a failed pass of
   * several requests is retried for each alone (`alone`), so the innocent ones go on and
   * only the request that makes its own pass fail is failed. A retry repeats the same
   * positions, so whatever the failed pass wrote into the KV cache is written again.
   */
  private async contained<S extends RequestState>(members: S[], run: () => Promise<void>, alone?: (state: S) => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.options.observer?.onForwardFailed?.({ requests: members.length });
      if (!alone || members.length === 1) {
        const failure = new EngineError('INTERNAL', `inference failed: ${(error as Error).message}`);
        for (const state of members) if (state.phase !== Phase.Done) this.fail(state, failure);
        return;
      }
      for (const state of members) if (state.phase !== Phase.Done) await this.contained([state], () => alone(state));
    }
  }

  /**
   * A request's own work after a forward pass (sampling, beam step, events). Its failure
   * fails that request only, and never reaches `contained`, which would repeat a pass that
   * the other requests have already consumed.
   */
  private settle(state: RequestState, work: () => void): void {
    try {
      work();
    } catch (error) {
      if (state.phase !== Phase.Done) this.fail(state, new EngineError('INTERNAL', `decoding failed: ${(error as Error).message}`));
    }
  }

  /**
   * Lets the KV buffers shrink to what they hold: the live sequences and, with prefix caching
   * on the native runtime, the cached prefixes. onnxruntime-node copies the whole cache on every
   * run (kv-cache.ts), so there a cached prefix beyond the live sequences is forgotten rather
   * than kept at the cost of every step. A shrink waits until the buffers have been too big for
   * kvShrinkDelayMs: shrinking between two requests made each long prompt pay two resizes.
   */
  private fitCache(): void {
    const kv = this.runner.kv;
    if (!kv) return;
    let longest = 0;
    for (const state of this.running) for (const seq of state.sequences) longest = Math.max(longest, seq.cached);
    if (this.options.prefixCache && this.runner.runtime === 'native') for (const content of this.slotContent) longest = Math.max(longest, content.length);
    if (!kv.canShrinkTo(longest)) {
      this.oversizedSince = null;
      return;
    }
    const now = performance.now();
    this.oversizedSince ??= now;
    if (now - this.oversizedSince < this.options.kvShrinkDelayMs) return;
    this.oversizedSince = null;
    kv.shrinkTo(longest);
    for (const content of this.slotContent) if (content.length > kv.capacity) content.length = kv.capacity;
  }

  private dropCancelled(): void {
    for (const state of [...this.waiting, ...this.running]) {
      if (state.cancelled && state.phase !== Phase.Done) this.fail(state, new EngineError('CANCELLED', 'request cancelled'));
    }
  }

  // ---- admission -------------------------------------------------------------------------

  private admit(): void {
    while (this.waiting.length > 0) {
      const state = this.waiting[0];
      const free = this.owner.flatMap((o, slot) => (o === null ? [slot] : []));
      const needed = isPrefillOnly(state) ? 1 : state.width;
      if (free.length < needed) return; // first come, first served
      this.waiting.shift();
      const primary = this.pickPrimarySlot(state, free);
      const others = free.filter((s) => s !== primary).slice(0, needed - 1);
      state.slots = [primary, ...others];
      for (const slot of state.slots) this.owner[slot] = state;
      const seq = new Sequence(0, primary, state.promptTokens);
      seq.cached = state.cachedTokens;
      if (seq.cached > 0) this.prefixCacheHits++;
      state.sequences = [seq];
      state.phase = Phase.Prefill;
      this.running.push(state);
      if (state.vision) this.encodeImages(state, state.vision);
      this.options.observer?.onQueued?.(state.id, (performance.now() - state.arrival) / 1000);
    }
  }

  /**
   * Runs the vision graph over all of a request's images at once, started at admission: other
   * requests keep stepping meanwhile, and this one's prefill waits for the embeddings.
   */
  private encodeImages(state: RequestState, vision: VisionPrompt): void {
    const images = vision.images!;
    vision.images = null;
    const done = this.runner.embedImages(images).then(
      (embeds) => {
        vision.embeds = embeds;
      },
      (error: Error) => {
        if (state.phase !== Phase.Done) this.fail(state, new EngineError('INTERNAL', `image encoding failed: ${error.message}`));
      },
    );
    this.encoding.add(done);
    void done.then(() => {
      this.encoding.delete(done);
      this.poke();
    });
  }

  /**
   * The free slot for a new request. Without prefix caching: the lowest. With it: the slot
   * holding the longest prefix of the prompt, reused in place when the prompt extends all it
   * holds; when the match is shorter (a chat template's opening, say), reusing that slot would
   * overwrite the rest of its cached prompt, so the matched positions are copied into the slot
   * given up instead: an empty one, else the one released longest ago (so the cache keeps as
   * many recent prompts as there are slots).
   */
  private pickPrimarySlot(state: RequestState, free: number[]): number {
    state.cachedTokens = 0;
    if (!this.options.prefixCache) return free[0];
    const age = (slot: number) => (this.slotContent[slot].length === 0 ? -1 : this.slotReleasedAt[slot]);
    const givenUp = free.reduce((a, b) => (age(b) < age(a) ? b : a));
    let match = givenUp;
    let matched = 0;
    // Keep at least the last prompt token to compute (its logits start the generation), and
    // every position whose output row is wanted (prompt logprobs, /v1/sample matches, mean
    // pooling). Image pads of different images share one token id, so no reuse reaches past
    // the first of them.
    let limit = Math.min(state.promptTokens.length - 1, state.vision?.padIndices[0] ?? Infinity);
    for (const q of state.rowsWanted) limit = Math.min(limit, q);
    for (const slot of free) {
      const content = this.slotContent[slot];
      let n = 0;
      while (n < limit && n < content.length && content[n] === state.promptTokens[n]) n++;
      if (n > matched) [match, matched] = [slot, n];
    }
    state.cachedTokens = matched;
    if (matched === 0 || match === givenUp || matched === this.slotContent[match].length) return match;
    this.runner.kv!.copySlot(match, givenUp, matched);
    this.slotContent[givenUp] = this.slotContent[match].slice(0, matched);
    return givenUp;
  }

  // ---- prefill ---------------------------------------------------------------------------

  private async prefillChunk(state: RequestState): Promise<void> {
    const chunk = this.planChunk(state, this.options.prefillChunk, this.outputRows.maxRows);
    const vision = state.vision;
    const start = state.sequences[0].cached;
    await this.forward('prefill', {
      ...(vision ? chunkInputs(vision, start, chunk.end, this.runner.manifest.hiddenSize) : {}),
      segments: [chunk.segment],
      outputAt: chunk.keep.map((q) => q - start),
      output: this.outputRows.view(chunk.keep.length),
    });
    this.afterChunk(chunk, 0);
  }

  /**
   * The next chunk of `state`'s prompt: at most `maxTokens` positions, ending early so that it
   * keeps at most `maxRows` output rows (wanted positions, and the prompt's last).
   */
  private planChunk(state: RequestState, maxTokens: number, maxRows: number): ChunkPlan {
    const seq = state.sequences[0];
    const prompt = state.promptTokens;
    const start = seq.cached;
    let end = Math.min(prompt.length, start + maxTokens);
    const keep: number[] = [];
    for (let q = start; q < end; q++) {
      if (state.rowsWanted.has(q) || q === prompt.length - 1) {
        if (keep.length === maxRows) {
          end = q;
          break;
        }
        keep.push(q);
      }
    }
    const positions = Array.from({ length: end - start }, (_, i) => start + i);
    const segment = { firstSlot: seq.slot, rows: 1, seq: end - start, tokens: prompt.slice(start, end), positions, totals: [end] };
    return { state, segment, end, keep };
  }

  /** After a pass with `chunk`, whose kept rows start at output row `firstRow`. */
  private afterChunk({ state, end, keep }: ChunkPlan, firstRow: number): void {
    state.sequences[0].cached = end;
    if (state.cancelled) return;
    this.settle(state, () => {
      keep.forEach((q, i) => this.keepRow(state, q, firstRow + i));
      if (end < state.promptTokens.length) return;
      if (state.vision) state.vision.embeds = null;
      this.finishPrefill(state, firstRow + keep.length - 1);
    });
  }

  /**
   * One pass: the streams' decode step, then a chunk of `prefill`'s prompt of up to `tokens`
   * tokens; the streams' output rows come first.
   */
  private async mixedStep(prefill: RequestState, streams: GenerateRequestState[], tokens: number): Promise<void> {
    const decode = this.planDecode(streams);
    const rows = decode?.live.length ?? 0;
    const chunk = this.planChunk(prefill, tokens, this.outputRows.maxRows - rows);
    const start = prefill.sequences[0].cached;
    const decodeTokens = decode ? tokenCount(decode.segments) : 0;
    const seconds = await this.forward('mixed', {
      segments: [...(decode?.segments ?? []), chunk.segment],
      outputAt: [...(decode?.tokenAt ?? []), ...chunk.keep.map((q) => decodeTokens + q - start)],
      output: this.outputRows.view(rows + chunk.keep.length),
    });
    this.budget?.observeMixed(seconds);
    if (decode) this.afterDecode(decode, streams);
    this.afterChunk(chunk, rows);
  }

  /**
   * Fresh plain prompts (one sequence, text only, nothing cached, logits only at the end;
   * or texts to embed) in neighbouring slots, the oldest first, when there are at least two:
   * they prefill in one forward pass, a row each, right-padded to the longest
   * (GroupQueryAttention takes rows of different lengths only when nothing is cached yet, and
   * on webgpu not at all: there only prompts of one length share a pass).
   * Between them the slot window may hold only free slots, whose rows compute a dummy token.
   */
  private prefillCompanions(first: RequestState): RequestState[] | null {
    // A VL graph's rows carry M-RoPE positions and image inputs: it keeps one row per chunk.
    if (hasVision(this.runner.manifest)) return null;
    const budget = this.options.prefillChunk;
    const plain = (s: RequestState | null): s is RequestState =>
      s !== null &&
      s.phase === Phase.Prefill &&
      s.slots.length === 1 &&
      s.sequences[0].cached === 0 &&
      s.promptTokens.length <= budget &&
      // Every row a mean-pooled text keeps fits: its rows number at most its group's tokens.
      (s.rowsWanted.size === 0 || s.kind === 'embed');
    if (!plain(first)) return null;
    // The window may not cross a running request, nor a free slot holding a cached prefix:
    // GroupQueryAttention takes no past context in a batch of several multi-token rows, so
    // its padding row could only start from 0 and would overwrite that prefix.
    const blocked = (slot: number) => {
      const owner = this.owner[slot];
      return owner !== null ? !plain(owner) : this.options.prefixCache && this.slotContent[slot].length > 0;
    };
    let lo = first.sequences[0].slot;
    let hi = lo;
    while (lo > 0 && !blocked(lo - 1)) lo--;
    while (hi + 1 < this.owner.length && !blocked(hi + 1)) hi++;
    const group = [first];
    let [low, high, longest] = [first.sequences[0].slot, first.sequences[0].slot, first.promptTokens.length];
    for (const s of this.running) {
      if (s === first || !plain(s) || s.sequences[0].slot < lo || s.sequences[0].slot > hi) continue;
      if (!this.runner.paddedPrompts && s.promptTokens.length !== first.promptTokens.length) continue;
      const slot = s.sequences[0].slot;
      const [l, h, m] = [Math.min(low, slot), Math.max(high, slot), Math.max(longest, s.promptTokens.length)];
      if ((h - l + 1) * m > budget) continue; // rows × padded length stays within one chunk
      group.push(s);
      [low, high, longest] = [l, h, m];
    }
    return group.length >= 2 ? group : null;
  }

  /** The whole prompt of every request of the group in one forward pass, a row each. */
  private async prefillTogether(group: RequestState[]): Promise<void> {
    const slots = group.map((s) => s.sequences[0].slot);
    const first = Math.min(...slots);
    const rows = Math.max(...slots) - first + 1;
    const length = Math.max(...group.map((s) => s.promptTokens.length));
    const tokens = new Array<number>(rows * length).fill(0);
    const positions = new Array<number>(rows * length);
    const totals = new Array<number>(rows).fill(1);
    for (let r = 0; r < rows; r++) {
      // A free slot in the window is empty (prefillCompanions keeps cached prefixes out).
      if (this.owner[first + r] === null) this.slotContent[first + r].length = 0;
      for (let i = 0; i < length; i++) positions[r * length + i] = i;
    }
    const outputAt: number[] = [];
    // Each request's kept rows: its wanted positions and its last, as (position, output row).
    const kept = group.map((state) => {
      const r = state.sequences[0].slot - first;
      state.promptTokens.forEach((token, i) => (tokens[r * length + i] = token));
      totals[r] = state.promptTokens.length;
      const wanted = [...state.rowsWanted, totals[r] - 1];
      return wanted.map((q) => [q, outputAt.push(r * length + q) - 1] as const);
    });
    await this.forward('prefill', { segments: [{ firstSlot: first, rows, seq: length, tokens, positions, totals }], outputAt, output: this.outputRows.view(outputAt.length) });
    group.forEach((state, i) => {
      state.sequences[0].cached = state.promptTokens.length;
      if (state.cancelled) return;
      this.settle(state, () => {
        for (const [q, row] of kept[i]) this.keepRow(state, q, row);
        this.finishPrefill(state, kept[i].at(-1)![1]);
      });
    });
  }

  /**
   * A prompt position's output row: logits at q predict token q + 1 (prompt logprobs, a
   * /v1/sample match); hidden states are pooled into an embedding.
   */
  private keepRow(state: RequestState, q: number, row: number): void {
    if (state.kind === 'embed') {
      const width = this.outputRows.width;
      const hidden = this.outputRows.view(row + 1).subarray(row * width);
      if (state.pooling === 'mean') for (let i = 0; i < width; i++) state.pooled[i] += hidden[i];
      else if (q === state.promptTokens.length - 1) state.pooled.set(hidden);
      return;
    }
    if (!state.rowsWanted.has(q)) return;
    if (state.kind === 'sample') {
      state.matches.set(q + 1, this.decoding.top(row, state.topN));
    } else {
      const n = state.request.promptLogprobs ?? 0;
      const tokenId = state.promptTokens[q + 1];
      state.promptLogprobs[q + 1] = { tokenId, logprob: this.decoding.logprobsOf(row, [tokenId])[0]!, top: this.decoding.top(row, n) };
    }
  }

  private finishPrefill(state: RequestState, lastRow: number): void {
    if (state.kind === 'sample') {
      this.finishSample(state);
      return;
    }
    if (state.kind === 'embed') {
      this.release(state);
      state.resolve(pooledEmbedding(state));
      return;
    }
    state.channel.push({
      type: 'prompt',
      promptTokens: state.promptTokens.length,
      cachedTokens: state.cachedTokens,
      ...(state.request.promptLogprobs !== undefined ? { promptLogprobs: state.promptLogprobs } : {}),
    });
    const stepper = new SequenceStepper(state, this.tokenizer, this.decoding, this.options.maxModelLen);
    this.steppers.set(state, stepper);
    state.phase = Phase.Decode;
    // Every sequence starts from the prompt's KV: copy it into the sibling slots.
    const primary = state.sequences[0];
    const siblings = state.slots.slice(1).map((slot, i) => {
      this.runner.kv!.copySlot(primary.slot, slot, primary.cached);
      const s = new Sequence(i + 1, slot, state.promptTokens);
      s.cached = primary.cached;
      return s;
    });
    if (state.kind === 'beam') {
      stepper.startBeams(lastRow);
    } else {
      state.sequences.push(...siblings);
      stepper.sampleFirst(lastRow);
    }
    this.afterStep(state);
  }

  private finishSample(state: SampleRequestState): void {
    const matches = state.matchPositions.map((position) => ({ position, top: state.matches.get(position) ?? ([] as TopLogprob[]) }));
    this.release(state);
    state.resolve(matches);
  }

  // ---- decode ----------------------------------------------------------------------------

  private async decodeStep(states: GenerateRequestState[]): Promise<void> {
    const plan = this.planDecode(states);
    if (!plan) return;
    const seconds = await this.forward('decode', { segments: plan.segments, outputAt: plan.tokenAt, output: this.outputRows.view(plan.live.length) });
    this.budget?.observeDecode(seconds);
    this.afterDecode(plan, states);
  }

  /**
   * The decode step of `states`' live sequences, one token a row. With mixed passes, a segment
   * per run of neighbouring slots; else one window from the lowest slot to the highest (every
   * slot with the cache on the device), whose rows that no live sequence uses compute a dummy
   * token (idlePosition).
   */
  private planDecode(states: GenerateRequestState[]): DecodePlan | null {
    const live = states.flatMap((state) => state.sequences.filter((s) => s.finish === null).map((seq) => ({ state, seq })));
    if (live.length === 0) return null;
    const row = (l: (typeof live)[number]) => ({ token: l.seq.lastToken, position: l.seq.cached + (l.state.vision?.ropeDelta ?? 0), total: l.seq.cached + 1 });
    if (this.runner.mixedPasses) {
      const bySlot = [...live].sort((a, b) => a.seq.slot - b.seq.slot);
      const segments: PassSegment[] = [];
      for (const l of bySlot) {
        const { token, position, total } = row(l);
        const last = segments.at(-1);
        if (last && last.firstSlot + last.rows === l.seq.slot) {
          last.rows++;
          (last.tokens as number[]).push(token);
          (last.positions as number[]).push(position);
          (last.totals as number[]).push(total);
        } else {
          segments.push({ firstSlot: l.seq.slot, rows: 1, seq: 1, tokens: [token], positions: [position], totals: [total] });
        }
      }
      return { live, segments, tokenAt: live.map((l) => bySlot.indexOf(l)) };
    }
    const slots = live.map((l) => l.seq.slot);
    const whole = this.runner.decodesWholeCache;
    const first = whole ? 0 : Math.min(...slots);
    const rows = whole ? this.slotCount : Math.max(...slots) - first + 1;
    const tokens = new Array<number>(rows).fill(0);
    const positions = new Array<number>(rows).fill(0);
    const totals = new Array<number>(rows).fill(1);
    for (let r = 0; r < rows; r++) {
      if (!slots.includes(first + r)) positions[r] = this.idlePosition(first + r);
      totals[r] = positions[r] + 1;
    }
    for (const l of live) {
      const r = l.seq.slot - first;
      ({ token: tokens[r], position: positions[r], total: totals[r] } = row(l));
    }
    return { live, segments: [{ firstSlot: first, rows, seq: 1, tokens, positions, totals }], tokenAt: slots.map((s) => s - first) };
  }

  /** After a pass with `plan`, whose rows are the pass's first output rows. */
  private afterDecode(plan: DecodePlan, states: GenerateRequestState[]): void {
    for (const { seq } of plan.live) seq.cached += 1;
    const rowOf = new Map(plan.live.map((l, row) => [l.seq, row]));
    for (const state of states) {
      if (state.cancelled) continue;
      this.settle(state, () => {
        this.steppers.get(state)!.step(rowOf, this.runner.kv!);
        this.afterStep(state);
      });
    }
  }

  /** Runs `step`; returns the seconds inside the model. */
  private async forward(kind: 'prefill' | 'decode' | 'mixed', step: ForwardStep): Promise<number> {
    const seconds = await this.runner.forward(step);
    this.options.observer?.onForward?.({ kind, tokens: tokenCount(step.segments), seconds });
    return seconds;
  }

  /**
   * A slot inside the decode window that no live sequence uses still computes a dummy token.
   * It goes where it harms nothing: the next position of a slot being prefilled (the prefill
   * overwrites it), or past a free slot's cached prefix (paddingStart).
   */
  private idlePosition(slot: number): number {
    const owner = this.owner[slot];
    const seq = owner?.phase === Phase.Prefill ? owner.sequences[0] : undefined;
    if (seq && seq.slot === slot) return seq.cached;
    if (!owner) return this.paddingStart(slot);
    // A finished sequence's KV is no longer valid for the prefix cache either.
    for (const s of owner.sequences) if (s.slot === slot) s.cached = 0;
    return 0;
  }

  /**
   * Where a free slot's dummy decode token goes: just past its cached prefix while the KV cache
   * has room there (the prefix stays usable; on the native runtime the cache may grow for it,
   * see fitCache), else position 0 (the prefix is forgotten).
   */
  private paddingStart(slot: number): number {
    const content = this.slotContent[slot];
    const kv = this.runner.kv;
    const room = !kv ? 0 : this.runner.runtime === 'native' ? kv.shape.maxLength : kv.capacity;
    if (content.length < room) return content.length;
    content.length = 0;
    return 0;
  }

  private afterStep(state: GenerateRequestState): void {
    const now = performance.now();
    if (state.firstTokenAt === undefined) {
      state.firstTokenAt = now;
      this.options.observer?.onFirstToken?.(state.id, (now - state.arrival) / 1000);
    } else if (state.lastTokenAt !== undefined) {
      this.options.observer?.onInterToken?.(state.id, (now - state.lastTokenAt) / 1000);
    }
    state.lastTokenAt = now;
    const stepper = this.steppers.get(state)!;
    if (!stepper.done) return;
    const usage = stepper.finish();
    this.release(state);
    state.channel.push({ type: 'usage', usage });
    state.channel.close();
    this.options.observer?.onFinished?.(state.id, {
      seconds: (now - state.arrival) / 1000,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      cachedTokens: usage.cachedTokens,
    });
  }

  // ---- ending ----------------------------------------------------------------------------

  private release(state: RequestState): void {
    state.phase = Phase.Done;
    const at = this.running.indexOf(state);
    if (at >= 0) this.running.splice(at, 1);
    const queued = this.waiting.indexOf(state);
    if (queued >= 0) this.waiting.splice(queued, 1);
    for (const seq of state.sequences) {
      this.slotContent[seq.slot] = seq.tokens.slice(0, seq.cached);
      this.slotReleasedAt[seq.slot] = ++this.releases;
    }
    for (const slot of state.slots) if (this.owner[slot] === state) this.owner[slot] = null;
    state.slots = [];
  }

  private fail(state: RequestState, error: EngineError): void {
    this.release(state);
    if (isPrefillOnly(state)) state.reject(error);
    else state.channel.fail(error);
  }
}

/** The tokens of a pass's segments. */
function tokenCount(segments: readonly PassSegment[]): number {
  return segments.reduce((n, s) => n + s.rows * s.seq, 0);
}

/** A request whose image embeddings are still being computed cannot prefill yet. */
function awaitingImages(state: RequestState): boolean {
  return state.vision !== undefined && state.vision.embeds === null;
}

/** A buffer of `maxRows` hidden-state rows: an embedding graph's output. */
function hiddenStateRows(maxRows: number, width: number): OutputRows {
  const buffer = new Float32Array(maxRows * width);
  return { maxRows, width, view: (rows) => buffer.subarray(0, rows * width) };
}

/** The pooled rows as the request asked: averaged ('mean'), cut to `dimensions`, scaled to unit length. */
function pooledEmbedding(state: EmbedRequestState): Float32Array {
  const scale = state.pooling === 'mean' ? 1 / state.promptTokens.length : 1;
  const vector = state.pooled.subarray(0, state.dimensions).map((v) => v * scale);
  if (state.normalize) {
    let squares = 0;
    for (const v of vector) squares += v * v;
    const norm = Math.sqrt(squares);
    if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i] /= norm;
  }
  return Float32Array.from(vector);
}

// POST /v1/embeddings on a server started with --task embed: each input's vector from the
// model's hidden states (pooled and normalized by the engine), inputs submitted together so
// they prefill together, a row each.
import type { Context } from 'hono';
import type { EmbedResult } from '../../src/index.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { checkTokenIds, encodePrompt, checkPromptLength } from '../prompt/prompt-tokens.ts';
import { embeddingInputs, embeddingsRequestSchema, MAX_EMBEDDING_INPUTS } from '../protocol/embeddings.ts';
import { checkModel, nowSeconds, parseBody, useRequestId } from './shared.ts';

/** Inputs in the engine's queue at once: a wave far wider than a batch, well inside the queue. */
const WAVE = 256;

export async function embeddings(c: Context<AppEnv>): Promise<Response> {
  const body = await parseBody(c, embeddingsRequestSchema);
  const engine = c.var.engine;
  if (!engine.embedding) {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'this server does not serve embeddings: start it with --task embed', 'model');
  }
  const model = checkModel(c, body.model);
  const inputs = embeddingInputs(body.input);
  if (inputs.length > MAX_EMBEDDING_INPUTS) throw new ApiError(400, 'INVALID_ARGUMENT', `input has ${inputs.length} entries; at most ${MAX_EMBEDDING_INPUTS} are taken`, 'input');
  const param = (i: number) => (typeof body.input === 'string' || typeof body.input[0] === 'number' ? 'input' : `input[${i}]`);
  const prompts = inputs.map((input, i) => {
    // An embedding takes the whole context: maxModelLen tokens, none left for generation.
    const tokens = typeof input === 'string' ? encodePrompt(engine, input, body.add_special_tokens ?? true, param(i), engine.maxModelLen) : input;
    if (typeof input !== 'string') checkTokenIds(engine, tokens, param(i));
    checkPromptLength(engine, tokens, param(i), engine.maxModelLen);
    return tokens;
  });
  const id = useRequestId(c, body.request_id, 'embd');
  const ticket = c.var.admission.enter();
  // One input failing (or the client leaving) stops the others.
  const stop = new AbortController();
  const signal = AbortSignal.any([c.req.raw.signal, ticket.signal, stop.signal]);
  const results: EmbedResult[] = [];
  try {
    for (let start = 0; start < prompts.length; start += WAVE) {
      const wave = prompts.slice(start, start + WAVE).map((promptTokens, k) =>
        engine.embed(
          {
            requestId: `${c.var.internalId}-${start + k}`,
            promptTokens,
            ...(c.var.config.pooling ? { pooling: c.var.config.pooling } : {}),
            ...(body.normalize != null ? { normalize: body.normalize } : {}),
            ...(body.dimensions != null ? { dimensions: body.dimensions } : {}),
          },
          { signal },
        ),
      );
      results.push(...(await Promise.all(wave.map((p) => p.catch((error: unknown) => (stop.abort(), Promise.reject(error)))))));
    }
  } finally {
    ticket.leave();
  }
  const base64 = body.encoding_format === 'base64';
  const promptTokens = results.reduce((n, r) => n + r.promptTokens, 0);
  return c.json({
    id,
    object: 'list',
    created: nowSeconds(),
    model,
    data: results.map((r, index) => ({ object: 'embedding', index, embedding: base64 ? littleEndianBase64(r.embedding) : Array.from(r.embedding) })),
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}

/** OpenAI's base64 encoding: the float32 values' little-endian bytes (every platform ONNX Runtime ships for is little-endian). */
function littleEndianBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

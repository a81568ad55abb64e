// Qwen3-Reranker's prompt: the model is asked whether a document meets a query and answers
// "yes" or "no"; the relevance score is p("yes") against p("no") at the prompt's last position
// (its model card's formatting and scoring, as vLLM and llama.cpp serve it).
import { ApiError } from '../errors.ts';
import type { InferenceEngine } from '../../src/index.ts';

export const DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';

const PREFIX =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
  'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n';
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';

export function rerankPrompt(instruction: string, query: string, document: string): string {
  return `${PREFIX}<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${document}${SUFFIX}`;
}

/** The ids of the answers "yes" and "no"; a tokenizer without them cannot serve reranking. */
export function answerTokens(engine: InferenceEngine): { yes: number; no: number } {
  const yes = engine.tokenizer.tokenToId('yes');
  const no = engine.tokenizer.tokenToId('no');
  const chatTokens = ['<|im_start|>', '<|im_end|>'].every((t) => engine.tokenizer.tokenToId(t) !== undefined);
  if (yes === undefined || no === undefined || !chatTokens) {
    throw new ApiError(400, 'INVALID_ARGUMENT', "this model's tokenizer lacks the tokens of Qwen3-Reranker's prompt (yes, no, <|im_start|>, <|im_end|>)", 'model');
  }
  return { yes, no };
}

/** p("yes") ÷ (p("yes") + p("no")), from their log-probabilities, without overflow. */
export function relevance(logprobYes: number, logprobNo: number): number {
  return 1 / (1 + Math.exp(logprobNo - logprobYes));
}

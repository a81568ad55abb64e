// Reads a Hugging Face tokenizer.json (without its big tables, see tokenizer-json.ts) into what
// our WebAssembly BPE needs, rejecting whatever it does not implement with an error naming the field.

/** The split patterns implemented in C (numbers match xl_split_pattern in C). */
export const SPLIT_PATTERNS: ReadonlyMap<string, number> = new Map([
  ["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", 1],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    2,
  ],
  [
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    3,
  ],
]);
const GPT2_PATTERN = 1;

export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  normalized: boolean;
}

export interface TokenizerSpec {
  ignoreMerges: boolean;
  splitPattern: number;
  nfc: boolean;
  addedTokens: AddedTokenSpec[];
  /** Ids the post-processor puts around a single sequence when special tokens are added. */
  prefixIds: number[];
  suffixIds: number[];
}

type Json = Record<string, any>;

export function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readNormalizer(normalizer: unknown): boolean {
  if (normalizer == null) return false;
  if (!isObject(normalizer)) fail('normalizer must be an object or null');
  if (normalizer.type === 'NFC') return true;
  if (normalizer.type === 'Sequence' && Array.isArray(normalizer.normalizers)) {
    const types = normalizer.normalizers.map((n: Json) => n?.type);
    if (types.every((t: unknown) => t === 'NFC')) return types.length > 0;
  }
  return fail(`unsupported normalizer ${JSON.stringify(normalizer.type)} (only NFC or none)`);
}

function checkByteLevel(step: Json, useRegex: boolean): void {
  if (step.add_prefix_space) fail('unsupported pre_tokenizer: ByteLevel with add_prefix_space');
  if (Boolean(step.use_regex ?? true) !== useRegex)
    fail(`unsupported pre_tokenizer: ByteLevel with use_regex ${String(step.use_regex)} here`);
}

function readPreTokenizer(pre: unknown): number {
  if (!isObject(pre)) fail('unsupported pre_tokenizer: a byte-level pre-tokenizer is required');
  if (pre.type === 'ByteLevel') {
    checkByteLevel(pre, true);
    return GPT2_PATTERN;
  }
  const steps = pre.type === 'Sequence' ? pre.pretokenizers : undefined;
  if (!Array.isArray(steps) || steps.length !== 2 || steps[0]?.type !== 'Split' || steps[1]?.type !== 'ByteLevel')
    fail(`unsupported pre_tokenizer ${JSON.stringify(pre.type)} (expected ByteLevel, or Sequence[Split, ByteLevel])`);
  const [split, byteLevel] = steps as Json[];
  checkByteLevel(byteLevel, false);
  if (split.behavior !== 'Isolated' || split.invert)
    fail(`unsupported Split behavior ${JSON.stringify(split.behavior)} (only Isolated, not inverted)`);
  const pattern = SPLIT_PATTERNS.get(split.pattern?.Regex);
  if (pattern === undefined) fail(`unsupported pre-tokenizer pattern ${JSON.stringify(split.pattern)}`);
  return pattern;
}

function readModel(model: unknown): Pick<TokenizerSpec, 'ignoreMerges'> {
  if (!isObject(model)) fail('model is missing');
  if (model.type !== 'BPE') fail(`unsupported model type ${JSON.stringify(model.type)} (only BPE)`);
  if (model.dropout != null) fail('unsupported model.dropout (BPE dropout)');
  if (model.byte_fallback) fail('unsupported model.byte_fallback');
  if (model.continuing_subword_prefix) fail('unsupported model.continuing_subword_prefix');
  if (model.end_of_word_suffix) fail('unsupported model.end_of_word_suffix');
  if (!isObject(model.vocab)) fail('model.vocab must be an object of token to id');
  if (!Array.isArray(model.merges)) fail('model.merges must be an array');
  return { ignoreMerges: Boolean(model.ignore_merges) };
}

function readAddedTokens(added: unknown): AddedTokenSpec[] {
  if (added == null) return [];
  if (!Array.isArray(added)) fail('added_tokens must be an array');
  return added.map((token, i) => {
    if (!isObject(token) || !Number.isInteger(token.id) || token.id < 0 || typeof token.content !== 'string' || !token.content)
      fail(`added_tokens[${i}] needs a non-negative integer id and a non-empty content`);
    return {
      id: token.id,
      content: token.content,
      special: Boolean(token.special),
      lstrip: Boolean(token.lstrip),
      rstrip: Boolean(token.rstrip),
      singleWord: Boolean(token.single_word),
      normalized: Boolean(token.normalized),
    };
  });
}

function readTemplate(processor: Json): Surroundings {
  if (!Array.isArray(processor.single)) fail('TemplateProcessing.single must be an array');
  const prefixIds: number[] = [];
  const suffixIds: number[] = [];
  let seenSequence = false;
  for (const piece of processor.single as Json[]) {
    if (piece?.Sequence) {
      if (piece.Sequence.id !== 'A' || seenSequence) fail('TemplateProcessing.single must hold sequence A once');
      seenSequence = true;
    } else if (piece?.SpecialToken) {
      const special = processor.special_tokens?.[piece.SpecialToken.id];
      if (!special || !Array.isArray(special.ids)) fail(`TemplateProcessing special token ${JSON.stringify(piece.SpecialToken.id)} is not defined`);
      (seenSequence ? suffixIds : prefixIds).push(...special.ids);
    } else {
      fail(`unsupported TemplateProcessing piece ${JSON.stringify(piece)}`);
    }
  }
  if (!seenSequence) fail('TemplateProcessing.single has no sequence');
  return { prefixIds, suffixIds };
}

interface Surroundings {
  prefixIds: number[];
  suffixIds: number[];
}

function readPostProcessor(processor: unknown): Surroundings {
  const none: Surroundings = { prefixIds: [], suffixIds: [] };
  if (processor == null) return none;
  if (!isObject(processor)) fail('post_processor must be an object or null');
  switch (processor.type) {
    case 'ByteLevel':
      return none;
    case 'TemplateProcessing':
      return readTemplate(processor);
    case 'Sequence': {
      if (!Array.isArray(processor.processors)) fail('post_processor Sequence needs processors');
      const parts = processor.processors.map(readPostProcessor);
      return {
        prefixIds: parts.flatMap((p: Surroundings) => p.prefixIds),
        suffixIds: parts.flatMap((p: Surroundings) => p.suffixIds),
      };
    }
    default:
      return fail(`unsupported post_processor ${JSON.stringify(processor.type)}`);
  }
}

/** Validates a parsed tokenizer.json (model.vocab and model.merges are only checked for their type). */
export function readTokenizerSpec(json: unknown): TokenizerSpec {
  if (!isObject(json)) fail('the file is not a JSON object');
  if (json.decoder != null && json.decoder.type !== 'ByteLevel')
    fail(`unsupported decoder ${JSON.stringify(json.decoder.type)} (only ByteLevel)`);
  return {
    ...readModel(json.model),
    splitPattern: readPreTokenizer(json.pre_tokenizer),
    nfc: readNormalizer(json.normalizer),
    addedTokens: readAddedTokens(json.added_tokens),
    ...readPostProcessor(json.post_processor),
  };
}

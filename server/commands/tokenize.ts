// `xllm tokenize --model DIR "text"`: prints the ids of text (special tokens added as the model does).
import { parseArgs } from 'node:util';
import { Tokenizer } from '../../src/tokenizer/index.ts';

const USAGE = 'usage: xllm tokenize --model DIR [--no-special] "text"';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { model: { type: 'string' }, 'no-special': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model || positionals.length !== 1) {
    console.error(USAGE);
    return 2;
  }
  try {
    const tokenizer = await Tokenizer.load(values.model);
    const ids = tokenizer.encode(positionals[0], { addSpecialTokens: !values['no-special'] });
    console.log(ids.join(' '));
    return 0;
  } catch (error) {
    console.error(`xllm tokenize: ${(error as Error).message}`);
    return 1;
  }
}

// `xllm <command> …`: each command lives in server/commands/<command>.ts and is loaded
// only when used, so `xllm tokenize` never pays for ONNX Runtime.
const commands: Record<string, { describe: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  serve: { describe: 'serve the REST API (xllm serve --help)', load: () => import('./commands/serve.ts') },
  convert: { describe: 'convert a Hugging Face checkpoint (Qwen2, Qwen2.5-VL, Qwen3, Llama 3, Mistral) to ONNX', load: () => import('./commands/convert.ts') },
  tokenize: { describe: 'print the token ids of a text (--model DIR "text")', load: () => import('./commands/tokenize.ts') },
};

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    const { VERSION } = await import('../src/package.ts');
    console.log(`xllm-ts ${VERSION}`);
    return 0;
  }
  const command = name ? commands[name] : undefined;
  if (!command) {
    const list = Object.entries(commands)
      .map(([n, c]) => `  ${n.padEnd(10)} ${c.describe}`)
      .join('\n');
    console.error(`usage: xllm <command> [options]\n\ncommands:\n${list}`);
    return name && name !== '--help' && name !== '-h' ? 2 : 0;
  }
  return (await command.load()).main(rest);
}

process.exitCode = await run(process.argv.slice(2));

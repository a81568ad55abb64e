#!/usr/bin/env node
// The `xllm` command. In the published package it runs the compiled server (dist/); in a
// checkout of the repository, where the TypeScript sources are, it runs them through tsx
// (Bun runs them natively: `bun server/cli.ts`).
import { existsSync } from 'node:fs';

const source = new URL('../server/cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/server/cli.js', import.meta.url).href);
}

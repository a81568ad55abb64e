#!/usr/bin/env node
// The `xllm` command. The project ships TypeScript sources: tsx loads them on Node
// (Bun runs them natively: `bun server/cli.ts`).
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');

#!/usr/bin/env node
// The boxlab command. Runs the compiled server; `npm run build` makes it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/server/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('boxlab: not built yet; run "npm run build" in the boxlab directory first');
  process.exit(2);
}
await import(cli);

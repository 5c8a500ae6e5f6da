#!/usr/bin/env node
// The `sensor-fault` command: runs the built tool (cli-dist/, made by `npm install` → "prepare", or `npm run build:cli`).
import { existsSync } from 'node:fs';

const built = new URL('../cli-dist/sensor-fault.mjs', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('sensor-fault: the tool is not built yet; run `npm run build:cli` (npm install does it) in the project folder.\n');
  process.exit(2);
}
await import(built.href);

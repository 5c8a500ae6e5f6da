// Vitest global setup: builds the command-line tool (cli-dist/) from the current sources once per run, so the
// tests that spawn it run what `npm install` would build, not a stale copy.
import { build } from 'vite';

export default async function setup(): Promise<void> {
  await build({ configFile: new URL('../../vite.cli.config.ts', import.meta.url).pathname, logLevel: 'error' });
}

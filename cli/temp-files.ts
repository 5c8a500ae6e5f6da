/**
 * The temporary files and folders the tool has made and not yet removed (outputs under their temporary names,
 * standard input's copy, decompressed text), so that Ctrl+C (SIGINT) or SIGTERM removes them too.
 */
import { rmSync } from 'node:fs';

const live = new Set<string>();

export function trackTemp(path: string): void {
  live.add(path);
}

export function untrackTemp(path: string): void {
  live.delete(path);
}

/** On SIGINT / SIGTERM: remove what is left and exit as an interrupted command does (128 + signal number). */
export function removeTempsOnSignal(): void {
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    for (const p of live) rmSync(p, { recursive: true, force: true });
    process.stderr.write(`\nsensor-fault: stopped (${signal}); no output was completed for the input being read.\n`);
    process.exit(code);
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
}

/** Running the built command-line tool (cli-dist/, built by the global setup) as a child process. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { path } from './helpers';

export const CLI = path('bin/sensor-fault.mjs');

export interface CliRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Run `sensor-fault ARGS` in the repository root; `stdin` is piped in when given (else stdin is empty). */
export function runCli(args: string[], stdin?: Uint8Array | string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: path(''), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'sensor-fault-test-'));
}

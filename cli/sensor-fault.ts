/** The entry of the `sensor-fault` command (built to cli-dist/sensor-fault.mjs, package.json "bin"). */
import { main } from './main';
import type { Io } from './predict';
import { removeTempsOnSignal } from './temp-files';

removeTempsOnSignal();
const io: Io = { stdout: process.stdout, stderr: process.stderr, stdinIsTTY: process.stdin.isTTY === true };
// A closed pipe on standard output (`… | head`) is reported by the write that meets it (OutputError), not thrown here.
process.stdout.on('error', () => undefined);
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sensor-fault: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);

/** The command line: `sensor-fault predict [options] [FILE_OR_DIR…]`, read strictly (an unknown option is a usage error). */
import { parseArgs } from 'node:util';
import type { NumberFormat } from '../workers/api';

export const USAGE = `Usage: sensor-fault predict [options] [FILE_OR_DIR…]

Scores wafer CSV files with the model, as the page does, and writes each file's predictions: every original
column as it was, plus fault_probability and prediction (the page's download, byte for byte).

Inputs: CSV files (.csv, .txt, .tsv, or any of them .gz), folders (their CSV files), or - for standard input.
Without an input, standard input is read.

Options:
  -o, --output PATH          one input: the output file (- or none: standard output);
                             several inputs: a folder for one FILE_predictions.csv each (created if needed)
      --combine              several inputs into one output (file or standard output), with a first
                             column source_file; every file must have the same columns
      --threshold T          flag wafers with P(fail) >= T (0 … 1; default: the model's)
      --only-flagged         write only the flagged wafers
      --model DIR            a model bundle folder (default: the shipped one); every file's sha256 is checked
      --numbers point|comma  the number format (default: detected from each file's first rows)
      --allow-missing-sensors  score files with missing or duplicated sensor columns, treating them as missing
                             readings (the page asks for this first)
      --json                 print a summary as JSON on standard output (needs -o: the CSV cannot share it)
      --explain              add the page's top_sensors column: each wafer's three largest contributions
      --workers N            parse worker threads (0: parse in the main thread; default: one per core, at most 2)
  -q, --quiet                no progress and no per-file summary on standard error (errors are still shown)
  -h, --help                 this text
      --version              the tool's version

Exit codes: 0 every file scored; 1 a file was refused (its message on standard error, the other files are still
scored); 2 a usage error or an unusable model bundle (nothing scored); 3 an output could not be written.
`;

/** A command line that cannot be run: exit code 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface PredictArgs {
  inputs: string[];
  output: string | null;
  combine: boolean;
  threshold: number | null;
  onlyFlagged: boolean;
  modelDir: string | null;
  numberFormat: NumberFormat | null;
  allowMissingSensors: boolean;
  json: boolean;
  quiet: boolean;
  /** Parse worker threads; null = the default for the machine. */
  workers: number | null;
  /** Add the page's top_sensors column. */
  explain: boolean;
}

export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'predict'; args: PredictArgs };

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  combine: { type: 'boolean' },
  threshold: { type: 'string' },
  'only-flagged': { type: 'boolean' },
  model: { type: 'string' },
  numbers: { type: 'string' },
  'allow-missing-sensors': { type: 'boolean' },
  json: { type: 'boolean' },
  explain: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function readThreshold(text: string | undefined): number | null {
  if (text === undefined) return null;
  const t = text.trim();
  const v = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
  if (!(v >= 0 && v <= 1)) throw new UsageError(`--threshold must be a number from 0 to 1 (a probability), not “${text}”.`);
  return v;
}

function readNumberFormat(text: string | undefined): NumberFormat | null {
  if (text === undefined) return null;
  if (text !== 'point' && text !== 'comma') throw new UsageError(`--numbers must be point or comma, not “${text}”.`);
  return text;
}

function readWorkers(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d+$/.test(text.trim()) || Number(text) > 16) throw new UsageError(`--workers must be a whole number from 0 to 16, not “${text}”.`);
  return Number(text);
}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [command, ...inputs] = positionals;
  if (command === undefined) throw new UsageError('Say what to do: sensor-fault predict [options] [FILE_OR_DIR…].');
  if (command !== 'predict') throw new UsageError(`Unknown command “${command}”: the command is predict.`);
  const args: PredictArgs = {
    inputs,
    output: values.output ?? null,
    combine: values.combine ?? false,
    threshold: readThreshold(values.threshold),
    onlyFlagged: values['only-flagged'] ?? false,
    modelDir: values.model ?? null,
    numberFormat: readNumberFormat(values.numbers),
    allowMissingSensors: values['allow-missing-sensors'] ?? false,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    workers: readWorkers(values.workers),
    explain: values.explain ?? false,
  };
  if (args.json && (args.output === null || args.output === '-')) {
    throw new UsageError('--json prints the summary on standard output, where the CSV would go: give the CSV an output with -o.');
  }
  return { kind: 'predict', args };
}

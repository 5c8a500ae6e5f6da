/**
 * The `sensor-fault` command (package.json "bin"): reads the command line, runs it, exits with its code.
 * Exit codes (README, CLI): 0 every input scored, 1 an input was refused, 2 usage or model bundle, 3 output.
 */
import { parseCommand, USAGE, UsageError } from './args';
import { OutputError } from './output';
import { EXIT_OUTPUT, EXIT_USAGE, predict, type Io } from './predict';
import packageJson from '../package.json';


export async function main(argv: string[], io: Io): Promise<number> {
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      io.stdout.write(USAGE);
      return 0;
    }
    if (command.kind === 'version') {
      io.stdout.write(`sensor-fault ${packageJson.version}\n`);
      return 0;
    }
    return await predict(command.args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`sensor-fault: ${e.message}\nRun sensor-fault --help for the options.\n`);
      return EXIT_USAGE;
    }
    if (e instanceof OutputError) {
      io.stderr.write(`sensor-fault: ${e.message}\n`);
      return EXIT_OUTPUT;
    }
    throw e;
  }
}

import { StackPaths } from './stack-paths';
import { down, holdPart, logs, status, up, upDetached } from './stack-runner';
import { runFaults, runTests } from './test-runner';

const USAGE = `usage: searchsync <command>
  up [--detach]   start PostgreSQL, Kafka, Kafka Connect + Debezium, OpenSearch and the apps
  down            stop everything a previous 'up' started (idempotent)
  status          what runs, with restarts
  stop <part>     stop one part and hold it down (the supervisor does not restart it)
  start <part>    start a part held down by 'stop' again
  logs [part]     the last lines of each log (or of one part)
  test            run the whole test suite (starts the stack when it is not running)
  faults [--quick] the fault-injection suite, each fault ending with verify (test/faults)`;

async function main(argv: string[]): Promise<number> {
  const paths = new StackPaths();
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return rest.includes('--detach') ? upDetached(paths, __filename) : up(paths);
    case 'down':
      return down(paths);
    case 'status':
      return status(paths);
    case 'stop':
      return holdPart(paths, rest[0], true);
    case 'start':
      return holdPart(paths, rest[0], false);
    case 'logs':
      return logs(paths, rest[0]);
    case 'test':
      return runTests(paths, __filename, rest);
    case 'faults':
      return runFaults(paths, __filename, rest);
    default:
      console.error(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

import { ConfigInvalidError, TableConfigInvalidError } from '@searchsync/config';
import { createLogRoot } from './app-logger';

/**
 * Runs an app's bootstrap; a failure to start is one fatal JSON line on stderr (where supervisors
 * and the benchmarks look for why a process died) and exit code 1. An invalid environment or
 * table configuration is reported by its problems, without a stack: the message says what to fix.
 */
export function runApp(app: string, bootstrap: () => Promise<void>): void {
  bootstrap().catch((error: unknown) => {
    const log = createLogRoot({ app, level: 'fatal', stream: process.stderr });
    if (error instanceof ConfigInvalidError || error instanceof TableConfigInvalidError) {
      log.fatal({ problems: error.problems }, error.message);
    } else if (error instanceof Error) {
      log.fatal({ err: error }, `start-up failed: ${error.message}`);
    } else {
      log.fatal(`start-up failed: ${String(error)}`);
    }
    process.exit(1);
  });
}

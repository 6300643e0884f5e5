/** Raised at boot when the environment does not describe a runnable app. */
export class ConfigInvalidError extends Error {
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`Invalid environment variables: ${problems.join('; ')}`);
    this.name = 'ConfigInvalidError';
  }
}

/**
 * One thing wrong in a table configuration file. `line` and `column` are 1-based; both are 0
 * when the problem is the file as a whole (it cannot be read).
 */
export interface TableConfigProblem {
  file: string;
  line: number;
  column: number;
  /** What is wrong — how to fix it. */
  message: string;
}

export function formatTableConfigProblem(problem: TableConfigProblem): string {
  const position = problem.line > 0 ? `:${problem.line}:${problem.column}` : '';
  return `${problem.file}${position}: ${problem.message}`;
}

/** Raised when `searchsync.yaml` (or a file next to it) cannot be read or does not validate. */
export class TableConfigInvalidError extends Error {
  readonly retryable = false;
  constructor(readonly problems: TableConfigProblem[]) {
    super(
      `Invalid table configuration (docs/configuration.md):\n${problems
        .map((problem) => `  ${formatTableConfigProblem(problem)}`)
        .join('\n')}`,
    );
    this.name = 'TableConfigInvalidError';
  }
}

/**
 * Typed errors of the pipeline bootstrap. Each says whether another attempt can help, and what
 * to do about it.
 */
export class BootstrapError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** PostgreSQL is not set up for logical decoding: no retry fixes that. */
export class DatabaseWalLevelError extends BootstrapError {
  constructor(readonly walLevel: string) {
    super(
      `wal_level is ${walLevel}; Debezium needs wal_level=logical: set it (ALTER SYSTEM SET wal_level = logical, or the rds.logical_replication parameter on Amazon RDS) and restart PostgreSQL`,
      false,
    );
  }
}

/** A connector task that failed, and still fails after one restart with the current config. */
export class ConnectorTaskFailedError extends BootstrapError {
  constructor(
    readonly connector: string,
    readonly trace: string,
  ) {
    super(`connector ${connector} task failed: ${trace.split('\n')[0]}`, false);
  }
}

/** The connector was applied but did not reach RUNNING in time. */
export class ConnectorStartTimeoutError extends BootstrapError {
  constructor(
    readonly connector: string,
    timeoutMs: number,
    last: string,
  ) {
    super(
      `connector ${connector} did not reach RUNNING within ${Math.round(timeoutMs / 1000)}s (${last || 'no status yet'})`,
      false,
    );
  }
}

/** The search engine refused (or could not be asked for) the single-node index defaults. */
export class SearchSettingsError extends BootstrapError {
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, retryable, options);
  }
}

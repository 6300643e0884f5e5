import type { SearchsyncConfig } from '@searchsync/config';
import { Pool } from 'pg';
import { BootstrapError, DatabaseWalLevelError } from './bootstrap.errors';
import { DEPENDENCY_RETRY, retrying, type RetrySchedule } from './bootstrap-retry';
import { EXISTING_SCHEMAS_SQL, createSchemaStatements, demoTableSql } from './bootstrap-sql';
import type { PublicationReport, PublicationSteps } from './publication-steps';

export interface DatabaseSetup {
  databaseUrl: string;
  schemas: readonly string[];
  publication: string;
  ddlTrigger: boolean;
  /** Create the demo table in the first synced schema (filled only when empty). */
  demo: boolean;
  /** searchsync.yaml, read before anything is changed (an invalid file stops the run). */
  tableConfig: SearchsyncConfig;
  retry?: RetrySchedule;
}

/**
 * Whether a PostgreSQL failure is worth another attempt: the server not reachable yet, starting
 * up, out of connections, or a lock or serialization conflict with a concurrent writer (the
 * admin's reconciler). A wrong password, a missing database or a refused statement are not.
 */
export function retryableDatabaseError(error: Error): boolean {
  if (error instanceof BootstrapError) return error.retryable;
  const code = (error as { code?: unknown }).code;
  // SQLSTATE codes are five characters whose class never starts with E; Node's system errors
  // (ECONNREFUSED, ENOTFOUND, EPIPE, …) do, and mean the server is not reachable (yet).
  const sqlState = typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code);
  if (!sqlState) return true;
  return (
    code.startsWith('08') || // connection exception
    code === '57P03' || // cannot_connect_now: starting up or shutting down
    code === '53300' || // too_many_connections
    code === '55P03' || // lock_not_available
    code === '40001' || // serialization_failure
    code === '40P01' // deadlock_detected
  );
}

/**
 * PostgreSQL for Debezium: `wal_level=logical` checked, the synced schemas created when missing,
 * the demo table (optional), then — with the connector admin's own code — the tables
 * searchsync.yaml excludes columns of held back from the DDL trigger, and one reconcile pass:
 * schema searchsync_cdc with the signal and heartbeat tables, the publication as an explicit
 * list of the synced tables PostgreSQL can replicate without refusing the application's
 * UPDATE/DELETE (keyless tables kept out and reported, an older FOR TABLES IN SCHEMA / FOR ALL
 * TABLES publication migrated), and the event trigger that keeps it current. Idempotent.
 */
export async function prepareDatabase(
  setup: DatabaseSetup,
  steps: Pick<PublicationSteps, 'holdConfiguredTables' | 'reconcilePublication'>,
  say: (line: string) => void,
): Promise<PublicationReport | null> {
  const pool = new Pool({ connectionString: setup.databaseUrl, max: 1 });
  // An idle connection that drops (the server restarting under us) must not crash the process.
  pool.on('error', () => undefined);
  try {
    const walLevel = await retrying(
      'PostgreSQL',
      setup.retry ?? DEPENDENCY_RETRY,
      retryableDatabaseError,
      say,
      async () => (await pool.query<{ wal_level: string }>('show wal_level')).rows[0].wal_level,
    );
    if (walLevel !== 'logical') throw new DatabaseWalLevelError(walLevel);
    const existing = await pool.query<{ nspname: string }>(EXISTING_SCHEMAS_SQL, [
      [...setup.schemas],
    ]);
    for (const statement of createSchemaStatements(
      setup.schemas,
      new Set(existing.rows.map((r) => r.nspname)),
    )) {
      await pool.query(statement);
      say(statement);
    }
    if (setup.demo) {
      const demo = demoTableSql(setup.schemas[0]);
      await pool.query(demo.create);
      const count = await pool.query<{ n: number }>(demo.count);
      if (count.rows[0].n === 0) {
        await pool.query(demo.insert);
        say(`demo table ${demo.name} with ${demo.rows} rows`);
      }
    }
    // Before the trigger may run: it never publishes a table searchsync.yaml excludes columns
    // of (the admin's reconciler does, once the connector excludes them).
    const hold = await steps.holdConfiguredTables(pool, setup.publication, setup.tableConfig);
    for (const table of hold.held)
      say(`${table}: held back from the DDL trigger (searchsync.yaml excludes columns of it)`);
    // No connector exclusions are known here: a table with configured exclusions that is not
    // published yet waits for the admin.
    const report = await steps.reconcilePublication(
      pool,
      { publication: setup.publication, schemas: [...setup.schemas], ddlTrigger: setup.ddlTrigger },
      () => undefined,
      { excludedColumns: new Set(), tableConfig: setup.tableConfig },
    );
    for (const line of describeReconcile(setup.publication, report)) say(line);
    return report;
  } finally {
    await pool.end();
  }
}

/** What a reconcile pass did, one line each, for the person watching the start. Pure. */
export function describeReconcile(publication: string, report: PublicationReport | null): string[] {
  if (!report) return [`publication ${publication} is being reconciled by the connector admin`];
  const { trigger } = report;
  return [
    `publication ${publication}: ${report.published.length} tables${report.action === 'none' ? '' : ` (${report.action})`}, DDL trigger ${trigger.state}${trigger.detail ? `: ${trigger.detail}` : ''}`,
    ...report.excluded.map((table) => `${table.table} kept out: ${table.fix}`),
    ...report.deferred.map(
      (table) => `${table} enters once the connector excludes its columns (the admin adds it)`,
    ),
  ];
}

import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '@searchsync/retry';
import type { Client } from 'pg';
import { admin } from '../../e2e/support/admin';
import { database, eventually, stackRoot, uniqueTable } from '../../e2e/support/stack';

/** CI's form (`./searchsync faults --quick`): shorter faults, fewer rows; the same checks. */
export const QUICK = process.env.SEARCHSYNC_FAULTS_QUICK === '1';

/** How long an outage lasts: the 60 s, or 10 s in the quick form. */
export const OUTAGE_MS = QUICK ? 10_000 : 60_000;

const SEED_ROWS = QUICK ? 2000 : 20_000;
/** Transactions a second the writer aims at (each one to five row changes). */
const WRITE_RATE = QUICK ? 50 : 200;

export interface VerifyCounts {
  rows: number;
  documents: number;
  missingTotal: number;
  extraTotal: number;
  mismatchedTotal: number;
}

export interface WriterStats {
  transactions: number;
  rowChanges: number;
  /** Transactions that failed (the database or the connection down): rolled back, retried. */
  failed: number;
}

/**
 * Writes like an application until stopped: inserts, updates, deletes, multi-row transactions
 * and primary-key changes, in small transactions, reconnecting whenever the database goes away
 * (a failed transaction is rolled back: verify compares with what PostgreSQL holds, whatever
 * committed).
 */
export function startWriter(table: string, firstNewId: number) {
  let running = true;
  let next = firstNewId;
  const stats: WriterStats = { transactions: 0, rowChanges: 0, failed: 0 };
  const randomId = () => 1 + Math.floor(Math.random() * (next - 1));
  const done = (async () => {
    let client: Client | null = null;
    const started = Date.now();
    while (running) {
      const due = started + (stats.transactions / WRITE_RATE) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      try {
        if (!client) {
          client = await database();
          // A server going away mid-idle is an event, not a throw: the next query fails and
          // the transaction is retried on a new connection.
          client.on('error', () => undefined);
        }
        await client.query('begin');
        let changes = 0;
        const kind = stats.transactions % 5;
        if (kind === 0) {
          // Multi-row: several rows in one transaction.
          const from = randomId();
          const r = await client.query(
            `update ${table} set n = n + 1, name = name || '*' where id between $1 and $1 + 4`,
            [from],
          );
          changes += r.rowCount ?? 0;
        } else if (kind === 1) {
          // A primary-key change: a delete of the old key and an insert of the new one.
          const r = await client.query(`update ${table} set id = $1 where id = $2`, [
            next++,
            randomId(),
          ]);
          changes += r.rowCount ?? 0;
        } else if (kind === 2) {
          const r = await client.query(`delete from ${table} where id = $1`, [randomId()]);
          changes += r.rowCount ?? 0;
        }
        const id = next++;
        await client.query(`insert into ${table} (id, name, n) values ($1, $2, $3)`, [
          id,
          `row ${id}`,
          id % 1000,
        ]);
        const u = await client.query(`update ${table} set name = $1 where id = $2`, [
          `changed ${Date.now()}`,
          randomId(),
        ]);
        changes += 1 + (u.rowCount ?? 0);
        await client.query('commit');
        stats.transactions += 1;
        stats.rowChanges += changes;
      } catch {
        stats.failed += 1;
        await client?.end().catch(() => undefined);
        client = null;
        await sleep(250);
      }
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    stop: async (): Promise<WriterStats> => {
      running = false;
      await done;
      return stats;
    },
  };
}

/** Until verify finds the rows and documents equal; returns its counts. */
export async function verifyClean(table: string, timeoutMs = 600_000): Promise<VerifyCounts> {
  const result = await eventually(
    () => admin<VerifyCounts>('POST', `/v1/tables/${table}/verify`),
    (r) =>
      r.status === 200 &&
      r.body.missingTotal === 0 &&
      r.body.extraTotal === 0 &&
      r.body.mismatchedTotal === 0,
    { what: `verify of ${table} clean`, timeoutMs },
  );
  return result.body;
}

export interface ScenarioReport {
  scenario: string;
  quick: boolean;
  rows: number;
  transactions: number;
  rowChanges: number;
  failedTransactions: number;
  faultMs: number;
  /** From the end of the fault until verify was clean (the writer stopped at the fault's end + 5 s). */
  recoverMs: number;
}

/** Appended to .stack/faults-report.jsonl and printed: what docs/reliability.md reports. */
function report(line: ScenarioReport): void {
  const dir = join(stackRoot, '.stack');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'faults-report.jsonl'), `${JSON.stringify(line)}\n`);
  console.log(
    `fault ${line.scenario}${line.quick ? ' (quick)' : ''}: ${line.rows} rows verified clean; writer ${line.transactions} transactions (${line.rowChanges} row changes, ${line.failedTransactions} failed and retried) during a ${(line.faultMs / 1000).toFixed(1)} s fault; clean ${(line.recoverMs / 1000).toFixed(1)} s after it ended`,
  );
}

/**
 * One scenario: a table of its own, seeded and indexed; the writer runs before, during and
 * after the fault; then verify must find 0 missing, 0 extra, 0 mismatched.
 */
export async function runScenario(
  scenario: string,
  fault: (table: string) => Promise<void>,
): Promise<ScenarioReport> {
  const table = uniqueTable(`fault_${scenario.replace(/[^a-z0-9]+/g, '_')}`.slice(0, 24));
  const setup = await database();
  try {
    await setup.query(`create table ${table} (id bigint primary key, name text not null, n int)`);
    await setup.query(
      `insert into ${table} select g, 'row ' || g, g % 1000 from generate_series(1, ${SEED_ROWS}) g`,
    );
  } finally {
    // Not held across the fault: PostgreSQL may be restarted by it.
    await setup.end();
  }
  try {
    await verifyClean(table);
    const writer = startWriter(table, SEED_ROWS + 1);
    await sleep(3000);
    const faultStarted = Date.now();
    await fault(table);
    const faultEnded = Date.now();
    await sleep(5000);
    const stats = await writer.stop();
    const clean = await verifyClean(table);
    const line: ScenarioReport = {
      scenario,
      quick: QUICK,
      rows: clean.rows,
      transactions: stats.transactions,
      rowChanges: stats.rowChanges,
      failedTransactions: stats.failed,
      faultMs: faultEnded - faultStarted,
      recoverMs: Date.now() - faultEnded,
    };
    report(line);
    return line;
  } finally {
    const cleanup = await database();
    await cleanup.query(`drop table if exists ${table}`).catch(() => undefined);
    await cleanup.end();
  }
}

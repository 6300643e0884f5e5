/**
 * The suite's streaming stage: a paced writer of small transactions (60 % updates, 25 % inserts,
 * 15 % deletes) against a pre-filled table, and a poller that finds each change in OpenSearch,
 * so every insert and update has its own commit → searchable latency (50 ms resolution).
 *
 * Every insert and update gives its row a new `seq`, unique and increasing in commit order; the
 * writer records each seq's commit time, the poller searches `seq >= lowest seq not yet seen`
 * every 50 ms and records when each seq appears. A seq whose row changed again (or was deleted)
 * before it was seen can never appear: it is counted as superseded, not measured. The writer
 * takes the rows it updates and deletes from the front of a queue of live rows (oldest change
 * first), so a row is changed again only after the whole table has turned over (seconds).
 */
import { Client } from 'pg';
import { BenchError, sleep } from './bench-common';
import { log, percentile, promGauge, round, searchableCount, type SuiteEnv } from './suite-support';

export interface StreamingOptions {
  table: string;
  alias: string;
  topic: string;
  /** Changes per second asked for. */
  rate: number;
  seconds: number;
  /** Rows in the table before the writer starts. */
  prefill: number;
  tickMs?: number;
  pollMs?: number;
}

export interface StreamingResult {
  rate: number;
  achievedRate: number;
  seconds: number;
  transactions: number;
  written: { inserts: number; updates: number; deletes: number };
  /** Inserts and updates whose latency was measured. */
  measured: number;
  /** Inserts and updates overwritten (or deleted) before they were seen: not measurable. */
  superseded: number;
  /** Inserts and updates never seen within the wait after the writer stopped. */
  unseen: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  byKind: Record<'insert' | 'update', { n: number; p50Ms: number | null; p99Ms: number | null }>;
  pollMs: number;
  maxLag: number | null;
}

/** The 20-change pattern the writer repeats: 12 updates, 5 inserts, 3 deletes, interleaved. */
const PATTERN = 'uiuduiuudiuuiduuiudu';

type Kind = 'insert' | 'update';

/** Commit and first-seen times of every seq the writer produced. */
class SeqLog {
  readonly base: number;
  next: number;
  readonly kind: Kind[] = [];
  readonly commitAt: number[] = [];
  readonly seenAt: number[] = [];
  readonly superseded: boolean[] = [];
  /** Lowest seq not yet seen nor superseded. */
  low: number;

  constructor(base: number) {
    this.base = base;
    this.next = base;
    this.low = base;
  }

  take(kind: Kind): number {
    const seq = this.next++;
    this.kind[seq - this.base] = kind;
    return seq;
  }

  seen(seq: number, at: number): void {
    const i = seq - this.base;
    if (i < 0 || i >= this.next - this.base || this.seenAt[i] !== undefined) return;
    this.seenAt[i] = at;
  }

  supersede(seq: number): void {
    const i = seq - this.base;
    if (i >= 0 && this.seenAt[i] === undefined) this.superseded[i] = true;
  }

  /** Moves `low` past every seq that is settled (seen or superseded). */
  advance(): number {
    while (this.low < this.next) {
      const i = this.low - this.base;
      if (this.seenAt[i] === undefined && !this.superseded[i]) break;
      this.low += 1;
    }
    return this.low;
  }
}

/** Live row ids, oldest change first. */
class RowQueue {
  private items: number[] = [];
  private head = 0;

  push(id: number): void {
    this.items.push(id);
  }

  shift(): number {
    if (this.head >= this.items.length) throw new BenchError('the streaming table ran out of rows');
    const id = this.items[this.head++];
    if (this.head > 100_000) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return id;
  }
}

export async function runStreaming(
  env: SuiteEnv,
  options: StreamingOptions,
): Promise<StreamingResult> {
  const tickMs = options.tickMs ?? 20;
  const pollMs = options.pollMs ?? 50;
  const { table, alias } = options;
  const db = new Client({ connectionString: env.databaseUrl });
  await db.connect();
  const seqs = new SeqLog(options.prefill + 1);
  const rows = new RowQueue();
  /** Current seq of each live row. */
  const rowSeq = new Map<number, number>();
  for (let id = 1; id <= options.prefill; id++) {
    rows.push(id);
    rowSeq.set(id, id);
  }
  let nextId = options.prefill + 1;
  const written = { inserts: 0, updates: 0, deletes: 0 };
  let transactions = 0;
  let polling = true;
  let maxLag: number | null = null;

  const writer = async () => {
    const began = Date.now();
    const end = began + options.seconds * 1000;
    let done = 0;
    for (let tick = 1; ; tick++) {
      const wake = began + tick * tickMs;
      if (wake > end) break;
      await sleep(Math.max(0, wake - Date.now()));
      const due = Math.floor(((Date.now() - began) / 1000) * options.rate) - done;
      if (due <= 0) continue;
      const updates: string[] = [];
      const inserts: string[] = [];
      const deletes: number[] = [];
      const pending: number[] = [];
      for (let k = 0; k < due; k++) {
        const op = PATTERN[(done + k) % PATTERN.length];
        if (op === 'i') {
          const seq = seqs.take('insert');
          const id = nextId++;
          inserts.push(`(${id},${seq},'i${seq}')`);
          rowSeq.set(id, seq);
          pending.push(id);
          pending.push(seq);
          written.inserts += 1;
        } else {
          const id = rows.shift();
          const previous = rowSeq.get(id);
          if (previous !== undefined) seqs.supersede(previous);
          if (op === 'u') {
            const seq = seqs.take('update');
            updates.push(`(${id},${seq})`);
            rowSeq.set(id, seq);
            pending.push(id);
            pending.push(seq);
            written.updates += 1;
          } else {
            deletes.push(id);
            rowSeq.delete(id);
            written.deletes += 1;
          }
        }
      }
      const statements = [
        ...(updates.length
          ? [
              `update ${table} t set seq = v.seq, payload = 'u' || v.seq from (values ${updates.join(',')}) v(id, seq) where t.id = v.id`,
            ]
          : []),
        ...(inserts.length
          ? [`insert into ${table} (id, seq, payload) values ${inserts.join(',')}`]
          : []),
        ...(deletes.length ? [`delete from ${table} where id in (${deletes.join(',')})`] : []),
      ];
      // One simple-protocol query: the statements run as one implicit transaction.
      await db.query(statements.join(';'));
      const committed = Date.now();
      for (let p = 0; p < pending.length; p += 2) {
        seqs.commitAt[pending[p + 1] - seqs.base] = committed;
        rows.push(pending[p]);
      }
      done += due;
      transactions += 1;
    }
    return { done, seconds: (Date.now() - began) / 1000 };
  };

  const poller = async () => {
    while (polling) {
      const began = Date.now();
      let after: number | undefined;
      for (;;) {
        const response = await fetch(
          `${env.searchUrl}/${alias}/_search?filter_path=hits.hits.sort`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              size: 10_000,
              _source: false,
              track_total_hits: false,
              query: { range: { seq: { gte: seqs.advance() } } },
              sort: [{ seq: 'asc' }],
              ...(after === undefined ? {} : { search_after: [after] }),
            }),
          },
        );
        const seenAt = Date.now();
        if (!response.ok) {
          throw new BenchError(
            `searching ${alias} answered ${response.status}: ${(await response.text()).slice(0, 300)}`,
          );
        }
        const body = (await response.json()) as { hits?: { hits?: { sort: [number] }[] } };
        const hits = body.hits?.hits ?? [];
        for (const hit of hits) seqs.seen(hit.sort[0], seenAt);
        if (hits.length < 10_000) break;
        after = hits[hits.length - 1].sort[0];
      }
      await sleep(Math.max(0, pollMs - (Date.now() - began)));
    }
  };

  const lagSampler = async () => {
    while (polling) {
      const lag = await promGauge(
        env.indexerMetricsUrl,
        'searchsync_indexer_consumer_lag',
        'topic',
        options.topic,
      );
      if (lag !== null) maxLag = Math.max(maxLag ?? 0, lag);
      await sleep(1000);
    }
  };

  try {
    const polled = poller();
    const lagged = lagSampler();
    let wrote: { done: number; seconds: number };
    try {
      wrote = await writer();
      log(
        `  wrote ${wrote.done} changes in ${transactions} transactions; waiting for the last ones`,
      );
      // The last changes: wait until every seq is seen or superseded (at most 60 s).
      const until = Date.now() + 60_000;
      while (seqs.advance() < seqs.next && Date.now() < until) await sleep(100);
    } finally {
      polling = false;
      await Promise.allSettled([polled, lagged]);
    }
    await polled; // surfaces a search failure
    const latencies: Record<Kind, number[]> = { insert: [], update: [] };
    let superseded = 0;
    let unseen = 0;
    for (let i = 0; i < seqs.next - seqs.base; i++) {
      const seen = seqs.seenAt[i];
      const commit = seqs.commitAt[i];
      if (seen !== undefined && commit !== undefined) {
        // Seen by a poll that answered before the writer read its commit: ~0.
        latencies[seqs.kind[i]].push(Math.max(0, seen - commit));
      } else if (seqs.superseded[i]) superseded += 1;
      else unseen += 1;
    }
    const all = [...latencies.insert, ...latencies.update].sort((a, b) => a - b);
    const stats = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { n: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
    };
    return {
      rate: options.rate,
      achievedRate: round(wrote.done / wrote.seconds),
      seconds: round(wrote.seconds, 1),
      transactions,
      written,
      measured: all.length,
      superseded,
      unseen,
      p50Ms: percentile(all, 50),
      p95Ms: percentile(all, 95),
      p99Ms: percentile(all, 99),
      maxMs: all.length ? all[all.length - 1] : null,
      byKind: { insert: stats(latencies.insert), update: stats(latencies.update) },
      pollMs,
      maxLag,
    };
  } finally {
    await db.end();
  }
}

/** Creates the streaming table with `rows` rows (seq = id) and waits until all are searchable. */
export async function prefillStreamingTable(
  env: SuiteEnv,
  db: Client,
  table: string,
  alias: string,
  rows: number,
): Promise<void> {
  await db.query(`create table ${table} (id bigint primary key, seq bigint, payload text)`);
  await db.query(
    `insert into ${table} select g, g, md5(g::text) from generate_series(1, $1::int) g`,
    [rows],
  );
  const until = Date.now() + 5 * 60_000;
  while ((await searchableCount(env.searchUrl, alias)) < rows) {
    if (Date.now() > until) {
      throw new BenchError(
        `${alias} did not reach ${rows} documents in 5 minutes: check GET ${env.adminUrl}/v1/pipeline and .stack/logs/indexer.log`,
      );
    }
    await sleep(500);
  }
}

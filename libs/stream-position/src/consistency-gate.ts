import { sleep } from '@searchsync/retry';
import type { Admin } from 'kafkajs';
import { groupOffsets, pendingRecords, topicEnds, type PartitionOffset } from './applied-offsets';
import { formatLsn } from './lsn';
import type { SourcePositionFollower } from './source-position';
import { StartedAfter } from './started-after';

/** One table a read must be consistent for: its change topic and what to refresh to see it. */
export interface ConsistencyTarget {
  topic: string;
  refreshTarget: string;
}

export interface ConsistencyReport {
  lsn: string;
  waitedMs: number;
  /** Time spent in each step: Debezium's committed position, the indexer, the refresh. */
  stages: { source: number; indexer: number; refresh: number };
}

export type ConsistencyLag =
  | {
      stage: 'source';
      lsn: string;
      /** Debezium's committed position, when known. */
      sourceLsn: string | null;
      bytesBehind: number | null;
      reason: string | null;
    }
  | { stage: 'indexer'; lsn: string; pendingEvents: number; topics: Record<string, number> }
  | { stage: 'refresh'; lsn: string };

/** The LSN was not searchable in time; `lag` says which step held it. */
export class ConsistencyTimeoutError extends Error {
  constructor(
    readonly lag: ConsistencyLag,
    readonly waitedMs: number,
    options?: { cause?: unknown },
  ) {
    super(describeLag(lag, waitedMs), options);
    this.name = new.target.name;
  }
}

function describeLag(lag: ConsistencyLag, waitedMs: number): string {
  const head = `changes up to LSN ${lag.lsn} were not searchable within ${waitedMs} ms`;
  switch (lag.stage) {
    case 'source':
      return lag.sourceLsn === null
        ? `${head}: Debezium's position is unknown (${lag.reason ?? 'no committed offset yet'})`
        : `${head}: Debezium has streamed up to ${lag.sourceLsn}, ${lag.bytesBehind} bytes of WAL behind${lag.reason ? ` (${lag.reason})` : ''}`;
    case 'indexer':
      return `${head}: the indexer has ${lag.pendingEvents} change events left to apply`;
    case 'refresh':
      return `${head}: the search engine did not refresh in time`;
  }
}

export interface ConsistencyGateDeps {
  follower: SourcePositionFollower;
  admin: () => Promise<Admin>;
  /** The indexer's consumer group: its committed offsets are what has been applied. */
  groupId: string;
  /**
   * Commits something Debezium streams (a logical decoding message), so an idle database still
   * moves the committed position past the caller's LSN; null: wait for Debezium's heartbeats.
   */
  barrier: (() => Promise<void>) | null;
  refresh: (target: string) => Promise<void>;
  log: (level: 'warn' | 'log', message: string) => void;
}

const POLL_MS = 20;

/**
 * Read-your-writes: waits until every change committed before an LSN is searchable.
 * 1. Debezium's position committed by Kafka Connect reaches the LSN: every transaction that
 *    committed before it is then in its table's topic (see SourcePositionFollower).
 * 2. The table topics' end offsets, read after that, bound those records; the indexer's
 *    committed offsets reaching them mean they are in the engine (it commits after each bulk).
 * 3. A refresh of the index that starts after that makes them searchable.
 */
export class ConsistencyGate {
  private readonly barrier: StartedAfter | null;
  private readonly refreshes = new Map<string, StartedAfter>();
  private barrierProblem: string | null = null;
  private offsetsInFlight = new Map<string, Promise<Map<string, PartitionOffset[]>>>();

  constructor(private readonly deps: ConsistencyGateDeps) {
    const write = deps.barrier;
    this.barrier = write
      ? new StartedAfter(async () => {
          try {
            await write();
            this.barrierProblem = null;
          } catch (error) {
            const problem = `the barrier write failed: ${error instanceof Error ? error.message : String(error)}`;
            if (problem !== this.barrierProblem)
              deps.log('warn', `${problem}; waiting for Debezium's heartbeats instead`);
            this.barrierProblem = problem;
          }
        })
      : null;
  }

  async waitUntilSearchable(
    targets: ConsistencyTarget[],
    lsn: bigint,
    timeoutMs: number,
  ): Promise<ConsistencyReport> {
    const startedAt = performance.now();
    const deadline = Date.now() + timeoutMs;
    const text = formatLsn(lsn);
    const elapsed = () => Math.round(performance.now() - startedAt);

    const { follower } = this.deps;
    const known = follower.current();
    if (!known || known.lsn < lsn) {
      void this.barrier?.run(startedAt);
      const reached = await follower.waitFor(lsn, deadline);
      if (!reached) {
        const now = follower.current();
        throw new ConsistencyTimeoutError(
          {
            stage: 'source',
            lsn: text,
            sourceLsn: now ? formatLsn(now.lsn) : null,
            bytesBehind: now ? Number(lsn - now.lsn) : null,
            reason: follower.problem() ?? this.barrierProblem,
          },
          elapsed(),
        );
      }
    }
    const sourceDone = elapsed();

    const admin = await this.deps.admin();
    const topics = [...new Set(targets.map((t) => t.topic))];
    const ends = new Map(
      await Promise.all(topics.map(async (t) => [t, await topicEnds(admin, t)] as const)),
    );
    const waiting = topics.filter((t) => (ends.get(t) ?? []).length > 0);
    for (;;) {
      const pending =
        waiting.length === 0 ? new Map<string, bigint>() : await this.pending(admin, waiting, ends);
      const total = [...pending.values()].reduce((a, b) => a + b, 0n);
      if (total === 0n) break;
      if (Date.now() >= deadline) {
        throw new ConsistencyTimeoutError(
          {
            stage: 'indexer',
            lsn: text,
            pendingEvents: Number(total),
            topics: Object.fromEntries([...pending].map(([t, n]) => [t, Number(n)])),
          },
          elapsed(),
        );
      }
      await sleep(POLL_MS);
    }
    const indexerDone = elapsed();

    const appliedAt = performance.now();
    const refreshed = Promise.all(
      [...new Set(targets.map((t) => t.refreshTarget))].map((target) =>
        this.refresher(target).run(appliedAt),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    });
    try {
      if ((await Promise.race([refreshed, late])) === 'late') {
        throw new ConsistencyTimeoutError({ stage: 'refresh', lsn: text }, elapsed());
      }
    } finally {
      clearTimeout(timer);
    }
    const done = elapsed();
    return {
      lsn: text,
      waitedMs: done,
      stages: {
        source: sourceDone,
        indexer: indexerDone - sourceDone,
        refresh: done - indexerDone,
      },
    };
  }

  /** Records below `ends` the group has not committed, by topic; one fetch shared by callers. */
  private async pending(
    admin: Admin,
    topics: string[],
    ends: Map<string, PartitionOffset[]>,
  ): Promise<Map<string, bigint>> {
    const key = topics.join('\n');
    let fetch = this.offsetsInFlight.get(key);
    if (!fetch) {
      fetch = groupOffsets(admin, this.deps.groupId, topics).finally(() =>
        this.offsetsInFlight.delete(key),
      );
      this.offsetsInFlight.set(key, fetch);
    }
    const committed = await fetch;
    return new Map(
      topics.map((t) => [t, pendingRecords(ends.get(t) ?? [], committed.get(t) ?? [])]),
    );
  }

  private refresher(target: string): StartedAfter {
    let refresher = this.refreshes.get(target);
    if (!refresher) {
      refresher = new StartedAfter(() => this.deps.refresh(target));
      this.refreshes.set(target, refresher);
    }
    return refresher;
  }
}

import { Logger } from '@nestjs/common';
import type { ChangeEvent } from '@searchsync/change-events';
import type { BulkAction, BulkItemResult, SearchEngine } from '@searchsync/search-engine';
import { TableIndexRefusedError, classifyFailure, describeError } from './apply-errors';
import { classifyEngineRejection, persistentEngineFailure } from './dead-letter-reason';
import type { DeadLetterBatch } from './dead-letters';
import { engineOutage, isDocumentRefusal, itemOutage, type EngineOutage } from './engine-failure';
import type { IndexingMetrics } from './indexing-metrics';
import type { BatchControl, OutageRetry } from './outage-retry';
import type { RebuildTargets } from './rebuild-targets';
import type { SourceRecord } from './source-record';
import type { TableMappings } from './table-mappings';
import type { BlockWaiter, WriteBlocks } from './write-status';

export type Decoded = { record: SourceRecord; event: Exclude<ChangeEvent, { kind: 'skip' }> };

/** One write of a change, waiting to be sent in a bulk request. */
export interface PendingAction {
  action: BulkAction;
  decoded: Decoded;
  bytes: number;
  /**
   * For the same change written to a generation being rebuilt, the table's live alias: such a
   * copy is not counted as applied.
   */
  copyOf?: string;
}

export interface BulkWriterOptions {
  /**
   * Attempts after which a document the engine keeps failing with a 5xx, while it accepts other
   * writes, is dead-lettered instead of stalling its partition.
   */
  itemAttempts: number;
}

type BulkMetrics = Pick<
  IndexingMetrics,
  | 'retries'
  | 'bulkLatency'
  | 'eventsApplied'
  | 'lastSourceTimestamp'
  | 'versionConflicts'
  | 'vectorsNotIndexed'
>;

function tableOf(item: PendingAction): string {
  const { table } = item.decoded.event;
  return `${table.schema}.${table.table}`;
}

/**
 * Writes bulks of changes until each one is applied, superseded by a newer version, or
 * dead-lettered: outages are waited out (never the documents' fault), a request refused for
 * one of its documents is split to find it, and an index found gone is created again.
 */
export class BulkWriter {
  private readonly logger = new Logger('ChangeApplier');
  /** Bulk answers with at least one accepted item: evidence that the engine takes writes. */
  private acceptedWrites = 0;

  constructor(
    private readonly engine: Pick<SearchEngine, 'bulk'>,
    private readonly metrics: BulkMetrics,
    private readonly writes: WriteBlocks,
    private readonly retry: OutageRetry,
    private readonly mappings: TableMappings,
    private readonly rebuilds: RebuildTargets,
    private readonly options: BulkWriterOptions,
  ) {}

  async write(
    batch: PendingAction[],
    letters: DeadLetterBatch,
    control: BatchControl,
  ): Promise<void> {
    const waiter = this.writes.waiter('bulk');
    try {
      await this.writeUntilDone(batch, letters, control, waiter);
    } finally {
      waiter.done();
    }
  }

  private async writeUntilDone(
    batch: PendingAction[],
    letters: DeadLetterBatch,
    control: BatchControl,
    waiter: BlockWaiter,
  ): Promise<void> {
    const { itemAttempts } = this.options;
    /** 5xx answers per document, and the accepted-writes count at its first one. */
    const itemFailures = new Map<PendingAction, { attempts: number; acceptedBefore: number }>();
    /** Times each document found its table's index missing. */
    const missingIndex = new Map<PendingAction, number>();
    const schedule = this.retry.schedule();
    let remaining = batch;
    for (let attempt = 0; remaining.length > 0; attempt++) {
      if (attempt > 0) {
        this.metrics.retries.inc();
        await this.retry.wait(schedule, control);
      }
      const timer = this.metrics.bulkLatency.startTimer();
      let results: BulkItemResult[];
      try {
        results = await this.engine.bulk(remaining.map((p) => p.action));
      } catch (error) {
        if (isDocumentRefusal(error)) {
          // Too large, or a document that breaks the request: find the culprits by halves,
          // down to single documents, which are dead-lettered.
          waiter.done();
          await this.writeHalves(remaining, error, letters, control);
          return;
        }
        // Not about the documents (an outage, credentials, a block, a client failure, or an
        // answer we cannot place): splitting would dead-letter every one of them. Wait instead.
        const outage = engineOutage(error) ?? {
          transient: false,
          reason: `bulk request refused: ${describeError(error)}`,
        };
        waiter.failed(outage);
        this.logger.warn(`bulk of ${remaining.length} failed, will retry: ${outage.reason}`);
        continue;
      } finally {
        timer();
      }
      const acceptedBefore = this.acceptedWrites;
      if (results.some((r) => r.outcome === 'applied' || r.outcome === 'stale')) {
        this.acceptedWrites += 1;
      }
      const retry: PendingAction[] = [];
      /** Documents whose table's index is gone: written again once it is created. */
      const recreate: PendingAction[] = [];
      let outage: EngineOutage | null = null;
      results.forEach((result, i) => {
        const item = remaining[i];
        const table = tableOf(item);
        const op =
          item.decoded.event.kind === 'upsert' ? item.decoded.event.op : item.decoded.event.kind;
        if (item.copyOf && (result.outcome === 'applied' || result.outcome === 'stale')) return;
        if (item.copyOf && result.outcome === 'missing_index') {
          if (item.action.index === item.copyOf) return;
          // The generation was swapped in or abandoned. Swapped in between this bulk's live
          // write (which then reached the old generation) and the copy: the copy must land in
          // the new generation, now the live alias. Abandoned: the same version written again.
          this.rebuilds.forget(item.action.index);
          this.mappings.forgetTarget(item.action.index);
          item.action = { ...item.action, index: item.copyOf };
          retry.push(item);
          return;
        }
        if (result.outcome === 'applied') {
          this.metrics.eventsApplied.inc({ table, op });
          this.metrics.lastSourceTimestamp.set({ table }, item.decoded.event.sourceTsMs / 1000);
          return;
        }
        if (result.outcome === 'stale') {
          this.metrics.versionConflicts.inc({ table });
          return;
        }
        if (result.outcome === 'missing_index') {
          const times = (missingIndex.get(item) ?? 0) + 1;
          missingIndex.set(item, times);
          if (times > 1) {
            // Still missing after we created it: something else removes it (or a plain index
            // holds the alias' name). Waited out and reported, never dead-lettered.
            outage ??= {
              transient: times < 3,
              reason: `index of ${item.action.index} missing after it was created (is there an index named like the alias?): ${result.reason ?? ''}`,
            };
          }
          recreate.push(item);
          return;
        }
        const blocked = itemOutage(result);
        if (blocked) {
          // The index is blocked, closed or forbidden, or the engine throttles: not the document.
          outage ??= blocked;
          retry.push(item);
          return;
        }
        const reason = result.reason ?? `status ${result.status}`;
        if (result.outcome === 'rejected' && item.action.type === 'index' && item.action.vectors) {
          // The index's vector fields may not be the configuration's (dims or similarity changed,
          // its rebuild not done yet): the row is written again without vector copies, kept
          // exactly, and found by knn once rebuilt. Only a refusal without copies is its own.
          const { vectors, ...plain } = item.action;
          item.action = plain;
          for (const vector of vectors) {
            this.metrics.vectorsNotIndexed.inc({
              table,
              column: vector.column,
              reason: 'refused by the index (rebuild pending?)',
            });
          }
          this.logger.warn(
            `${table}: a row with vector copies was refused (${reason}); written again without them`,
          );
          retry.push(item);
          return;
        }
        if (result.outcome === 'rejected') {
          letters.add(
            item.decoded.record,
            classifyEngineRejection({ status: result.status, reason, type: result.type }),
            table,
          );
          return;
        }
        // A 5xx for this document: an outage, unless it keeps coming back for it alone.
        const seen = itemFailures.get(item) ?? { attempts: 0, acceptedBefore };
        seen.attempts += 1;
        itemFailures.set(item, seen);
        if (seen.attempts >= itemAttempts && this.acceptedWrites > seen.acceptedBefore) {
          letters.add(
            item.decoded.record,
            persistentEngineFailure(result.status, reason, seen.attempts),
            table,
          );
          return;
        }
        outage ??= { transient: true, reason };
        retry.push(item);
      });
      if (outage !== null) waiter.failed(outage);
      const recreated = await this.recreateIndices(recreate, letters, control);
      // In batch order: a later change of a row must not be written before an earlier one.
      const again = new Set([...retry, ...recreated]);
      remaining = remaining.filter((item) => again.has(item));
    }
  }

  /**
   * Creates again the indices of tables whose index is gone, with the columns of the records
   * waiting to be written. Returns the records to write again; a record whose columns the
   * engine will not map is dead-lettered, as when the index is created the first time.
   */
  private async recreateIndices(
    items: PendingAction[],
    letters: DeadLetterBatch,
    control: BatchControl,
  ): Promise<PendingAction[]> {
    const forgotten = new Set<string>();
    const again: PendingAction[] = [];
    for (const item of items) {
      const { event } = item.decoded;
      if (!forgotten.has(item.action.index)) {
        forgotten.add(item.action.index);
        this.mappings.forgetTable(item.action.index);
      }
      if (event.kind !== 'upsert') {
        again.push(item);
        continue;
      }
      try {
        await this.retry.retrying(control, () =>
          this.mappings.ensureMapping(event.table, event.columns),
        );
      } catch (error) {
        if (!(error instanceof TableIndexRefusedError)) throw error;
        letters.add(item.decoded.record, classifyFailure(error), tableOf(item));
        continue;
      }
      again.push(item);
    }
    return again;
  }

  private async writeHalves(
    batch: PendingAction[],
    error: unknown,
    letters: DeadLetterBatch,
    control: BatchControl,
  ): Promise<void> {
    if (batch.length === 1) {
      const [item] = batch;
      letters.add(item.decoded.record, classifyFailure(error), tableOf(item));
      return;
    }
    this.logger.warn(
      `bulk of ${batch.length} refused (${describeError(error)}); retrying in halves`,
    );
    // In order: within a partition a later change of a row must not be written first.
    const half = Math.ceil(batch.length / 2);
    await this.write(batch.slice(0, half), letters, control);
    await this.write(batch.slice(half), letters, control);
  }
}

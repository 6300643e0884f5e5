import { Logger } from '@nestjs/common';
import {
  TableWithoutKeyError,
  decodeChangeEvent,
  type ChangeEvent,
  type TableRef,
  type UpsertEvent,
} from '@searchsync/change-events';
import {
  EMPTY_SEARCHSYNC_CONFIG,
  isColumnVisible,
  tableSettings,
  type SearchsyncConfig,
  type TableSettings,
} from '@searchsync/config';
import {
  TABLE_INDEX_SETTINGS,
  buildingIndex,
  isMissingIndex,
  tableIndexNames,
  type BulkAction,
  type SearchEngine,
} from '@searchsync/search-engine';
import {
  BatchAbortedError,
  IndexerStoppingError,
  TableIndexRefusedError,
  classifyFailure,
  isRecordFailure,
} from './apply-errors';
import type { BatchOrder } from './batch-pipeline';
import { BulkWriter, type Decoded, type PendingAction } from './bulk-writer';
import { classifyRecordError, type DeadLetterReason } from './dead-letter-reason';
import { DeadLetterBatch, tableOfTopic, type DeadLetterSink } from './dead-letters';
import type { IndexingMetrics } from './indexing-metrics';
import { OutageRetry, type BatchControl } from './outage-retry';
import { RebuildTargets } from './rebuild-targets';
import type { SourceRecord } from './source-record';
import { columnsFingerprint, TableMappings } from './table-mappings';
import { keepStoredToast, unchangedToastColumns, withStoredToast } from './toast-merge';
import { VectorPlans } from './vector-plans';
import { WriteBlocks, type WriteStatus } from './write-status';

/** A batch applied on its own: nothing earlier of its partition is in flight. */
const ALONE: BatchOrder = {
  earlierIssued: () => Promise.resolve(),
  issued: () => undefined,
  earlierLanded: () => Promise.resolve(),
};

/** What a batch's application tells the consumer, for the progress its offset commit carries. */
export interface AppliedBatch {
  /** PostgreSQL commit time (ms) of the newest change decoded in the batch; null when none was. */
  newestSourceTsMs: number | null;
  /**
   * Every change decoded, in record order — dead-lettered ones too, since their rows changed
   * all the same (with `keepEvents`; empty otherwise).
   */
  events: ChangeEvent[];
}

export interface ApplierOptions {
  indexPrefix: string;
  maxActions: number;
  maxBytes: number;
  /** Bulk requests in flight at once per batch (1: each waits for the one before). */
  bulkConcurrency?: number;
  /** First retry delay after an outage (jittered, growing towards retryMaxDelayMs); 200 ms. */
  retryDelayMs?: number;
  /** Longest wait between two attempts; 30 s. */
  retryMaxDelayMs?: number;
  /**
   * Attempts after which a document the engine keeps failing with a 5xx, while it accepts other
   * writes, is dead-lettered instead of stalling its partition.
   */
  itemAttempts?: number;
  /** The table configuration in force (searchsync.yaml); read at each use, so reloads apply. */
  config?: () => SearchsyncConfig;
  /** Whether `apply` returns the decoded events (for document views to follow them). */
  keepEvents?: () => boolean;
}

function tableLabel(table: TableRef): string {
  return `${table.schema}.${table.table}`;
}

/**
 * Columns the configuration keeps out of documents. The connector excludes them at the source;
 * this is the second line, for events produced before the connector's config caught up.
 */
function withoutHiddenColumns(event: UpsertEvent, settings: TableSettings): void {
  if (settings.exclude.length === 0 && settings.include === null) return;
  const hidden = event.columns
    .map((column) => column.field ?? '')
    .filter((name) => !isColumnVisible(settings, name));
  if (hidden.length === 0) return;
  for (const name of hidden) delete event.document[name];
  event.columns = event.columns.filter((column) => !hidden.includes(column.field ?? ''));
}

/** Keeps the group membership alive while a write waits on a slow or absent engine. */
const HEARTBEAT_INTERVAL_MS = 3000;

/**
 * Applies the change events of one partition, in order, to the search engine. Returns only
 * when every event is either applied, superseded by a newer version, or dead-lettered —
 * so the caller may commit the offsets. Throws when that cannot be said of the whole batch.
 */
export class ChangeApplier {
  private readonly logger = new Logger(ChangeApplier.name);
  /** Writes waiting on an engine outage, for /health. */
  readonly writes: WriteBlocks;
  /** Generations being rebuilt, written to as well. */
  private readonly rebuilds: RebuildTargets;
  private readonly retry: OutageRetry;
  private readonly mappings: TableMappings;
  private readonly bulks: BulkWriter;
  private readonly vectors: VectorPlans;

  constructor(
    private readonly engine: SearchEngine,
    private readonly deadLetters: DeadLetterSink,
    private readonly metrics: IndexingMetrics,
    private readonly options: ApplierOptions,
    /** The decoder; replaceable so tests can make it fail in ways real data may one day. */
    private readonly decodeRecord: typeof decodeChangeEvent = decodeChangeEvent,
  ) {
    this.writes = new WriteBlocks((blocked) => metrics.writesBlocked.set(blocked ? 1 : 0));
    this.rebuilds = new RebuildTargets(engine, options.indexPrefix);
    this.retry = new OutageRetry(this.writes, metrics, {
      initialDelayMs: options.retryDelayMs ?? 200,
      maxDelayMs: options.retryMaxDelayMs ?? 30_000,
    });
    this.mappings = new TableMappings(
      engine,
      options.indexPrefix,
      (table) => this.settingsOf(table),
      this.rebuilds,
    );
    this.bulks = new BulkWriter(
      engine,
      metrics,
      this.writes,
      this.retry,
      this.mappings,
      this.rebuilds,
      {
        itemAttempts: options.itemAttempts ?? 10,
      },
    );
    this.vectors = new VectorPlans(metrics);
  }

  private settingsOf(table: TableRef): TableSettings {
    return tableSettings(this.options.config?.() ?? EMPTY_SEARCHSYNC_CONFIG, table);
  }

  writeStatus(): WriteStatus {
    return this.writes.status();
  }

  /**
   * Writes a batch of one partition, in its place among the partition's batches still in flight
   * (`order`, see BatchOrder): it writes nothing before the earlier ones have issued their writes
   * and truncates, and a truncate or a TOAST restore waits for them to land.
   */
  async apply(
    records: SourceRecord[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
    order: BatchOrder = ALONE,
  ): Promise<AppliedBatch> {
    const control: BatchControl = { isRunning, heartbeat };
    const ticker = setInterval(
      () => void heartbeat().catch(() => undefined),
      HEARTBEAT_INTERVAL_MS,
    );
    try {
      // Before any record: a batch must know every generation created before it was fetched.
      const vanished = await this.retry.retrying(control, () => this.rebuilds.refreshIfStale());
      for (const target of vanished) this.mappings.forgetTarget(target);
      return await this.applyRecords(records, control, order);
    } finally {
      clearInterval(ticker);
    }
  }

  private async applyRecords(
    records: SourceRecord[],
    control: BatchControl,
    order: BatchOrder,
  ): Promise<AppliedBatch> {
    let newestSourceTsMs: number | null = null;
    const events: ChangeEvent[] = [];
    const keepEvents = this.options.keepEvents?.() ?? false;
    const letters = new DeadLetterBatch();
    /**
     * Tables whose index the engine refused for a column set, by alias and columns: their
     * records go straight to letters.
     */
    const unmappable = new Map<string, DeadLetterReason>();
    let pending: PendingAction[] = [];
    let pendingBytes = 0;
    /**
     * Bulks being written. Several may be in flight while the next records are decoded: each
     * action carries its change's version, so whatever order they land in, the newest version of
     * a document wins. Only the offset commit is ordered, and it waits for all of them.
     */
    const inFlight: Promise<void>[] = [];
    const concurrency = Math.max(1, this.options.bulkConcurrency ?? 1);

    const settleOldest = async () => {
      const oldest = inFlight.shift();
      try {
        await oldest;
      } catch (error) {
        await Promise.allSettled(inFlight.splice(0));
        // Neither written nor dead-lettered: the failure must never pass for one record's (which
        // would commit the batch); the whole batch is delivered again.
        throw error instanceof IndexerStoppingError ? error : new BatchAbortedError(error);
      }
    };
    /** Starts writing what is pending, once fewer than `concurrency` bulks are in flight. */
    const dispatch = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      while (inFlight.length >= concurrency) await settleOldest();
      const write = this.bulks.write(batch, letters, control);
      // Observed by settleOldest; until then a failure must not count as unhandled.
      write.catch(() => undefined);
      inFlight.push(write);
    };
    /** Everything pending and in flight, this batch's and earlier ones', has landed (or the batch fails). */
    const flush = async () => {
      await dispatch();
      while (inFlight.length > 0) await settleOldest();
      try {
        await order.earlierLanded();
      } catch (error) {
        throw new BatchAbortedError(error);
      }
    };

    // An earlier batch's truncate, still to come, would replace the generation this batch writes to.
    await order.earlierIssued();

    for (const record of records) {
      let decoded: Decoded | null;
      try {
        decoded = this.decode(record);
      } catch (error) {
        // Whatever the type: one record that cannot be decoded or converted is that record's
        // problem, never the batch's.
        letters.add(record, classifyRecordError(error), tableOfTopic(record.topic));
        continue;
      }
      if (!decoded) continue;
      const { event } = decoded;
      if (keepEvents) events.push(event);
      if (newestSourceTsMs === null || event.sourceTsMs > newestSourceTsMs) {
        newestSourceTsMs = event.sourceTsMs;
      }
      const table = tableLabel(event.table);
      this.metrics.eventsConsumed.inc({
        table,
        op: event.kind === 'upsert' ? event.op : event.kind,
      });
      if (event.kind === 'truncate') {
        // Outside the per-record catch: a failure of the earlier writes is the batch's.
        await flush();
      }
      let action: BulkAction;
      let bytes = 200;
      /** Columns the change left unchanged (TOAST placeholders), restored from stored documents. */
      let unchangedToast: string[] = [];
      try {
        if (event.kind === 'truncate') {
          await this.retry.retrying(control, () => this.truncate(event.table));
          for (const target of this.rebuilds.buildingFor(
            tableIndexNames(this.options.indexPrefix, event.table).alias,
          )) {
            await this.retry.retrying(control, () => this.truncateTarget(target, event.table));
          }
          this.metrics.eventsApplied.inc({ table, op: 'truncate' });
          continue;
        }
        const names = tableIndexNames(this.options.indexPrefix, event.table);
        if (event.kind === 'upsert') {
          withoutHiddenColumns(event, this.settingsOf(event.table));
          const refusedKey = `${names.alias}\u0000${columnsFingerprint(event.columns)}`;
          const refused = unmappable.get(refusedKey);
          if (refused) {
            letters.add(record, refused, table);
            continue;
          }
          try {
            await this.retry.retrying(control, () =>
              this.mappings.ensureMapping(event.table, event.columns),
            );
          } catch (error) {
            if (!(error instanceof TableIndexRefusedError)) throw error;
            const reason = classifyFailure(error);
            // Every row with these columns would be refused the same way: ask once a batch.
            unmappable.set(refusedKey, reason);
            letters.add(record, reason, table);
            continue;
          }
          unchangedToast = unchangedToastColumns(event.document);
          if (unchangedToast.length > 0) {
            // The stored document must reflect every earlier change of this row first.
            // flush() fails as the batch's (never this record's): the outer catch rethrows it.
            await flush();
            await this.retry.retrying(control, () =>
              this.restoreUnchangedToast(names.alias, event),
            );
          }
          // Serialized here, per record, so that a value the engine client could not serialize
          // is this record's dead letter; a bulk request failing later is then never the data's.
          bytes += Buffer.byteLength(JSON.stringify(event.document));
          const vectors = this.vectors.columns(event, this.settingsOf(event.table).fields);
          action = {
            type: 'index',
            index: names.alias,
            id: event.id,
            version: event.version,
            document: event.document,
            ...(vectors.length > 0 ? { vectors } : {}),
          };
          if (vectors.length > 0) this.vectors.countNotIndexed(event, vectors, table);
        } else {
          action = { type: 'delete', index: names.alias, id: event.id, version: event.version };
        }
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        letters.add(record, classifyFailure(error), table);
        continue;
      }
      const copies: PendingAction[] = [];
      try {
        for (const target of this.rebuilds.buildingFor(action.index)) {
          if (event.kind === 'upsert') {
            const mapped = await this.retry.retrying(control, () =>
              this.mappings.ensureCopyMapping(target, event.table, event.columns),
            );
            if (!mapped) continue;
          }
          copies.push({
            action: await this.copyAction(action, target, unchangedToast, control),
            decoded,
            bytes,
            copyOf: action.index,
          });
        }
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        letters.add(record, classifyFailure(error), table);
        continue;
      }
      for (const item of [{ action, decoded, bytes }, ...copies]) {
        if (
          pending.length >= this.options.maxActions ||
          pendingBytes + item.bytes > this.options.maxBytes
        ) {
          await dispatch();
        }
        pending.push(item);
        pendingBytes += item.bytes;
      }
    }
    // Every write of this batch is sent and its truncates are done: the next batch may write.
    order.issued();
    await flush();
    if (letters.letters.length > 0) {
      // publish() removes each letter once sent: a retry after a failure sends only the rest.
      await this.retry.retrying(control, () => this.deadLetters.publish(letters.letters));
    }
    return { newestSourceTsMs, events };
  }

  private decode(record: SourceRecord): Decoded | null {
    try {
      const event = this.decodeRecord(record.key, record.value);
      return event.kind === 'skip' ? null : { record, event };
    } catch (error) {
      if (error instanceof TableWithoutKeyError) {
        this.metrics.tablesWithoutKey.set({ table: error.table }, 1);
      }
      throw error;
    }
  }

  /**
   * The change as written to a generation being rebuilt. A delete goes to the generation's
   * index itself: an engine auto-creates a missing index for a delete (require_alias does not
   * apply to deletes), and the index, unlike its building alias, outlives the swap. An unchanged
   * TOASTed value is taken from that generation when it holds one (its re-read row is newer
   * than the live index's, which a rebuild may be repairing).
   */
  private async copyAction(
    action: BulkAction,
    target: string,
    unchangedToast: string[],
    control: BatchControl,
  ): Promise<BulkAction> {
    if (action.type === 'delete') return { ...action, index: buildingIndex(target) };
    if (unchangedToast.length === 0) return { ...action, index: target };
    const stored = await this.retry.retrying(control, () =>
      this.engine.getDocument(target, action.id).catch((error: unknown) => {
        if (isMissingIndex(error)) return null;
        throw error;
      }),
    );
    return {
      ...action,
      index: target,
      document: withStoredToast(action.document, stored, unchangedToast),
    };
  }

  /**
   * An update that left a TOASTed column unchanged carries a placeholder instead of its value:
   * take the value from the stored document rather than writing the placeholder.
   */
  private async restoreUnchangedToast(alias: string, event: UpsertEvent): Promise<void> {
    let stored: Record<string, unknown> | null;
    try {
      stored = await this.engine.getDocument(alias, event.id, { requireIndex: true });
    } catch (error) {
      if (!isMissingIndex(error)) throw error;
      // No index, so no stored value to keep: create the index for this write and go on.
      this.mappings.forgetTable(alias);
      await this.mappings.ensureMapping(event.table, event.columns);
      stored = null;
    }
    const table = tableLabel(event.table);
    for (const column of keepStoredToast(event.document, stored)) {
      // Nothing stored to keep (the row's earlier versions never reached the index).
      this.metrics.toastUnresolved.inc({ table });
      this.logger.warn(
        `${table} id ${event.id}: column ${column} unchanged in PostgreSQL but absent from the index; set REPLICA IDENTITY FULL on the table or resync it`,
      );
    }
  }

  /**
   * Truncate of a generation being rebuilt. Gone means swapped in (perhaps after the live
   * alias was truncated, while it still pointed at the old one) or abandoned: truncating the
   * live alias again covers both.
   */
  private async truncateTarget(target: string, table: TableRef): Promise<void> {
    try {
      await this.engine.deleteAllDocuments(target);
    } catch (error) {
      if (!isMissingIndex(error)) throw error;
      this.rebuilds.forget(target);
      await this.truncate(table);
    }
  }

  /**
   * A new empty generation replaces the live one (see TableGenerations.replaceWithEmpty): no
   * delete-by-query, which some engines lack and which leaves every document to merge away.
   */
  private async truncate(table: TableRef): Promise<void> {
    const names = tableIndexNames(this.options.indexPrefix, table);
    try {
      const replaced = await this.engine.generations.replaceWithEmpty(names, TABLE_INDEX_SETTINGS, {
        index: this.settingsOf(table).index,
      });
      if (!replaced) {
        this.mappings.forgetTable(names.alias);
        return;
      }
      this.logger.log(
        `truncate of ${tableLabel(table)}: ${replaced.replaced.join(', ')} replaced by the empty ${replaced.index}`,
      );
    } catch (error) {
      // No index, nothing to remove; the next write of the table creates it again.
      if (isMissingIndex(error)) {
        this.mappings.forgetTable(names.alias);
        return;
      }
      throw error;
    }
  }
}

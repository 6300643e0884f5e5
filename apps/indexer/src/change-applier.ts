import { Logger } from '@nestjs/common';
import {
  TableWithoutKeyError,
  decodeChangeEvent,
  isUnavailableValue,
  propertiesFor,
  type ChangeEvent,
  type ConnectSchema,
  type DocumentValue,
  type TableRef,
  type UpsertEvent,
} from '@searchsync/change-events';
import {
  SearchEngineError,
  tableIndexNames,
  type BulkAction,
  type BulkItemResult,
  type SearchEngine,
} from '@searchsync/search-engine';
import { tableOfTopic, type DeadLetter, type DeadLetterPublisher } from './dead-letter-publisher';
import {
  classifyEngineRejection,
  classifyRecordError,
  type DeadLetterReason,
} from './dead-letter-reason';
import type { IndexerMetrics } from './indexer-metrics';

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface ApplierOptions {
  indexPrefix: string;
  maxActions: number;
  maxBytes: number;
}

/** Thrown when the consumer is stopping while a write still waits for the engine. */
export class IndexerStoppingError extends Error {
  readonly retryable = true;
  constructor() {
    super('indexer is stopping; the batch will be redelivered');
    this.name = 'IndexerStoppingError';
  }
}

type Decoded = { record: SourceRecord; event: Exclude<ChangeEvent, { kind: 'skip' }> };

interface PendingAction {
  action: BulkAction;
  decoded: Decoded;
  bytes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const RETRIABLE_KAFKA_ERRORS = new Set([
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
]);

/**
 * An outage, not a property of the record: the engine down or throttling (429/5xx), Kafka
 * unreachable. Waiting and retrying loses nothing; dead-lettering would.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const flags = error as { retryable?: unknown; retriable?: unknown; name?: unknown };
  if (error instanceof SearchEngineError) return error.retryable;
  return (
    flags.retryable === true ||
    flags.retriable === true ||
    RETRIABLE_KAFKA_ERRORS.has(String(flags.name))
  );
}

/** Errors that are one record's fault; anything else (stopping, outages) ends the batch. */
function isRecordFailure(error: unknown): boolean {
  return !(error instanceof IndexerStoppingError) && !isRetryable(error);
}

/** The dead-letter reason of a non-retryable failure: the engine's refusal, or a record error. */
function classifyFailure(error: unknown): DeadLetterReason {
  if (error instanceof SearchEngineError) {
    return classifyEngineRejection({
      status: error.statusCode,
      type: error.type,
      reason: error.message,
    });
  }
  return classifyRecordError(error);
}

function tableLabel(table: TableRef): string {
  return `${table.schema}.${table.table}`;
}

/**
 * Applies the change events of one partition, in order, to the search engine. Returns only
 * when every event is either applied, superseded by a newer version, or dead-lettered —
 * so the caller may commit the offsets.
 */
export class ChangeApplier {
  private readonly logger = new Logger(ChangeApplier.name);
  /** Fields already mapped, per alias. */
  private readonly mappedFields = new Map<string, Set<string>>();

  constructor(
    private readonly engine: SearchEngine,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: IndexerMetrics,
    private readonly options: ApplierOptions,
    /** The decoder; replaceable so tests can make it fail in ways real data may one day. */
    private readonly decodeRecord: typeof decodeChangeEvent = decodeChangeEvent,
  ) {}

  async apply(
    records: SourceRecord[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    // Keeps the group membership alive while a write waits on a slow or absent engine.
    const ticker = setInterval(() => void heartbeat().catch(() => undefined), 3000);
    try {
      await this.applyRecords(records, isRunning, heartbeat);
    } finally {
      clearInterval(ticker);
    }
  }

  private async applyRecords(
    records: SourceRecord[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const letters: DeadLetter[] = [];
    /** Tables whose index cannot be created or mapped: their records go straight to letters. */
    const unmappable = new Map<string, DeadLetterReason>();
    let pending: PendingAction[] = [];
    let pendingBytes = 0;

    const flush = async () => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      await this.writeWithRetry(batch, letters, isRunning, heartbeat);
    };

    for (const record of records) {
      let decoded: Decoded | null;
      try {
        decoded = this.decode(record);
      } catch (error) {
        // Whatever the type: one record that cannot be decoded or converted is that record's
        // problem, never the batch's.
        this.deadLetter(letters, record, classifyRecordError(error), tableOfTopic(record.topic));
        continue;
      }
      if (!decoded) continue;
      const { event } = decoded;
      const table = tableLabel(event.table);
      this.metrics.eventsConsumed.inc({
        table,
        op: event.kind === 'upsert' ? event.op : event.kind,
      });
      let action: BulkAction;
      try {
        if (event.kind === 'truncate') {
          await flush();
          await this.retrying(isRunning, heartbeat, () => this.truncate(event.table));
          this.metrics.eventsApplied.inc({ table, op: 'truncate' });
          continue;
        }
        const names = tableIndexNames(this.options.indexPrefix, event.table);
        if (event.kind === 'upsert') {
          const refused = unmappable.get(names.alias);
          if (refused) {
            this.deadLetter(letters, record, refused, table);
            continue;
          }
          try {
            await this.retrying(isRunning, heartbeat, () =>
              this.ensureMapping(event.table, event.columns),
            );
          } catch (error) {
            if (!isRecordFailure(error)) throw error;
            const reason = classifyFailure(error);
            // Every row of the table would be refused the same way: ask the engine once a batch.
            unmappable.set(names.alias, reason);
            this.deadLetter(letters, record, reason, table);
            continue;
          }
          if (Object.values(event.document).some(isUnavailableValue)) {
            // The stored document must reflect every earlier change of this row first.
            await flush();
            await this.retrying(isRunning, heartbeat, () =>
              this.restoreUnchangedToast(names.alias, event),
            );
          }
          action = {
            type: 'index',
            index: names.alias,
            id: event.id,
            version: event.version,
            document: event.document,
          };
        } else {
          action = { type: 'delete', index: names.alias, id: event.id, version: event.version };
        }
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        this.deadLetter(letters, record, classifyFailure(error), table);
        continue;
      }
      const bytes = (record.value?.length ?? 0) + 100;
      if (
        pending.length >= this.options.maxActions ||
        pendingBytes + bytes > this.options.maxBytes
      ) {
        await flush();
      }
      pending.push({ action, decoded, bytes });
      pendingBytes += bytes;
    }
    await flush();
    if (letters.length > 0) {
      await this.retrying(isRunning, heartbeat, () => this.deadLetters.publish(letters));
    }
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

  private deadLetter(
    letters: DeadLetter[],
    record: SourceRecord,
    reason: DeadLetterReason,
    table: string,
  ): void {
    this.logger.warn(
      `dead-lettering ${record.topic}[${record.partition}]@${record.offset} (${reason.class}): ${reason.message}`,
    );
    letters.push({ ...record, reason: reason.message, reasonClass: reason.class, table });
  }

  private async ensureMapping(table: TableRef, columns: ConnectSchema[]): Promise<void> {
    const names = tableIndexNames(this.options.indexPrefix, table);
    const known = this.mappedFields.get(names.alias);
    const missing = columns.filter((column) => !known?.has(column.field ?? ''));
    if (missing.length === 0) return;
    if (!known) {
      await this.engine.ensureTableIndex(names, propertiesFor(columns));
    }
    // The index may predate this process: (re)state the mapping of every column not yet seen.
    try {
      await this.engine.extendMapping(names.alias, propertiesFor(missing));
    } catch (error) {
      if (error instanceof SearchEngineError && error.retryable) throw error;
      this.logger.warn(
        `mapping of ${names.alias} not extended (values stay in _source): ${(error as Error).message}`,
      );
    }
    const fields = known ?? new Set<string>();
    for (const column of missing) fields.add(column.field ?? '');
    this.mappedFields.set(names.alias, fields);
  }

  /**
   * An update that left a TOASTed column unchanged carries a placeholder instead of its value:
   * take the value from the stored document rather than writing the placeholder.
   */
  private async restoreUnchangedToast(alias: string, event: UpsertEvent): Promise<void> {
    const stored = await this.engine.getDocument(alias, event.id);
    for (const [column, value] of Object.entries(event.document)) {
      if (!isUnavailableValue(value)) continue;
      if (stored && column in stored) {
        event.document[column] = stored[column] as DocumentValue;
      } else {
        // Nothing stored to keep (the row's earlier versions never reached the index).
        delete event.document[column];
        this.metrics.toastUnresolved.inc({ table: tableLabel(event.table) });
        this.logger.warn(
          `${tableLabel(event.table)} id ${event.id}: column ${column} unchanged in PostgreSQL but absent from the index; set REPLICA IDENTITY FULL on the table or resync it`,
        );
      }
    }
  }

  private async truncate(table: TableRef): Promise<void> {
    const names = tableIndexNames(this.options.indexPrefix, table);
    try {
      const deleted = await this.engine.deleteAllDocuments(names.alias);
      this.logger.log(`truncate of ${tableLabel(table)}: ${deleted} documents removed`);
    } catch (error) {
      if (error instanceof SearchEngineError && error.statusCode === 404) return;
      throw error;
    }
  }

  private async writeWithRetry(
    batch: PendingAction[],
    letters: DeadLetter[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    let remaining = batch;
    for (let attempt = 0; remaining.length > 0; attempt++) {
      if (attempt > 0) {
        this.metrics.retries.inc();
        await this.backoff(attempt, isRunning, heartbeat);
      }
      const timer = this.metrics.bulkLatency.startTimer();
      let results: BulkItemResult[];
      try {
        results = await this.engine.bulk(remaining.map((p) => p.action));
      } catch (error) {
        if (isRetryable(error)) {
          this.logger.warn(
            `bulk of ${remaining.length} failed, will retry: ${(error as Error).message}`,
          );
          continue;
        }
        // The whole request was refused (413 too large, or a document that breaks the request):
        // find the culprits by halves, down to single documents, which are dead-lettered.
        await this.writeHalves(remaining, error, letters, isRunning, heartbeat);
        return;
      } finally {
        timer();
      }
      const retry: PendingAction[] = [];
      results.forEach((result, i) => {
        const item = remaining[i];
        const table = tableLabel(item.decoded.event.table);
        const op =
          item.decoded.event.kind === 'upsert' ? item.decoded.event.op : item.decoded.event.kind;
        switch (result.outcome) {
          case 'applied':
            this.metrics.eventsApplied.inc({ table, op });
            this.metrics.lastSourceTimestamp.set({ table }, item.decoded.event.sourceTsMs / 1000);
            break;
          case 'stale':
            this.metrics.versionConflicts.inc({ table });
            break;
          case 'retryable':
            retry.push(item);
            break;
          case 'rejected':
            this.deadLetter(
              letters,
              item.decoded.record,
              classifyEngineRejection({
                status: result.status,
                reason: result.reason ?? `status ${result.status}`,
              }),
              table,
            );
            break;
        }
      });
      remaining = retry;
    }
  }

  private async writeHalves(
    batch: PendingAction[],
    error: unknown,
    letters: DeadLetter[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    if (batch.length === 1) {
      const [item] = batch;
      this.deadLetter(
        letters,
        item.decoded.record,
        classifyFailure(error),
        tableLabel(item.decoded.event.table),
      );
      return;
    }
    this.logger.warn(
      `bulk of ${batch.length} refused (${(error as Error).message}); retrying in halves`,
    );
    // In order: within a partition a later change of a row must not be written first.
    const half = Math.ceil(batch.length / 2);
    await this.writeWithRetry(batch.slice(0, half), letters, isRunning, heartbeat);
    await this.writeWithRetry(batch.slice(half), letters, isRunning, heartbeat);
  }

  private async retrying(
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
    work: () => Promise<void>,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.backoff(attempt, isRunning, heartbeat);
      try {
        return await work();
      } catch (error) {
        if (!isRetryable(error)) throw error;
        this.metrics.retries.inc();
        this.logger.warn(`retrying after: ${(error as Error).message}`);
      }
    }
  }

  private async backoff(
    attempt: number,
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const delay = Math.min(30_000, 200 * 2 ** Math.min(attempt, 8));
    for (let waited = 0; waited < delay; waited += 1000) {
      if (!isRunning()) throw new IndexerStoppingError();
      await heartbeat();
      await sleep(Math.min(1000, delay - waited));
    }
  }
}

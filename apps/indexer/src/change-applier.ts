import { Logger } from '@nestjs/common';
import {
  ChangeEventDecodeError,
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
  type SearchEngine,
} from '@searchsync/search-engine';
import type { DeadLetter, DeadLetterPublisher } from './dead-letter-publisher';
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
      const decoded = this.decode(record, letters);
      if (!decoded) continue;
      const { event } = decoded;
      this.metrics.eventsConsumed.inc({
        table: tableLabel(event.table),
        op: event.kind === 'upsert' ? event.op : event.kind,
      });
      if (event.kind === 'truncate') {
        await flush();
        await this.retrying(isRunning, heartbeat, () => this.truncate(event.table));
        this.metrics.eventsApplied.inc({ table: tableLabel(event.table), op: 'truncate' });
        continue;
      }
      const names = tableIndexNames(this.options.indexPrefix, event.table);
      let action: BulkAction;
      if (event.kind === 'upsert') {
        await this.retrying(isRunning, heartbeat, () =>
          this.ensureMapping(event.table, event.columns),
        );
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

  private decode(record: SourceRecord, letters: DeadLetter[]): Decoded | null {
    try {
      const event = decodeChangeEvent(record.key, record.value);
      return event.kind === 'skip' ? null : { record, event };
    } catch (error) {
      if (!(error instanceof ChangeEventDecodeError)) throw error;
      if (error instanceof TableWithoutKeyError) {
        this.metrics.tablesWithoutKey.set({ table: error.table }, 1);
      }
      this.logger.warn(
        `dead-lettering ${record.topic}[${record.partition}]@${record.offset}: ${error.message}`,
      );
      letters.push({ ...record, reason: error.message, kind: 'decode' });
      return null;
    }
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
      let results;
      try {
        results = await this.engine.bulk(remaining.map((p) => p.action));
      } catch (error) {
        if (error instanceof SearchEngineError && error.retryable) {
          this.logger.warn(`bulk of ${remaining.length} failed, will retry: ${error.message}`);
          continue;
        }
        throw error;
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
            letters.push({
              ...item.decoded.record,
              reason: result.reason ?? 'rejected',
              kind: 'rejected',
            });
            break;
        }
      });
      remaining = retry;
    }
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
        const retryable = (error as { retryable?: boolean }).retryable === true;
        if (!retryable) throw error;
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

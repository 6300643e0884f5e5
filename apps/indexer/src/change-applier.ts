import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  DEAD_LETTER_HEADERS,
  TableWithoutKeyError,
  decodeChangeEvent,
  fieldMapping,
  isUnavailableValue,
  sourceColumnType,
  propertiesFor,
  vectorColumnsOf,
  type ChangeEvent,
  type ConnectSchema,
  type DocumentValue,
  type TableRef,
  type UpsertEvent,
} from '@searchsync/change-events';
import {
  SearchEngineError,
  buildingIndex,
  isMissingIndex,
  TABLE_INDEX_SETTINGS,
  tableIndexNames,
  type BulkAction,
  type BulkItemResult,
  type SearchEngine,
  type VectorColumn,
  vectorOf,
} from '@searchsync/search-engine';
import {
  EMPTY_SEARCHSYNC_CONFIG,
  isColumnVisible,
  mappingFingerprint,
  tableSettings,
  type SearchsyncConfig,
  type TableSettings,
} from '@searchsync/config';
import type { IHeaders } from 'kafkajs';
import type { BatchOrder } from './batch-pipeline';
import { tableOfTopic, type DeadLetter, type DeadLetterPublisher } from './dead-letter-publisher';
import {
  classifyEngineRejection,
  classifyRecordError,
  persistentEngineFailure,
  type DeadLetterReason,
} from './dead-letter-reason';
import { engineOutage, isDocumentRefusal, itemOutage, type EngineOutage } from './engine-failure';
import type { IndexerMetrics } from './indexer-metrics';
import { RebuildTargets } from './rebuild-targets';
import { WriteBlocks, type BlockWaiter, type WriteStatus } from './write-status';

export interface SourceRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The Kafka record's headers (a replay by the admin names the dead letter it re-drives). */
  headers?: IHeaders;
}

/** A batch applied on its own: nothing earlier of its partition is in flight. */
const ALONE: BatchOrder = {
  earlierIssued: () => Promise.resolve(),
  issued: () => undefined,
  earlierLanded: () => Promise.resolve(),
};

export interface ApplierOptions {
  indexPrefix: string;
  maxActions: number;
  maxBytes: number;
  /** Bulk requests in flight at once per batch (1: each waits for the one before). */
  bulkConcurrency?: number;
  /** First retry delay; doubles per attempt up to 30 s. */
  retryDelayMs?: number;
  /**
   * Attempts after which a document the engine keeps failing with a 5xx, while it accepts other
   * writes, is dead-lettered instead of stalling its partition.
   */
  itemAttempts?: number;
  /** The table configuration in force (searchsync.yaml); read at each use, so reloads apply. */
  config?: () => SearchsyncConfig;
}

/**
 * The batch is no longer ours to finish: the consumer is stopping, or a heartbeat failed (a
 * rebalance, a lost membership). Nothing of it is committed; it is delivered again.
 */
export class IndexerStoppingError extends Error {
  readonly retryable = true;
  constructor(message = 'indexer is stopping; the batch will be redelivered') {
    super(message);
    this.name = 'IndexerStoppingError';
  }
}

/**
 * A write of the batch failed for a reason that is nobody's record: the batch fails as a whole
 * (no offset is committed) instead of anything being dropped.
 */
export class BatchAbortedError extends Error {
  constructor(readonly failure: unknown) {
    super(
      `batch aborted, nothing committed: ${failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure)}`,
    );
    this.name = 'BatchAbortedError';
  }
}

/**
 * The engine refused to create a table's index for these columns (e.g. a field type it does not
 * know): every record with the same columns would be refused alike.
 */
class TableIndexRefusedError extends Error {
  constructor(readonly engineError: SearchEngineError) {
    super(engineError.message);
    this.name = 'TableIndexRefusedError';
  }
}

/**
 * A table's index is still missing right after we created it (deleted again meanwhile, e.g. by
 * the admin for a table dropped and re-created): retried like an outage, never the record's.
 */
class TableIndexMissingError extends Error {
  readonly retryable = true;
  constructor(alias: string) {
    super(`index of ${alias} missing right after it was created; retrying`);
    this.name = 'TableIndexMissingError';
  }
}

type Decoded = { record: SourceRecord; event: Exclude<ChangeEvent, { kind: 'skip' }> };

interface PendingAction {
  action: BulkAction;
  decoded: Decoded;
  bytes: number;
  /**
   * For the same change written to a generation being rebuilt, the table's live alias: such a
   * copy is not counted as applied.
   */
  copyOf?: string;
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

/** Kafka's own failures (a heartbeat refused during a rebalance, a broker error) are never a record's. */
function isKafkaError(error: unknown): boolean {
  return error instanceof Error && error.name.startsWith('KafkaJS');
}

/** Errors that are one record's fault; anything else (stopping, outages, Kafka) ends the batch. */
export function isRecordFailure(error: unknown): boolean {
  return !(
    error instanceof IndexerStoppingError ||
    error instanceof BatchAbortedError ||
    isKafkaError(error) ||
    isRetryable(error) ||
    engineOutage(error) !== null
  );
}

/** The dead-letter reason of a non-retryable failure: the engine's refusal, or a record error. */
function classifyFailure(error: unknown): DeadLetterReason {
  if (error instanceof TableIndexRefusedError) return classifyFailure(error.engineError);
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

/**
 * Both keys below are asked for every event. The decoder hands out one schema object per
 * distinct schema text (every row of a table version shares it), so they are computed once per
 * schema; schemas are never modified after decoding.
 */
const columnKeys = new WeakMap<ConnectSchema, string>();
const NO_VECTORS: readonly VectorColumn[] = Object.freeze([]);
const vectorPlans = new WeakMap<
  ConnectSchema[],
  { fields: TableSettings['fields']; vectors: readonly VectorColumn[] }
>();
const fingerprints = new WeakMap<ConnectSchema[], string>();

/**
 * A column as far as its index mapping goes: its name and the mapping its source type gives. A
 * column whose type changed is then a column not mapped yet, and the engine says whether the
 * index can take its new mapping (or the table needs a rebuild).
 */
function mappedColumnKey(column: ConnectSchema): string {
  let key = columnKeys.get(column);
  if (key === undefined) {
    key = `${column.field ?? ''}\u0000${JSON.stringify(fieldMapping(column))}`;
    columnKeys.set(column, key);
  }
  return key;
}

/** Identifies a table's column set: an ALTER TABLE makes a refused index worth asking again. */
function columnsFingerprint(columns: ConnectSchema[]): string {
  let fingerprint = fingerprints.get(columns);
  if (fingerprint === undefined) {
    fingerprint = createHash('sha1').update(JSON.stringify(columns)).digest('hex');
    fingerprints.set(columns, fingerprint);
  }
  return fingerprint;
}

function headerText(value: IHeaders[string]): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Applies the change events of one partition, in order, to the search engine. Returns only
 * when every event is either applied, superseded by a newer version, or dead-lettered —
 * so the caller may commit the offsets. Throws when that cannot be said of the whole batch.
 */
export class ChangeApplier {
  private readonly logger = new Logger(ChangeApplier.name);
  /** Columns already mapped (mappedColumnKey), per alias or building alias. */
  private readonly mappedFields = new Map<string, Set<string>>();
  /** Writes waiting on an engine outage, for /health. */
  readonly writes: WriteBlocks;
  /** Bulk answers with at least one accepted item: evidence that the engine takes writes. */
  private acceptedWrites = 0;
  /** Generations being rebuilt, written to as well. */
  private readonly rebuilds: RebuildTargets;
  /** Tables already flagged for a rebuild, by alias and column set. */
  private readonly flagged = new Set<string>();
  /** Vector columns already reported as unable to hold vectors. */
  private readonly vectorWarnings = new Set<string>();

  constructor(
    private readonly engine: SearchEngine,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly metrics: IndexerMetrics,
    private readonly options: ApplierOptions,
    /** The decoder; replaceable so tests can make it fail in ways real data may one day. */
    private readonly decodeRecord: typeof decodeChangeEvent = decodeChangeEvent,
  ) {
    this.writes = new WriteBlocks((blocked) => metrics.writesBlocked.set(blocked ? 1 : 0));
    this.rebuilds = new RebuildTargets(engine, options.indexPrefix);
  }

  /** The table's vector columns for this schema; computed once per schema (see columnKeys). */
  private vectorColumns(event: UpsertEvent): readonly VectorColumn[] {
    const fields = this.settingsOf(event.table).fields;
    // Most tables configure no vector: nothing to compute (their settings may be fresh objects).
    if (!Object.values(fields).some((field) => field.type === 'vector')) return NO_VECTORS;
    let byFields = vectorPlans.get(event.columns);
    if (!byFields || byFields.fields !== fields) {
      byFields = { fields, vectors: vectorColumnsOf(event.columns, fields) };
      vectorPlans.set(event.columns, byFields);
      this.warnVectorsNotHeld(event, fields, byFields.vectors);
    }
    return byFields.vectors;
  }

  /** A column configured as a vector that cannot hold one is said once, not ignored. */
  private warnVectorsNotHeld(
    event: UpsertEvent,
    fields: TableSettings['fields'],
    vectors: readonly VectorColumn[],
  ): void {
    for (const column of event.columns) {
      const name = column.field ?? '';
      if (fields[name]?.type !== 'vector' || vectors.some((v) => v.column === name)) continue;
      const key = `${tableLabel(event.table)}.${name}\u0000${sourceColumnType(column) ?? column.type}`;
      if (this.vectorWarnings.has(key)) continue;
      this.vectorWarnings.add(key);
      this.logger.warn(
        `${tableLabel(event.table)}.${name} is configured as a vector but its type (${sourceColumnType(column) ?? column.type}) holds no vectors: it is indexed as its type maps it — use an array of numbers (real[], double precision[]) or a pgvector column`,
      );
    }
  }

  /** Rows whose vector value is none are indexed all the same; they are counted, by reason. */
  private countVectorsNotIndexed(
    event: UpsertEvent,
    vectors: readonly VectorColumn[],
    table: string,
  ): void {
    for (const vector of vectors) {
      const found = vectorOf(event.document[vector.column], vector);
      if (found && 'problem' in found) {
        this.metrics.vectorsNotIndexed.inc({ table, column: vector.column, reason: found.problem });
      }
    }
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
  ): Promise<void> {
    // Keeps the group membership alive while a write waits on a slow or absent engine.
    const ticker = setInterval(() => void heartbeat().catch(() => undefined), 3000);
    try {
      // Before any record: a batch must know every generation created before it was fetched.
      const vanished = await this.retrying(isRunning, heartbeat, () =>
        this.rebuilds.refreshIfStale(),
      );
      for (const target of vanished) this.mappedFields.delete(target);
      await this.applyRecords(records, isRunning, heartbeat, order);
    } finally {
      clearInterval(ticker);
    }
  }

  private async applyRecords(
    records: SourceRecord[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
    order: BatchOrder,
  ): Promise<void> {
    const letters: DeadLetter[] = [];
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
      const write = this.writeWithRetry(batch, letters, isRunning, heartbeat);
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
          await this.retrying(isRunning, heartbeat, () => this.truncate(event.table));
          for (const target of this.rebuilds.buildingFor(
            tableIndexNames(this.options.indexPrefix, event.table).alias,
          )) {
            await this.retrying(isRunning, heartbeat, () =>
              this.truncateTarget(target, event.table),
            );
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
            this.deadLetter(letters, record, refused, table);
            continue;
          }
          try {
            await this.retrying(isRunning, heartbeat, () =>
              this.ensureMapping(event.table, event.columns),
            );
          } catch (error) {
            if (!(error instanceof TableIndexRefusedError)) throw error;
            const reason = classifyFailure(error);
            // Every row with these columns would be refused the same way: ask once a batch.
            unmappable.set(refusedKey, reason);
            this.deadLetter(letters, record, reason, table);
            continue;
          }
          unchangedToast = Object.keys(event.document).filter((column) =>
            isUnavailableValue(event.document[column]),
          );
          if (unchangedToast.length > 0) {
            // The stored document must reflect every earlier change of this row first.
            // flush() fails as the batch's (never this record's): the outer catch rethrows it.
            await flush();
            await this.retrying(isRunning, heartbeat, () =>
              this.restoreUnchangedToast(names.alias, event),
            );
          }
          // Serialized here, per record, so that a value the engine client could not serialize
          // is this record's dead letter; a bulk request failing later is then never the data's.
          bytes += Buffer.byteLength(JSON.stringify(event.document));
          const vectors = this.vectorColumns(event);
          action = {
            type: 'index',
            index: names.alias,
            id: event.id,
            version: event.version,
            document: event.document,
            ...(vectors.length > 0 ? { vectors } : {}),
          };
          if (vectors.length > 0) this.countVectorsNotIndexed(event, vectors, table);
        } else {
          action = { type: 'delete', index: names.alias, id: event.id, version: event.version };
        }
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        this.deadLetter(letters, record, classifyFailure(error), table);
        continue;
      }
      const copies: PendingAction[] = [];
      try {
        for (const target of this.rebuilds.buildingFor(action.index)) {
          if (event.kind === 'upsert') {
            const mapped = await this.retrying(isRunning, heartbeat, () =>
              this.ensureCopyMapping(target, event.table, event.columns),
            );
            if (!mapped) continue;
          }
          copies.push({
            action: await this.copyAction(action, target, unchangedToast, isRunning, heartbeat),
            decoded,
            bytes,
            copyOf: action.index,
          });
        }
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        this.deadLetter(letters, record, classifyFailure(error), table);
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
    if (letters.length > 0) {
      // publish() removes each letter once sent: a retry after a failure sends only the rest.
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
    // A change refused by the live index and by a generation being rebuilt is one dead letter.
    if (
      letters.some(
        (l) =>
          l.topic === record.topic &&
          l.partition === record.partition &&
          l.offset === record.offset,
      )
    ) {
      return;
    }
    this.logger.warn(
      `dead-lettering ${record.topic}[${record.partition}]@${record.offset} (${reason.class}): ${reason.message}`,
    );
    // A replay that fails again says which dead letter it re-drove.
    const replayOf = headerText(record.headers?.[DEAD_LETTER_HEADERS.replayOf]);
    letters.push({
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
      value: record.value,
      reason: reason.message,
      reasonClass: reason.class,
      table,
      ...(replayOf !== undefined ? { replayOf } : {}),
    });
  }

  /**
   * The table's index was found missing (deleted by the admin for a dropped table, or by an
   * operator): what we knew of its mapping is void, and the next write creates it again.
   */
  private forgetTable(alias: string): void {
    if (this.mappedFields.delete(alias)) {
      this.logger.warn(`index of ${alias} is gone; it is created again for the next writes`);
    }
  }

  private async ensureMapping(table: TableRef, columns: ConnectSchema[]): Promise<void> {
    const names = tableIndexNames(this.options.indexPrefix, table);
    const known = this.mappedFields.get(names.alias);
    const missing = columns.filter((column) => !known?.has(mappedColumnKey(column)));
    if (missing.length === 0) return;
    const settings = this.settingsOf(table);
    if (!known) {
      // A schema we cannot map is this record's problem (thrown as is), not the table's.
      const properties = propertiesFor(columns, settings.fields);
      try {
        await this.engine.ensureTableIndex(names, properties, {
          index: settings.index,
          meta: { config: mappingFingerprint(settings) },
        });
      } catch (error) {
        if (
          error instanceof SearchEngineError &&
          !error.retryable &&
          engineOutage(error) === null
        ) {
          throw new TableIndexRefusedError(error);
        }
        throw error;
      }
    }
    // The index may predate this process: (re)state the mapping of every column not yet seen.
    try {
      await this.engine.extendMapping(names.alias, propertiesFor(missing, settings.fields));
    } catch (error) {
      if (isMissingIndex(error)) {
        if (!known) throw new TableIndexMissingError(names.alias);
        // Our cache outlived the index: create it (with every column) and map again.
        this.forgetTable(names.alias);
        return this.ensureMapping(table, columns);
      }
      if (isRetryable(error) || engineOutage(error)) throw error;
      this.logger.warn(
        `mapping of ${names.alias} not extended (values stay in _source): ${describe(error)}`,
      );
      await this.flagForRebuild(names.alias, columns, missing, error);
    }
    const fields = known ?? new Set<string>();
    for (const column of missing) fields.add(mappedColumnKey(column));
    this.mappedFields.set(names.alias, fields);
  }

  /**
   * A column whose type changed (or any mapping the live index refuses) cannot be fixed in
   * place: the index is marked, and the admin rebuilds it as a new generation mapped from the
   * current schema. Values stay in `_source` (ignore_malformed) meanwhile; nothing is dropped.
   */
  private async flagForRebuild(
    alias: string,
    columns: ConnectSchema[],
    refused: ConnectSchema[],
    error: unknown,
  ): Promise<void> {
    const key = `${alias}\u0000${columnsFingerprint(columns)}`;
    if (this.flagged.has(key)) return;
    const reason = `the index refused the mapping of a changed column (${describe(error)}); a rebuild maps it from the current schema`;
    try {
      // The PostgreSQL types the event carried: a replay of events older than an ALTER TABLE
      // asks for the old types, and the admin, comparing with PostgreSQL, then rebuilds nothing.
      const types = Object.fromEntries(
        refused.map((column) => [column.field ?? '', sourceColumnType(column) ?? null]),
      );
      await this.engine.setTableMeta(alias, {
        needsRebuild: { reason, at: new Date().toISOString(), columns: types },
      });
      this.flagged.add(key);
      this.logger.warn(`${alias} marked for a rebuild: ${reason}`);
    } catch (flagError) {
      // Asked again with the next record of these columns.
      this.logger.warn(`${alias} could not be marked for a rebuild: ${describe(flagError)}`);
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
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<BulkAction> {
    if (action.type === 'delete') return { ...action, index: buildingIndex(target) };
    if (unchangedToast.length === 0) return { ...action, index: target };
    const stored = await this.retrying(isRunning, heartbeat, () =>
      this.engine.getDocument(target, action.id).catch((error: unknown) => {
        if (isMissingIndex(error)) return null;
        throw error;
      }),
    );
    const document = { ...action.document };
    for (const column of unchangedToast) {
      if (stored && column in stored) document[column] = stored[column];
    }
    return { ...action, index: target, document };
  }

  /**
   * Maps a generation being rebuilt from the change's own columns, as a new table's index is.
   * False when that generation is gone (the rebuild ended or was abandoned).
   */
  private async ensureCopyMapping(
    target: string,
    table: TableRef,
    columns: ConnectSchema[],
  ): Promise<boolean> {
    const known = this.mappedFields.get(target);
    const missing = columns.filter((column) => !known?.has(mappedColumnKey(column)));
    if (missing.length === 0) return true;
    try {
      await this.engine.extendMapping(
        target,
        propertiesFor(missing, this.settingsOf(table).fields),
      );
    } catch (error) {
      if (isMissingIndex(error)) {
        this.rebuilds.forget(target);
        this.mappedFields.delete(target);
        return false;
      }
      if (isRetryable(error) || engineOutage(error)) throw error;
      // The generation would go live without these fields searchable (e.g. an analyzer the
      // engine lacks): the rebuild must fail, not swap it in. The admin reads this before the swap.
      const reason = `the engine refused the mapping of ${missing.map((c) => c.field ?? '').join(', ')}: ${describe(error)}`;
      this.logger.warn(`${target}: ${reason}; the rebuild filling it will fail`);
      // A failure to say so is retried with the whole mapping (the caller retries outages).
      try {
        await this.engine.setTableMeta(target, {
          mappingRefused: { reason, at: new Date().toISOString() },
        });
      } catch (flagError) {
        if (!isMissingIndex(flagError)) throw flagError;
        this.rebuilds.forget(target);
        this.mappedFields.delete(target);
        return false;
      }
    }
    const fields = known ?? new Set<string>();
    for (const column of missing) fields.add(mappedColumnKey(column));
    this.mappedFields.set(target, fields);
    return true;
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
      this.forgetTable(alias);
      await this.ensureMapping(event.table, event.columns);
      stored = null;
    }
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
        this.forgetTable(names.alias);
        return;
      }
      this.logger.log(
        `truncate of ${tableLabel(table)}: ${replaced.replaced.join(', ')} replaced by the empty ${replaced.index}`,
      );
    } catch (error) {
      // No index, nothing to remove; the next write of the table creates it again.
      if (isMissingIndex(error)) {
        this.forgetTable(names.alias);
        return;
      }
      throw error;
    }
  }

  private async writeWithRetry(
    batch: PendingAction[],
    letters: DeadLetter[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const waiter = this.writes.waiter('bulk');
    try {
      await this.writeUntilDone(batch, letters, isRunning, heartbeat, waiter);
    } finally {
      waiter.done();
    }
  }

  private async writeUntilDone(
    batch: PendingAction[],
    letters: DeadLetter[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
    waiter: BlockWaiter,
  ): Promise<void> {
    const itemAttempts = this.options.itemAttempts ?? 10;
    /** 5xx answers per document, and the accepted-writes count at its first one. */
    const itemFailures = new Map<PendingAction, { attempts: number; acceptedBefore: number }>();
    /** Times each document found its table's index missing. */
    const missingIndex = new Map<PendingAction, number>();
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
        if (isDocumentRefusal(error)) {
          // Too large, or a document that breaks the request: find the culprits by halves,
          // down to single documents, which are dead-lettered.
          waiter.done();
          await this.writeHalves(remaining, error, letters, isRunning, heartbeat);
          return;
        }
        // Not about the documents (an outage, credentials, a block, a client failure, or an
        // answer we cannot place): splitting would dead-letter every one of them. Wait instead.
        const outage = engineOutage(error) ?? {
          transient: false,
          reason: `bulk request refused: ${describe(error)}`,
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
        const table = tableLabel(item.decoded.event.table);
        const op =
          item.decoded.event.kind === 'upsert' ? item.decoded.event.op : item.decoded.event.kind;
        if (item.copyOf && (result.outcome === 'applied' || result.outcome === 'stale')) return;
        if (item.copyOf && result.outcome === 'missing_index') {
          if (item.action.index === item.copyOf) return;
          // The generation was swapped in or abandoned. Swapped in between this bulk's live
          // write (which then reached the old generation) and the copy: the copy must land in
          // the new generation, now the live alias. Abandoned: the same version written again.
          this.rebuilds.forget(item.action.index);
          this.mappedFields.delete(item.action.index);
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
          this.deadLetter(
            letters,
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
          this.deadLetter(
            letters,
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
      const recreated = await this.recreateIndices(recreate, letters, isRunning, heartbeat);
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
    letters: DeadLetter[],
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<PendingAction[]> {
    const forgotten = new Set<string>();
    const again: PendingAction[] = [];
    for (const item of items) {
      const { event } = item.decoded;
      if (!forgotten.has(item.action.index)) {
        forgotten.add(item.action.index);
        this.forgetTable(item.action.index);
      }
      if (event.kind !== 'upsert') {
        again.push(item);
        continue;
      }
      try {
        await this.retrying(isRunning, heartbeat, () =>
          this.ensureMapping(event.table, event.columns),
        );
      } catch (error) {
        if (!(error instanceof TableIndexRefusedError)) throw error;
        this.deadLetter(
          letters,
          item.decoded.record,
          classifyFailure(error),
          tableLabel(event.table),
        );
        continue;
      }
      again.push(item);
    }
    return again;
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
    this.logger.warn(`bulk of ${batch.length} refused (${describe(error)}); retrying in halves`);
    // In order: within a partition a later change of a row must not be written first.
    const half = Math.ceil(batch.length / 2);
    await this.writeWithRetry(batch.slice(0, half), letters, isRunning, heartbeat);
    await this.writeWithRetry(batch.slice(half), letters, isRunning, heartbeat);
  }

  /**
   * Runs `work` until it succeeds or fails for a reason that is not an outage; outages (engine
   * or Kafka) are waited out, however long, while the batch is still ours.
   */
  private async retrying<T>(
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
    work: () => Promise<T>,
  ): Promise<T> {
    const waiter = this.writes.waiter('call');
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) await this.backoff(attempt, isRunning, heartbeat);
        try {
          return await work();
        } catch (error) {
          if (error instanceof IndexerStoppingError) throw error;
          const outage =
            engineOutage(error) ??
            (isRetryable(error) ? { transient: true, reason: describe(error) } : null);
          if (!outage) throw error;
          waiter.failed(outage);
          this.metrics.retries.inc();
          this.logger.warn(`retrying after: ${outage.reason}`);
        }
      }
    } finally {
      waiter.done();
    }
  }

  private async backoff(
    attempt: number,
    isRunning: () => boolean,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const first = this.options.retryDelayMs ?? 200;
    const delay = Math.min(30_000, first * 2 ** Math.min(attempt, 8));
    let waited = 0;
    do {
      if (!isRunning()) throw new IndexerStoppingError();
      await heartbeat().catch((error: unknown) => {
        // A rebalance is under way or the membership is lost: the batch is no longer ours, so
        // it ends here uncommitted (and is redelivered) — never as a failure of some record.
        this.logger.warn(`heartbeat failed while waiting to retry: ${describe(error)}`);
        throw new IndexerStoppingError(
          `heartbeat failed (${describe(error)}); the batch will be redelivered`,
        );
      });
      const step = Math.min(1000, delay - waited);
      if (step > 0) await sleep(step);
      waited += Math.max(step, 1);
    } while (waited < delay);
  }
}

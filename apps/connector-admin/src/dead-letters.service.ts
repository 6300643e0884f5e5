import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  DEAD_LETTER_HEADERS,
  decodeChangeEvent,
  type ChangeEvent,
} from '@searchsync/change-events';
import { sleep, waitUntil } from '@searchsync/retry';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ConfigResourceTypes,
  ConfigSource,
  type Admin,
  type Consumer,
  type IHeaders,
  type Producer,
} from 'kafkajs';
import { Counter } from 'prom-client';
import { ADMIN_CONFIG, type AdminConfig } from './admin-config';
import { AdminMetrics } from './admin-metrics';
import { AdminBadRequestError } from './admin.errors';
import {
  DeadLetterLedger,
  type DeadLetterPage,
  type DeadLetterView,
  type SelectedLetters,
} from './dead-letter-ledger';
import {
  REASON_CLASSES,
  deadLetterId,
  parseDeadLetter,
  parseDeadLetterId,
  parseResolution,
  qualifiedTable,
  type DeadLetterEntry,
  type DeadLetterStatus,
  type ReasonClass,
  type RecordPosition,
  type Resolution,
  type ResolutionStatus,
} from './dead-letter-record';
import { DeadLetterFetchError, DeadLettersNotReadError } from './dead-letters.errors';
import { Infrastructure } from './infrastructure.service';
import { TableCatalog, type TableColumns } from './table-catalog';

export const MAX_PAGE = 1000;
export const MAX_OPERATION = 1000;

/** Body of `POST /v1/dead-letters/replay|discard`, as received. */
export interface OperationRequest {
  ids?: unknown;
  table?: unknown;
  reason?: unknown;
  all?: unknown;
  limit?: unknown;
  by?: unknown;
  note?: unknown;
}

export interface OperationResult {
  action: ResolutionStatus;
  /** Dead letters acted on. */
  done: { id: string; table: string | null; replayedTo?: RecordPosition }[];
  /** Dead letters selected by id that were not acted on, and why. */
  skipped: { id: string; why: string }[];
  /** Unresolved dead letters matching the selection beyond `limit`: call again. */
  remaining: number;
}

export interface ListRequest {
  table?: string;
  reason?: string;
  status?: string;
  limit?: string;
  after?: string;
}

export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
}

/** A record to read back: `id` is the dead letter it is read for. */
interface WantedRecord {
  id: string;
  partition: number;
  offset: string;
}

/** Whether a row still exists could not be found out; the message says why. */
export class RowCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RowCheckError';
  }
}

/** Looks rows up in PostgreSQL by document id. */
export interface RowLookup {
  /** Whether the row is there; throws RowCheckError when that cannot be told. */
  exists(reference: string, id: string): Promise<boolean>;
}

export type RowQuery = (sql: string, values: unknown[]) => Promise<{ rowCount: number | null }>;

/** Row lookups of one replay: each table is described once. */
export class PostgresRowLookup implements RowLookup {
  private readonly tables = new Map<string, Promise<TableColumns>>();

  constructor(
    private readonly catalog: Pick<TableCatalog, 'resolve'>,
    private readonly query: RowQuery,
  ) {}

  async exists(reference: string, id: string): Promise<boolean> {
    let described = this.tables.get(reference);
    if (!described) {
      described = this.catalog.resolve(reference);
      described.catch(() => undefined);
      this.tables.set(reference, described);
    }
    let table: TableColumns;
    try {
      table = await described;
    } catch (error) {
      throw new RowCheckError(`table ${reference} not described: ${(error as Error).message}`);
    }
    if (table.primaryKey.length === 0) {
      throw new RowCheckError(`table ${reference} has no primary key to look the row up by`);
    }
    const values = keyValuesOf(id, table.primaryKey.length);
    if (!values) {
      throw new RowCheckError(
        `document id ${id} does not fit the primary key of ${reference} (${table.primaryKey.join(', ')})`,
      );
    }
    const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const columns = table.primaryKey.map((name, i) => {
      const type = table.columns.find((c) => c.name === name)?.sqlType ?? 'text';
      return { column: ident(name), param: `$${i + 1}::${type}` };
    });
    const sql = `select 1 from ${ident(table.schema)}.${ident(table.table)} where (${columns.map((c) => c.column).join(', ')}) = (${columns.map((c) => c.param).join(', ')}) limit 1`;
    try {
      const { rowCount } = await this.query(sql, values);
      return (rowCount ?? 0) > 0;
    } catch (error) {
      // A key that does not cast, a table altered meanwhile, PostgreSQL unreachable, …
      throw new RowCheckError(`row of ${reference} not looked up: ${(error as Error).message}`);
    }
  }
}

/**
 * Why a record must not be replayed, or null when it may. Replaying is only safe for what the
 * indexer applies versioned: an upsert whose row still exists (once the engine has forgotten a
 * delete, `index.gc_deletes`, an old upsert of a deleted row would bring the document back)
 * and a delete. When that cannot be told, the record is not replayed: it stays unresolved.
 */
export async function whyNotReplay(record: RawRecord, rows: RowLookup): Promise<string | null> {
  let event: ChangeEvent;
  try {
    event = decodeChangeEvent(record.key, record.value);
  } catch (error) {
    return `it cannot be decoded (${(error as Error).message}), so whether its row still exists cannot be checked and a replay could bring a deleted row back; resync the table, then discard it`;
  }
  if (event.kind === 'truncate') {
    return 'it is a truncate, which deletes every document of the table: replaying an old one would delete documents written since; resync the table instead, then discard it';
  }
  if (event.kind !== 'upsert') return null;
  const reference = `${event.table.schema}.${event.table.table}`;
  try {
    if (await rows.exists(reference, event.id)) return null;
  } catch (error) {
    if (!(error instanceof RowCheckError)) throw error;
    return `whether its row still exists cannot be checked (${error.message}), and a replay could bring a deleted row back; try again once that is fixed, or resync the table and discard it`;
  }
  return 'the row is no longer in PostgreSQL (deleted since): replaying its old change would bring it back; discard it';
}

/**
 * The record a dead letter stands for: the dead letter itself, or — when the indexer left the
 * value out because it did not fit the dead-letter topic — the original in its source topic.
 * A string says why there is none.
 */
export function originalOf(
  entry: DeadLetterEntry,
  letter: RawRecord | undefined,
  originals: Map<string, RawRecord>,
): RawRecord | string {
  if (!letter) return 'no longer in the dead-letter topic (retention)';
  if (letter.value !== null) return letter;
  const source = entry.source;
  const original = originals.get(entry.id);
  const where = source ? source.topic : 'its source topic';
  if (!original) return `the original is no longer in ${where}; resync the table`;
  if (letter.key !== null && (original.key === null || !original.key.equals(letter.key))) {
    // The topic was recreated and the offset now holds another record.
    return `the record at ${where} partition ${source?.partition} offset ${source?.offset} is not the original (another key); resync the table`;
  }
  return original;
}

/** The dead letters that may be replayed, each with the record to send; the others with why. */
export async function planReplay(
  entries: DeadLetterEntry[],
  letters: Map<string, RawRecord>,
  originals: Map<string, RawRecord>,
  rows: RowLookup,
): Promise<{
  ready: { entry: DeadLetterEntry; record: RawRecord }[];
  skipped: { id: string; why: string }[];
}> {
  const ready: { entry: DeadLetterEntry; record: RawRecord }[] = [];
  const skipped: { id: string; why: string }[] = [];
  for (const entry of entries) {
    const record = originalOf(entry, letters.get(entry.id), originals);
    const why = typeof record === 'string' ? record : await whyNotReplay(record, rows);
    if (why !== null) skipped.push({ id: entry.id, why });
    else if (typeof record !== 'string') ready.push({ entry, record });
  }
  return { ready, skipped };
}

const READY_TIMEOUT_MS = 10_000;
const FETCH_TIMEOUT_MS = 30_000;

/** Key values (PostgreSQL input text) from a document id: the id itself, or a JSON array. */
function keyValuesOf(id: string, keyCount: number): (string | null)[] | null {
  if (keyCount === 1) return [id];
  try {
    const parsed = JSON.parse(id) as unknown;
    if (!Array.isArray(parsed) || parsed.length !== keyCount) return null;
    return parsed.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)));
  } catch {
    return null;
  }
}

function reasonClassOf(value: unknown): ReasonClass | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && (REASON_CLASSES as readonly string[]).includes(value)) {
    return value as ReasonClass;
  }
  throw new AdminBadRequestError(`reason must be one of ${REASON_CLASSES.join(', ')}`);
}

function tableOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !/^[^\s]{1,200}$/.test(value)) {
    throw new AdminBadRequestError('table must be `table` or `schema.table`');
  }
  return qualifiedTable(value);
}

function boundedInt(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new AdminBadRequestError(`${name} must be an integer from 1 to ${max}`);
  }
  return n;
}

function shortText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > 200) {
    throw new AdminBadRequestError(`${name} must be a string of at most 200 characters`);
  }
  return value;
}

/**
 * Dead-letter operations: list, replay, discard. The dead-letter topic is the record of what
 * failed; what was done about each record lives in a compacted resolutions topic (key
 * `<partition>:<offset>` of the dead letter), so every admin replica and every restart sees
 * the same state. Both topics are read from their start by a consumer of this process and
 * kept in memory as a ledger — metadata and short excerpts only, never whole payloads; a
 * replay reads the selected records back from Kafka.
 */
@Injectable()
export class DeadLettersService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeadLettersService.name);
  private readonly ledger = new DeadLetterLedger();
  /** Next offset to read, per `topic:partition`. */
  private readonly positions = new Map<string, number>();
  private reader: Promise<Consumer> | null = null;
  private producer: Promise<Producer> | null = null;
  /** Replays and discards one at a time, so a dead letter is never acted on twice here. */
  private operations: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Unresolved dead letters Kafka deleted before anyone replayed or discarded them. */
  private readonly expired: Counter<'table' | 'reason_class'>;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    private readonly infra: Infrastructure,
    private readonly catalog: TableCatalog,
    metrics: AdminMetrics,
  ) {
    this.expired = new Counter({
      name: 'searchsync_dead_letters_expired_total',
      help: 'Unresolved dead letters removed from the dead-letter topic by Kafka (retention) before they were replayed or discarded',
      labelNames: ['table', 'reason_class'],
      registers: [metrics.registry],
    });
  }

  get topic(): string {
    return this.config.INDEXER_DEAD_LETTER_TOPIC;
  }

  get resolutionsTopic(): string {
    return (
      this.config.ADMIN_DEAD_LETTER_RESOLUTIONS_TOPIC ??
      `${this.config.INDEXER_DEAD_LETTER_TOPIC}.resolutions`
    );
  }

  onApplicationBootstrap(): void {
    void this.ready(60_000).catch((error: Error) =>
      this.logger.warn(`dead-letter topics not read yet: ${error.message}`),
    );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    const reader = this.reader;
    const producer = this.producer;
    this.reader = null;
    this.producer = null;
    await reader?.then((c) => c.disconnect()).catch(() => undefined);
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
  }

  // ---- reading -------------------------------------------------------------------------

  /** Both topics exist: the dead-letter topic may not yet (the indexer creates it on use). */
  private async ensureTopics(): Promise<void> {
    const admin = await this.infra.kafkaAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = [
      // Dead letters must not expire by retention: an expired one is a row silently missing.
      { topic: this.topic, configEntries: [{ name: 'retention.ms', value: '-1' }] },
      {
        topic: this.resolutionsTopic,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'retention.ms', value: '-1' },
        ],
      },
    ].filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      try {
        await admin.createTopics({ topics: missing, waitForLeaders: true });
        this.logger.log(`created ${missing.map((t) => t.topic).join(', ')}`);
      } catch (error) {
        // Another replica (or the indexer) created it meanwhile.
        if (!/already exists/i.test((error as Error).message)) throw error;
      }
    }
    // The indexer's producer may have created the dead-letter topic first, with the broker's
    // default retention (7 days): fix it here, or dead letters expire unseen.
    try {
      await this.keepDeadLettersForever(admin);
    } catch (error) {
      this.logger.error(
        `retention of ${this.topic} not checked: ${(error as Error).message}; set retention.ms=-1 on it, or dead letters expire`,
      );
    }
  }

  private async keepDeadLettersForever(admin: Admin): Promise<void> {
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: this.topic }],
      includeSynonyms: false,
    });
    const entries = described.resources[0]?.configEntries ?? [];
    const retention = ['retention.ms', 'retention.bytes'];
    const finite = entries.filter(
      (e) =>
        retention.includes(e.configName) && e.configValue !== null && Number(e.configValue) >= 0,
    );
    if (finite.length === 0) return;
    // AlterConfigs (kafkajs has no IncrementalAlterConfigs) replaces the topic's whole set of
    // overrides: the other overrides are sent again unchanged.
    const kept = entries.filter(
      (e) =>
        e.configSource === ConfigSource.TOPIC_CONFIG &&
        !retention.includes(e.configName) &&
        e.configValue !== null &&
        !e.isSensitive,
    );
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: this.topic,
          configEntries: [
            ...kept.map((e) => ({ name: e.configName, value: e.configValue })),
            ...retention.map((name) => ({ name, value: '-1' })),
          ],
        },
      ],
    });
    this.logger.warn(
      `dead-letter topic ${this.topic} had ${finite.map((e) => `${e.configName}=${e.configValue}`).join(', ')}: set to -1, so dead letters never expire`,
    );
  }

  /** Dead letters Kafka deleted while unresolved: changes never applied, said out loud. */
  private reportExpired(lost: DeadLetterEntry[]): void {
    if (lost.length === 0) return;
    const tables = new Set<string>();
    for (const entry of lost) {
      this.expired.inc({ table: entry.table ?? '', reason_class: entry.reasonClass });
      if (entry.table) tables.add(entry.table);
    }
    const ids = lost.slice(0, 20).map((e) => e.id);
    this.logger.error(
      `${lost.length} unresolved dead letters were deleted from ${this.topic} by Kafka before they were replayed or discarded (${ids.join(', ')}${lost.length > ids.length ? ', …' : ''}): their changes were never applied; resync ${tables.size > 0 ? [...tables].join(', ') : 'the affected tables'}`,
    );
  }

  private startReader(): Promise<Consumer> {
    const started = (async () => {
      await this.ensureTopics();
      this.ledger.clear();
      this.positions.clear();
      // A group of its own per process: every replica reads both topics whole; no offsets are
      // committed, so nothing is left behind on the broker.
      const consumer = this.infra.kafka.consumer({
        groupId: `searchsync-admin-dead-letters-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        allowAutoTopicCreation: false,
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (payload.restart) return;
        this.logger.warn(`dead-letter reader stopped (${payload.error.message}); restarting`);
        void this.restartReader();
      });
      try {
        await consumer.connect();
        await consumer.subscribe({
          topics: [this.topic, this.resolutionsTopic],
          fromBeginning: true,
        });
        await consumer.run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            for (const message of batch.messages) {
              if (batch.topic === this.topic) {
                this.ledger.addLetter(
                  parseDeadLetter(
                    { ...message, partition: batch.partition, headers: message.headers },
                    this.config.SEARCHSYNC_TOPIC_PREFIX,
                  ),
                );
              } else if (message.key) {
                this.ledger.setResolution(message.key.toString(), parseResolution(message.value));
              }
            }
            const key = `${batch.topic}:${batch.partition}`;
            const next = Number(batch.lastOffset()) + 1;
            if (next > (this.positions.get(key) ?? 0)) this.positions.set(key, next);
            return Promise.resolve();
          },
        });
        return consumer;
      } catch (error) {
        await consumer.disconnect().catch(() => undefined);
        throw error;
      }
    })();
    started.catch(() => {
      if (this.reader === started) this.reader = null;
    });
    return started;
  }

  private async restartReader(): Promise<void> {
    const old = this.reader;
    this.reader = null;
    await old?.then((c) => c.disconnect()).catch(() => undefined);
    if (this.stopped) return;
    await sleep(2000);
    if (!this.reader && !this.stopped) this.reader = this.startReader();
  }

  /**
   * Waits until this process has read both topics up to their current end, so an answer
   * includes every dead letter and resolution written before the call.
   */
  async ready(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    if (!this.reader) this.reader = this.startReader();
    const deadline = Date.now() + timeoutMs;
    await this.reader;
    let ends: { topic: string; partition: number; low: number; high: number }[];
    try {
      const admin = await this.infra.kafkaAdmin();
      const read = async (topic: string) =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({
          topic,
          partition: p.partition,
          low: Number(p.low),
          high: Number(p.high),
        }));
      ends = [...(await read(this.topic)), ...(await read(this.resolutionsTopic))];
    } catch (error) {
      this.infra.resetKafkaAdmin();
      throw error;
    }
    for (const end of ends) {
      if (end.topic === this.topic) {
        this.reportExpired(this.ledger.prune(end.partition, String(end.low)));
      }
    }
    const behind = () =>
      ends.filter(
        (e) => (this.positions.get(`${e.topic}:${e.partition}`) ?? e.low) < Math.max(e.high, e.low),
      );
    if (!(await waitUntil(() => behind().length === 0, deadline - Date.now(), 100))) {
      const total = ends.reduce((sum, e) => sum + e.high - e.low, 0);
      const missing = behind().reduce(
        (sum, e) => sum + e.high - (this.positions.get(`${e.topic}:${e.partition}`) ?? e.low),
        0,
      );
      throw new DeadLettersNotReadError(total - missing, total);
    }
  }

  // ---- queries ---------------------------------------------------------------------------

  async list(request: ListRequest): Promise<DeadLetterPage> {
    const status =
      request.status === undefined || request.status === '' ? 'unresolved' : request.status;
    if (!['unresolved', 'replayed', 'discarded', 'all'].includes(status)) {
      throw new AdminBadRequestError('status must be unresolved, replayed, discarded or all');
    }
    let after: { partition: number; offset: string } | undefined;
    if (request.after !== undefined && request.after !== '') {
      const parsed = parseDeadLetterId(request.after);
      if (!parsed)
        throw new AdminBadRequestError('after must be a dead-letter id `<partition>:<offset>`');
      after = parsed;
    }
    const query = {
      table: tableOf(request.table),
      reason: reasonClassOf(request.reason),
      status: status as DeadLetterStatus | 'all',
      after,
      limit: boundedInt(request.limit, 'limit', 100, MAX_PAGE),
    };
    await this.ready();
    return this.ledger.query(query);
  }

  async get(id: string): Promise<DeadLetterView | null> {
    const parsed = parseDeadLetterId(id);
    if (!parsed) throw new AdminBadRequestError('a dead-letter id is `<partition>:<offset>`');
    await this.ready();
    const entry = this.ledger.get(deadLetterId(parsed.partition, parsed.offset));
    return entry ? this.ledger.view(entry) : null;
  }

  /** Unresolved dead letters (total and per table), once both topics are read. */
  async unresolved(timeoutMs = READY_TIMEOUT_MS): Promise<{
    total: number;
    byTable: Map<string | null, number>;
    byClass: { table: string; reasonClass: ReasonClass; count: number }[];
  }> {
    await this.ready(timeoutMs);
    return { ...this.ledger.unresolved(), byClass: this.ledger.unresolvedByClass() };
  }

  // ---- operations ------------------------------------------------------------------------

  private parseSelection(body: OperationRequest) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new AdminBadRequestError('the body must be a JSON object');
    }
    let ids: string[] | undefined;
    if (body.ids !== undefined) {
      if (
        !Array.isArray(body.ids) ||
        body.ids.length > MAX_OPERATION ||
        body.ids.some((id) => typeof id !== 'string' || parseDeadLetterId(id) === null)
      ) {
        throw new AdminBadRequestError(
          `ids must be an array of at most ${MAX_OPERATION} dead-letter ids \`<partition>:<offset>\``,
        );
      }
      ids = body.ids as string[];
    }
    const table = tableOf(body.table);
    const reason = reasonClassOf(body.reason);
    if (body.all !== undefined && typeof body.all !== 'boolean') {
      throw new AdminBadRequestError('all must be true or false');
    }
    if ((ids === undefined || ids.length === 0) && !table && !reason && body.all !== true) {
      throw new AdminBadRequestError(
        'select the dead letters: ids, table and/or reason — or all: true for every unresolved one',
      );
    }
    return {
      selection: {
        ids,
        table,
        reason,
        limit: boundedInt(body.limit, 'limit', MAX_OPERATION, MAX_OPERATION),
      },
      by: shortText(body.by, 'by') ?? 'admin',
      note: shortText(body.note, 'note'),
    };
  }

  replay(body: OperationRequest): Promise<OperationResult> {
    const { selection, by, note } = this.parseSelection(body);
    return this.serialized(async () => {
      await this.ready();
      const chosen = this.ledger.select(selection);
      return this.replaySelected(chosen, by, note);
    });
  }

  discard(body: OperationRequest): Promise<OperationResult> {
    const { selection, by, note } = this.parseSelection(body);
    return this.serialized(async () => {
      await this.ready();
      const chosen = this.ledger.select(selection);
      const at = new Date().toISOString();
      await this.resolve(
        chosen.selected.map((entry) => ({
          entry,
          resolution: {
            status: 'discarded',
            at,
            by,
            ...(note ? { note } : {}),
            source: entry.source,
            time: entry.time,
          },
        })),
      );
      return {
        action: 'discarded',
        done: chosen.selected.map((e) => ({ id: e.id, table: e.table })),
        skipped: chosen.skipped,
        remaining: chosen.remaining,
      };
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.operations.then(work, work);
    this.operations = run.catch(() => undefined);
    return run;
  }

  /**
   * Each record goes back, bytes unchanged, to the partition of the table topic it came from.
   * The indexer then applies it like any change, versioned by its source LSN: if the document
   * has a newer version meanwhile, the replay is refused as stale and nothing is overwritten.
   * If it fails again, the indexer dead-letters it again, as a new entry.
   */
  private async replaySelected(
    chosen: SelectedLetters,
    by: string,
    note: string | undefined,
  ): Promise<OperationResult> {
    const skipped = [...chosen.skipped];
    const admin = await this.infra.kafkaAdmin();
    const candidates: DeadLetterEntry[] = [];
    const sourceTopics = [
      ...new Set(chosen.selected.flatMap((e) => (e.source ? [e.source.topic] : []))),
    ];
    const partitionsOf = new Map<string, number>();
    if (sourceTopics.length > 0) {
      const existing = new Set(await admin.listTopics());
      const present = sourceTopics.filter((t) => existing.has(t));
      if (present.length > 0) {
        const metadata = await admin.fetchTopicMetadata({ topics: present });
        for (const t of metadata.topics) partitionsOf.set(t.name, t.partitions.length);
      }
    }
    for (const entry of chosen.selected) {
      if (!entry.source) {
        skipped.push({
          id: entry.id,
          why: 'the record does not say which topic it came from (no searchsync.source.* headers); discard it',
        });
      } else if (!partitionsOf.has(entry.source.topic)) {
        skipped.push({
          id: entry.id,
          why: `topic ${entry.source.topic} no longer exists (table dropped?); discard it`,
        });
      } else if (entry.source.partition >= (partitionsOf.get(entry.source.topic) ?? 0)) {
        skipped.push({
          id: entry.id,
          why: `topic ${entry.source.topic} has no partition ${entry.source.partition}`,
        });
      } else {
        candidates.push(entry);
      }
    }
    const letters = await this.readBack(
      this.topic,
      candidates.map((e) => ({ id: e.id, partition: e.partition, offset: e.offset })),
    );
    const originals = await this.readOriginals(
      candidates.filter((e) => letters.get(e.id)?.value === null),
    );
    const rows = new PostgresRowLookup(this.catalog, (sql, values) =>
      this.infra.pool.query(sql, values),
    );
    const plan = await planReplay(candidates, letters, originals, rows);
    skipped.push(...plan.skipped);
    const found = plan.ready.map((r) => r.entry);
    const records = new Map(plan.ready.map((r) => [r.entry.id, r.record]));

    const at = new Date().toISOString();
    const producer = await this.producerOf();
    // One request per topic; an original read back from its source topic (too large for the
    // dead-letter topic) goes alone, as the broker would refuse it in a batch with others.
    const sends = new Map<string, { topic: string; entries: DeadLetterEntry[] }>();
    for (const entry of found) {
      const topic = entry.source?.topic ?? '';
      const alone = letters.get(entry.id)?.value === null;
      const group = alone ? `${topic}\u0000${entry.id}` : topic;
      const send = sends.get(group) ?? { topic, entries: [] };
      send.entries.push(entry);
      sends.set(group, send);
    }
    const replayedTo = new Map<string, RecordPosition>();
    for (const { topic, entries } of sends.values()) {
      const messages = entries.map((entry) => {
        const record = records.get(entry.id) as RawRecord;
        const headers: IHeaders = {
          [DEAD_LETTER_HEADERS.replayOf]: entry.id,
          [DEAD_LETTER_HEADERS.replayAt]: at,
        };
        return {
          partition: entry.source?.partition ?? 0,
          key: record.key,
          value: record.value,
          headers,
        };
      });
      const metadata = await producer.send({ topic, acks: -1, messages });
      // Offsets within one partition of one request are consecutive from its base offset.
      const nextOf = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
      for (const [i, entry] of entries.entries()) {
        const partition = messages[i].partition;
        const offset = nextOf.get(partition);
        if (offset === undefined) continue;
        replayedTo.set(entry.id, { topic, partition, offset: offset.toString() });
        nextOf.set(partition, offset + 1n);
      }
    }
    await this.resolve(
      found.map((entry) => ({
        entry,
        resolution: {
          status: 'replayed',
          at,
          by,
          ...(note ? { note } : {}),
          source: entry.source,
          time: entry.time,
          ...(replayedTo.has(entry.id) ? { replayedTo: replayedTo.get(entry.id) } : {}),
        },
      })),
    );
    this.logger.log(`replayed ${found.length} dead letters (by ${by})`);
    return {
      action: 'replayed',
      done: found.map((e) => ({
        id: e.id,
        table: e.table,
        ...(replayedTo.has(e.id) ? { replayedTo: replayedTo.get(e.id) } : {}),
      })),
      skipped,
      remaining: chosen.remaining,
    };
  }

  /** Writes the resolutions (acknowledged by every in-sync replica), then records them here. */
  private async resolve(
    items: { entry: DeadLetterEntry; resolution: Resolution }[],
  ): Promise<void> {
    if (items.length === 0) return;
    const producer = await this.producerOf();
    for (let i = 0; i < items.length; i += 500) {
      const chunk = items.slice(i, i + 500);
      await producer.send({
        topic: this.resolutionsTopic,
        acks: -1,
        messages: chunk.map(({ entry, resolution }) => ({
          key: entry.id,
          value: JSON.stringify(resolution),
        })),
      });
    }
    for (const { entry, resolution } of items) this.ledger.setResolution(entry.id, resolution);
  }

  private producerOf(): Promise<Producer> {
    if (!this.producer) {
      // Never auto-create: a replay must not bring back the topic of a dropped table.
      const producer = this.infra.kafka.producer({ allowAutoTopicCreation: false });
      const connecting = producer.connect().then(() => producer);
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = null;
      });
      this.producer = connecting;
    }
    return this.producer;
  }

  /**
   * The originals of dead letters whose value the indexer left out (too large for the
   * dead-letter topic), from their source topics, where retention has not removed them yet.
   */
  private async readOriginals(entries: DeadLetterEntry[]): Promise<Map<string, RawRecord>> {
    const out = new Map<string, RawRecord>();
    const byTopic = new Map<string, DeadLetterEntry[]>();
    for (const entry of entries) {
      if (!entry.source) continue;
      byTopic.set(entry.source.topic, [...(byTopic.get(entry.source.topic) ?? []), entry]);
    }
    if (byTopic.size === 0) return out;
    const admin = await this.infra.kafkaAdmin();
    for (const [topic, list] of byTopic) {
      const bounds = new Map(
        (await admin.fetchTopicOffsets(topic)).map((p) => [
          p.partition,
          { low: BigInt(p.low), high: BigInt(p.high) },
        ]),
      );
      // Only offsets Kafka still has: a seek outside them would wait for records never coming.
      const present = list.flatMap((e) => {
        const source = e.source as RecordPosition;
        const b = bounds.get(source.partition);
        const offset = BigInt(source.offset);
        return b && offset >= b.low && offset < b.high
          ? [{ id: e.id, partition: source.partition, offset: source.offset }]
          : [];
      });
      for (const [id, record] of await this.readBack(topic, present)) out.set(id, record);
    }
    return out;
  }

  /**
   * Reads records back from a topic (the ledger keeps no payloads), keyed by the id they are
   * wanted for: a short-lived consumer seeks each partition to the first wanted offset and
   * stops past the last one. A wanted offset that is not there (compacted) is left out.
   */
  private async readBack(
    topic: string,
    wantedRecords: WantedRecord[],
  ): Promise<Map<string, RawRecord>> {
    const out = new Map<string, RawRecord>();
    if (wantedRecords.length === 0) return out;
    const wanted = new Map<number, { ids: Map<string, string[]>; first: bigint; last: bigint }>();
    for (const w of wantedRecords) {
      const offset = BigInt(w.offset);
      const at = offset.toString();
      const range = wanted.get(w.partition);
      if (!range) {
        wanted.set(w.partition, { ids: new Map([[at, [w.id]]]), first: offset, last: offset });
      } else {
        range.ids.set(at, [...(range.ids.get(at) ?? []), w.id]);
        if (offset < range.first) range.first = offset;
        if (offset > range.last) range.last = offset;
      }
    }
    const consumer = this.infra.kafka.consumer({
      groupId: `searchsync-admin-dead-letter-replay-${randomUUID()}`,
      allowAutoTopicCreation: false,
      // The first fetch (at the end, before the seeks apply) must not hold the replay up.
      maxWaitTimeInMs: 200,
    });
    const open = new Set(wanted.keys());
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        eachBatch: ({ batch }) => {
          const range = wanted.get(batch.partition);
          if (!range || !open.has(batch.partition)) return Promise.resolve();
          for (const message of batch.messages) {
            for (const id of range.ids.get(String(BigInt(message.offset))) ?? []) {
              out.set(id, { key: message.key, value: message.value });
            }
          }
          const last = BigInt(batch.lastOffset());
          if (last >= range.last || last + 1n >= BigInt(batch.highWatermark)) {
            open.delete(batch.partition);
            consumer.pause([{ topic, partitions: [batch.partition] }]);
            if (open.size === 0) done();
          }
          return Promise.resolve();
        },
      });
      for (const [partition, range] of wanted) {
        consumer.seek({ topic, partition, offset: range.first.toString() });
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new DeadLetterFetchError(
                `not all records read from ${topic} within ${FETCH_TIMEOUT_MS / 1000}s`,
              ),
            ),
          FETCH_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([finished, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return out;
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }
}

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConnectorBackend } from '@searchsync/connect-client';
import type { Consumer } from 'kafkajs';
import {
  ADMIN_CONFIG,
  CONNECTOR_BACKEND,
  TABLE_CONFIG,
  type AdminConfig,
  type SearchsyncConfigWatcher,
} from './admin-config';
import { DependencyUnavailableError, ResyncNotFoundError } from './admin.errors';
import { currentExclusions, ensureColumnExclusions, excludeEntry } from './column-exclusions';
import { Infrastructure } from './infrastructure.service';
import { TableCatalog } from './table-catalog';

export type ResyncState = 'requested' | 'running' | 'completed' | 'aborted' | 'failed';

export interface ResyncHandle {
  id: string;
  table: string;
  state: ResyncState;
  requestedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  /** Rows re-read so far (from Debezium's chunk notifications) and in total once the scan ends. */
  rowsScanned: number | null;
  lastProcessedKey: string | null;
  maximumKey: string | null;
  /** Debezium's TABLE_SCAN_COMPLETED status (SUCCEEDED, EMPTY, NO_PRIMARY_KEY, SKIPPED, …). */
  scanStatus: string | null;
  progressUrl: string;
}

/** A Debezium notification as the sink channel writes it (JSON converter with schemas). */
export interface DebeziumNotification {
  id: string;
  aggregate_type: string;
  type: string;
  additional_data?: Record<string, string>;
  timestamp?: number | string;
}

const KEPT = 200;
/** Folds one notification into the handle it belongs to. */
export function applyNotification(handle: ResyncHandle, note: DebeziumNotification): void {
  const at = note.timestamp
    ? new Date(Number(note.timestamp)).toISOString()
    : new Date().toISOString();
  const data = note.additional_data ?? {};
  switch (note.type) {
    case 'STARTED':
    case 'RESUMED':
      handle.state = 'running';
      handle.startedAt ??= at;
      break;
    case 'IN_PROGRESS':
      handle.state = 'running';
      handle.startedAt ??= at;
      handle.lastProcessedKey = data.last_processed_key ?? handle.lastProcessedKey;
      handle.maximumKey = data.maximum_key ?? handle.maximumKey;
      break;
    case 'TABLE_SCAN_COMPLETED':
      handle.scanStatus = data.status ?? null;
      if (data.total_rows_scanned !== undefined)
        handle.rowsScanned = Number(data.total_rows_scanned);
      if (data.status && data.status !== 'SUCCEEDED' && data.status !== 'EMPTY')
        handle.state = 'failed';
      break;
    case 'COMPLETED':
      if (handle.state !== 'failed') handle.state = 'completed';
      handle.completedAt = at;
      break;
    case 'ABORTED':
      handle.state = 'aborted';
      handle.completedAt = at;
      break;
    default:
      break;
  }
}

/**
 * Resync = Debezium ad-hoc incremental snapshot of one table through the signal table; its
 * progress comes from Debezium's notifications (sink channel → Kafka topic), keyed by our signal id.
 */
@Injectable()
export class ResyncService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ResyncService.name);
  private readonly handles = new Map<string, ResyncHandle>();
  private consumer: Consumer | null = null;
  private retry: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    private readonly infra: Infrastructure,
    private readonly catalog: TableCatalog,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {}

  onApplicationBootstrap(): void {
    void this.follow();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** Reads the notification topic from its start (it is small) and keeps following it. */
  private async follow(): Promise<void> {
    const consumer = this.infra.kafka.consumer({
      groupId: `searchsync-admin-notifications-${hostname()}-${process.pid}`,
      allowAutoTopicCreation: false,
    });
    try {
      await consumer.connect();
      await consumer.subscribe({
        topic: this.config.ADMIN_NOTIFICATION_TOPIC,
        fromBeginning: true,
      });
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ message }) => {
          this.onNotification(message.value);
          return Promise.resolve();
        },
      });
      this.consumer = consumer;
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(
        `notification topic ${this.config.ADMIN_NOTIFICATION_TOPIC} not readable yet (${(error as Error).message}); retrying in 10s`,
      );
      this.retry = setTimeout(() => void this.follow(), 10_000);
    }
  }

  private onNotification(value: Buffer | null): void {
    if (!value) return;
    let note: DebeziumNotification;
    try {
      const parsed = JSON.parse(value.toString('utf8')) as {
        payload?: DebeziumNotification;
      } & DebeziumNotification;
      note = parsed.payload ?? parsed;
    } catch {
      return;
    }
    if (note.aggregate_type !== 'Incremental Snapshot' || !note.id) return;
    let handle = this.handles.get(note.id);
    if (!handle) {
      const tables = note.additional_data?.data_collections ?? '';
      handle = this.newHandle(note.id, tables, null);
      this.remember(handle);
    }
    applyNotification(handle, note);
  }

  private newHandle(id: string, table: string, requestedAt: string | null): ResyncHandle {
    return {
      id,
      table,
      state: 'requested',
      requestedAt,
      startedAt: null,
      completedAt: null,
      rowsScanned: null,
      lastProcessedKey: null,
      maximumKey: null,
      scanStatus: null,
      progressUrl: `/v1/resyncs/${id}`,
    };
  }

  private remember(handle: ResyncHandle): void {
    this.handles.set(handle.id, handle);
    while (this.handles.size > KEPT) {
      const oldest = this.handles.keys().next().value as string;
      this.handles.delete(oldest);
    }
  }

  /** Sends Debezium an `execute-snapshot` signal (incremental) for the table. */
  async resync(reference: string): Promise<ResyncHandle> {
    const table = await this.catalog.resolve(reference);
    const collection = `${table.schema}.${table.table}`;
    await this.ensureExclusions(collection);
    const id = `resync-${randomUUID()}`;
    const handle = this.newHandle(id, collection, new Date().toISOString());
    this.remember(handle);
    await this.infra.pool.query(
      'insert into searchsync_cdc.signal (id, type, data) values ($1, $2, $3)',
      [
        id,
        'execute-snapshot',
        JSON.stringify({ 'data-collections': [collection], type: 'incremental' }),
      ],
    );
    this.logger.log(`resync ${id} of ${collection} requested`);
    return { ...handle };
  }

  /**
   * Debezium's incremental snapshot selects `*` unless columns are filtered: its table schema
   * (from pgoutput) lacks the generated columns PostgreSQL does not replicate, so the chunk would
   * fail with "Column '…' not found in result set", and a column searchsync.yaml excludes would
   * reach Kafka. The reconciler keeps both in the connector's column.exclude.list every pass; a
   * column generated or configured since its last pass is added here, with the same function,
   * before the signal (which the restarted task then reads from the WAL). A table without any
   * such column costs nothing more. A configured column the connector cannot be made to exclude
   * refuses the resync rather than send it.
   */
  private async ensureExclusions(collection: string): Promise<void> {
    const name = this.config.ADMIN_CONNECTOR_NAME;
    const plan = await currentExclusions(
      this.infra.pool,
      {
        publication: this.config.SEARCHSYNC_PUBLICATION,
        schemas: this.config.SEARCHSYNC_SCHEMAS,
      },
      this.tableConfig.current(),
    );
    const own = plan.columns.filter((c) => `${c.schema}.${c.table}` === collection);
    if (own.length === 0) return;
    const outcome = await ensureColumnExclusions(
      this.backend,
      name,
      plan.columns,
      (line) => this.logger.log(line),
      plan.tables,
    );
    const leaking = own.filter(
      (c) => c.causes.includes('configured') && !outcome.excluded.has(excludeEntry(c)),
    );
    if (outcome.state === 'failed' && leaking.length > 0) {
      throw new DependencyUnavailableError(
        `connector ${name}`,
        `its column.exclude.list could not be updated (${outcome.error}), so a resync of ${collection} would send ${leaking.map((c) => c.column).join(', ')}, which searchsync.yaml excludes — retry once Kafka Connect answers`,
      );
    }
    if (outcome.error) {
      this.logger.warn(
        `excluded columns of ${collection} not in ${name}'s column.exclude.list (${outcome.error}); the resync may fail, or send columns searchsync.yaml excludes`,
      );
    }
  }

  get(id: string): ResyncHandle {
    const handle = this.handles.get(id);
    if (!handle) throw new ResyncNotFoundError(id);
    return { ...handle };
  }

  list(): ResyncHandle[] {
    return [...this.handles.values()].reverse().map((h) => ({ ...h }));
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConnectorBackend } from '@searchsync/connect-client';
import { ADMIN_CONFIG, CONNECTOR_BACKEND, type AdminConfig } from './admin-config';
import { Infrastructure } from './infrastructure.service';
import { PipelineService } from './pipeline.service';
import {
  observeTables,
  readyToRemove,
  tableKey,
  type DropWatch,
  type IndexedTableRef,
} from './table-lifecycle';

export interface RemovedTable {
  table: string;
  alias: string;
  indices: number;
  at: string;
  /** True when removed after the grace period without the stream being known to be settled. */
  afterGrace: boolean;
}

export interface DroppedTablesStatus {
  enabled: boolean;
  /** Indexed tables PostgreSQL no longer has, not removed yet. */
  pending: { table: string; alias: string; missingSince: string }[];
  removed: RemovedTable[];
  error: string | null;
}

const REMOVED_KEPT = 50;

/**
 * Dropped tables: every ADMIN_RECONCILE_INTERVAL_MS the indexed tables are compared with
 * PostgreSQL's; the index of a table that is gone is deleted, so its documents leave search and
 * the table leaves the API's catalogue (GET /v1/tables reads the engine's aliases).
 */
@Injectable()
export class TableLifecycleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TableLifecycleService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private watches = new Map<string, DropWatch>();
  private readonly removed: RemovedTable[] = [];
  private lastError: string | null = null;
  private slotName: string | null = null;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    private readonly infra: Infrastructure,
    private readonly pipeline: PipelineService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.ADMIN_DROPPED_TABLE_CLEANUP) return;
    const pass = () => void this.sweep();
    setTimeout(pass, 1000).unref();
    this.timer = setInterval(pass, this.config.ADMIN_RECONCILE_INTERVAL_MS);
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  status(): DroppedTablesStatus {
    return {
      enabled: this.config.ADMIN_DROPPED_TABLE_CLEANUP,
      pending: [...this.watches.values()].map((w) => ({
        table: tableKey(w),
        alias: w.alias,
        missingSince: new Date(w.since).toISOString(),
      })),
      removed: [...this.removed],
      error: this.lastError,
    };
  }

  /** One pass (joined when one is running). */
  sweep(): Promise<void> {
    const running =
      this.running ??
      this.pass()
        .then(
          () => {
            this.lastError = null;
          },
          (error: Error) => {
            if (this.lastError !== error.message) {
              this.logger.warn(`dropped tables not checked: ${error.message}`);
            }
            this.lastError = error.message;
          },
        )
        .finally(() => (this.running = null));
    this.running = running;
    return running;
  }

  private async pass(): Promise<void> {
    const schemas = this.config.SEARCHSYNC_SCHEMAS;
    const indexed: IndexedTableRef[] = (
      await this.infra.engine.listTableMappings(this.config.SEARCHSYNC_INDEX_PREFIX)
    ).map((t) => ({ schema: t.schema, table: t.table, alias: t.alias }));
    const present = await this.existingTables();
    const missing = indexed.some((t) => schemas.includes(t.schema) && !present.has(tableKey(t)));
    const lsn = missing ? await this.currentLsn() : null;
    const now = Date.now();
    const { watches, candidates } = observeTables(
      this.watches,
      indexed,
      present,
      schemas,
      now,
      lsn,
    );
    this.watches = watches;
    for (const watch of candidates) {
      const settled = await this.streamSettled(watch);
      if (!readyToRemove(watch, settled, now, this.config.ADMIN_DROPPED_TABLE_GRACE_MS)) continue;
      // Look once more right before deleting: a table created again meanwhile keeps its index.
      if ((await this.existingTables()).has(tableKey(watch))) {
        this.watches.delete(watch.alias);
        continue;
      }
      const indices = await this.infra.engine.deleteTableIndices(watch.alias);
      this.watches.delete(watch.alias);
      const entry: RemovedTable = {
        table: tableKey(watch),
        alias: watch.alias,
        indices,
        at: new Date().toISOString(),
        afterGrace: !settled,
      };
      this.removed.unshift(entry);
      this.removed.length = Math.min(this.removed.length, REMOVED_KEPT);
      this.logger.log(
        `table ${entry.table} was dropped: removed ${indices} index(es) behind ${watch.alias}${settled ? '' : ' (after the grace period; the stream was not known to be settled)'}`,
      );
    }
  }

  private async existingTables(): Promise<Set<string>> {
    const { rows } = await this.infra.pool.query<{ schema: string; table: string }>(
      `select n.nspname as schema, c.relname as table
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = any($1)`,
      [this.config.SEARCHSYNC_SCHEMAS],
    );
    return new Set(rows.map(tableKey));
  }

  private async currentLsn(): Promise<string | null> {
    try {
      const { rows } = await this.infra.pool.query<{ lsn: string }>(
        'select pg_current_wal_lsn()::text as lsn',
      );
      return rows[0].lsn;
    } catch {
      // A read replica has no current WAL position: rely on the grace period.
      return null;
    }
  }

  /**
   * Debezium has confirmed WAL past the point the table was seen gone, and the indexer group
   * has consumed its topic to the end: no change of the table is still on its way.
   */
  private async streamSettled(watch: DropWatch): Promise<boolean> {
    if (!watch.lsn) return false;
    try {
      const slot = await this.slot();
      const { rows } = await this.infra.pool.query<{ caught_up: boolean | null }>(
        'select confirmed_flush_lsn >= $1::pg_lsn as caught_up from pg_replication_slots where slot_name = $2',
        [watch.lsn, slot],
      );
      if (rows[0]?.caught_up !== true) return false;
      const topic = `${this.config.SEARCHSYNC_TOPIC_PREFIX}.${watch.schema}.${watch.table}`;
      const lag = (await this.pipeline.kafkaLag([topic])).get(topic);
      // null: no such topic, so nothing left to consume.
      return lag === null || lag === 0;
    } catch {
      return false;
    }
  }

  private async slot(): Promise<string> {
    if (this.slotName) return this.slotName;
    try {
      const config = await this.backend.config(this.config.ADMIN_CONNECTOR_NAME);
      this.slotName = config['slot.name'] ?? 'debezium';
    } catch {
      return 'searchsync_slot';
    }
    return this.slotName;
  }
}

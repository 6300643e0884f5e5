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
  aliasesInUse,
  massMissingReason,
  missingTables,
  observeTables,
  overdue,
  ownTables,
  tableKey,
  waitingFor,
  type DropWatch,
  type StreamEvidence,
} from './table-lifecycle';

export interface RemovedTable {
  table: string;
  alias: string;
  indices: number;
  at: string;
}

export interface PendingTable {
  table: string;
  alias: string;
  missingSince: string;
  /** What removal still waits for (empty on the pass that removes it). */
  waitingFor: string[];
  /** Missing for longer than ADMIN_DROPPED_TABLE_GRACE_MS without the evidence removal needs. */
  overdue: boolean;
}

/** One pass's outcome. */
export interface DroppedTablesPass {
  at: string;
  /**
   * Why the pass judged nothing and deleted nothing (not the connector's database, a standby,
   * many tables missing at once, …); null when it ran.
   */
  refused: string | null;
  /** The indexed tables the refusal concerns (those that looked missing), when any. */
  refusedTables: string[];
  removed: RemovedTable[];
  pending: PendingTable[];
}

export interface DroppedTablesStatus {
  enabled: boolean;
  /** Indexed tables PostgreSQL no longer has, not removed yet. */
  pending: PendingTable[];
  removed: RemovedTable[];
  lastPass: DroppedTablesPass | null;
  error: string | null;
}

/** The pass may not judge: nothing here says the tables it would miss were dropped. */
export class DroppedTablesRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DroppedTablesRefusedError';
  }
}

const REMOVED_KEPT = 50;

interface StreamSource {
  database: string;
  slot: string;
}

/**
 * Dropped tables: every ADMIN_RECONCILE_INTERVAL_MS the indexed tables are compared with
 * PostgreSQL's; the index of a table that is gone is deleted — only on positive evidence that it
 * was dropped in the connector's own database and that its last change has been indexed — so
 * its documents leave search and the table leaves the API's catalogue (GET /v1/tables reads the
 * engine's aliases).
 */
@Injectable()
export class TableLifecycleService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TableLifecycleService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<DroppedTablesPass | null> | null = null;
  private watches = new Map<string, DropWatch>();
  private pending: PendingTable[] = [];
  private readonly removed: RemovedTable[] = [];
  private lastPass: DroppedTablesPass | null = null;
  private lastError: string | null = null;
  private readonly warnedOverdue = new Set<string>();

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
      pending: [...this.pending],
      removed: [...this.removed],
      lastPass: this.lastPass,
      error: this.lastError,
    };
  }

  /** One pass (joined when one is running); null when it failed (see `error`). */
  sweep(): Promise<DroppedTablesPass | null> {
    const running =
      this.running ??
      this.pass()
        .then(
          (result) => {
            this.lastError = null;
            this.record(result);
            return result;
          },
          (error: Error) => {
            if (this.lastError !== error.message) {
              this.logger.warn(`dropped tables not checked: ${error.message}`);
            }
            this.lastError = error.message;
            return null;
          },
        )
        .finally(() => (this.running = null));
    this.running = running;
    return running;
  }

  private record(result: DroppedTablesPass): void {
    const before = this.lastPass?.refused ?? null;
    this.lastPass = result;
    this.pending = result.pending;
    if (result.refused && result.refused !== before) {
      this.logger.error(
        `dropped tables: pass refused, nothing deleted: ${result.refused}` +
          (result.refusedTables.length ? ` (tables: ${result.refusedTables.join(', ')})` : ''),
      );
    }
    for (const table of result.pending) {
      if (table.overdue && !this.warnedOverdue.has(table.alias)) {
        this.warnedOverdue.add(table.alias);
        this.logger.error(
          `table ${table.table} has been missing since ${table.missingSince}, its index ${table.alias} is kept: waiting for ${table.waitingFor.join('; ')}`,
        );
      }
    }
    const waiting = new Set(result.pending.map((p) => p.alias));
    for (const alias of this.warnedOverdue)
      if (!waiting.has(alias)) this.warnedOverdue.delete(alias);
  }

  private async pass(): Promise<DroppedTablesPass> {
    const at = new Date().toISOString();
    const refuse = (refused: string, tables: string[] = []): DroppedTablesPass => {
      // Watches taken before may be no evidence either: start over once the pass can judge.
      this.watches.clear();
      return { at, refused, refusedTables: tables, removed: [], pending: [] };
    };
    let source: StreamSource;
    try {
      source = await this.streamSource();
    } catch (error) {
      if (error instanceof DroppedTablesRefusedError) return refuse(error.message);
      throw error;
    }
    const prefix = this.config.SEARCHSYNC_INDEX_PREFIX;
    const schemas = this.config.SEARCHSYNC_SCHEMAS;
    const indexed = ownTables(prefix, await this.infra.engine.listTableMappings(prefix));
    const present = await this.existingTables();
    const missing = missingTables(indexed, present.keys, present.aliases, schemas);
    const mass = massMissingReason(missing, indexed, present.perSchema, schemas);
    if (mass) return refuse(mass, missing.map(tableKey));

    const lsn = missing.length > 0 ? await this.currentLsn() : null;
    const now = Date.now();
    const { watches, candidates } = observeTables(this.watches, missing, now, lsn);
    this.watches = watches;
    const removed: RemovedTable[] = [];
    const waits = new Map<string, string[]>();
    for (const watch of candidates) {
      const waiting = waitingFor(watch, await this.evidence(watch, source));
      if (waiting.length > 0) {
        waits.set(watch.alias, waiting);
        continue;
      }
      // Look once more right before deleting: a table created again meanwhile (under any name
      // sharing the alias) keeps the index.
      const again = await this.existingTables();
      if (again.keys.has(tableKey(watch)) || again.aliases.has(watch.alias)) {
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
      };
      removed.push(entry);
      this.removed.unshift(entry);
      this.removed.length = Math.min(this.removed.length, REMOVED_KEPT);
      this.logger.log(
        `table ${entry.table} was dropped: removed ${indices} index(es) behind ${watch.alias}`,
      );
    }
    const pending = [...this.watches.values()].map((w) => ({
      table: tableKey(w),
      alias: w.alias,
      missingSince: new Date(w.since).toISOString(),
      waitingFor: waits.get(w.alias) ?? ['a second look'],
      overdue: overdue(w, now, this.config.ADMIN_DROPPED_TABLE_GRACE_MS),
    }));
    return { at, refused: null, refusedTables: [], removed, pending };
  }

  /**
   * The database this admin reads must be the one the connector streams, on a primary:
   * otherwise every table it lacks is "missing" without having been dropped (a default
   * DATABASE_URL, a standby, a restore in progress).
   */
  private async streamSource(): Promise<StreamSource> {
    const { rows } = await this.infra.pool.query<{ database: string; recovery: boolean }>(
      'select current_database() as database, pg_is_in_recovery() as recovery',
    );
    const { database, recovery } = rows[0];
    if (recovery) {
      throw new DroppedTablesRefusedError(
        `database ${database} is a standby (pg_is_in_recovery()); point DATABASE_URL at the primary`,
      );
    }
    let config: Record<string, string | undefined>;
    try {
      config = await this.backend.config(this.config.ADMIN_CONNECTOR_NAME);
    } catch (error) {
      throw new DroppedTablesRefusedError(
        `the config of connector ${this.config.ADMIN_CONNECTOR_NAME} is unreadable (${(error as Error).message}): cannot tell whether ${database} is the database it streams`,
      );
    }
    const dbname = config['database.dbname'];
    // A config-provider reference (`${file:…}`) cannot be compared here: the slot's database
    // below still is.
    if (dbname && !dbname.includes('${') && dbname !== database) {
      throw new DroppedTablesRefusedError(
        `DATABASE_URL names database ${database}, but connector ${this.config.ADMIN_CONNECTOR_NAME} streams ${dbname}`,
      );
    }
    const slot = config['slot.name'] ?? 'debezium';
    const found = await this.infra.pool.query<{ database: string | null }>(
      'select database from pg_replication_slots where slot_name = $1',
      [slot],
    );
    const slotDatabase = found.rows[0]?.database ?? null;
    if (slotDatabase !== database) {
      throw new DroppedTablesRefusedError(
        slotDatabase === null
          ? `the connector's replication slot ${slot} is not on this server (database ${database})`
          : `the connector's replication slot ${slot} belongs to database ${slotDatabase}, not ${database}`,
      );
    }
    return { database, slot };
  }

  /** Every table of the database (all schemas: a dotted name elsewhere can share an alias). */
  private async existingTables(): Promise<{
    keys: Set<string>;
    aliases: Set<string>;
    perSchema: Map<string, number>;
  }> {
    const { rows } = await this.infra.pool.query<{ schema: string; table: string }>(
      `select n.nspname as schema, c.relname as table
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p')
          and n.nspname not in ('pg_catalog', 'information_schema')
          and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp\\_%'`,
    );
    const perSchema = new Map<string, number>();
    for (const row of rows) perSchema.set(row.schema, (perSchema.get(row.schema) ?? 0) + 1);
    return {
      keys: new Set(rows.map(tableKey)),
      aliases: aliasesInUse(this.config.SEARCHSYNC_INDEX_PREFIX, rows),
      perSchema,
    };
  }

  private async currentLsn(): Promise<string> {
    const { rows } = await this.infra.pool.query<{ lsn: string }>(
      'select pg_current_wal_lsn()::text as lsn',
    );
    return rows[0].lsn;
  }

  /**
   * Debezium's slot (in this database) has confirmed WAL past the point the table was seen
   * gone, and the indexer group has consumed its topic to the end: no change of the table is
   * still on its way.
   */
  private async evidence(watch: DropWatch, source: StreamSource): Promise<StreamEvidence> {
    let slotPastDrop: boolean | null = null;
    if (watch.lsn) {
      const { rows } = await this.infra.pool.query<{ past: boolean | null }>(
        `select confirmed_flush_lsn >= $1::pg_lsn as past from pg_replication_slots
          where slot_name = $2 and database = current_database()`,
        [watch.lsn, source.slot],
      );
      slotPastDrop = rows[0]?.past ?? null;
    }
    const topic = `${this.config.SEARCHSYNC_TOPIC_PREFIX}.${watch.schema}.${watch.table}`;
    let topicLag: number | null = null;
    try {
      topicLag = (await this.pipeline.kafkaLag([topic])).get(topic) ?? null;
    } catch (error) {
      this.logger.warn(`lag of ${topic} unreadable: ${(error as Error).message}`);
    }
    return { slotPastDrop, topicLag };
  }
}

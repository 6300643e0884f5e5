import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { rebuildNeed, tableSettings } from '@searchsync/config';
import type { ConnectorBackend, ConnectorView } from '@searchsync/connect-client';
import { tableIndexNames, type TableMapping } from '@searchsync/search-engine';
import { freshnessSecondsOf, groupProgress } from '@searchsync/stream-position';
import {
  ADMIN_CONFIG,
  CONNECTOR_BACKEND,
  TABLE_CONFIG,
  type AdminConfig,
  type SearchsyncConfigWatcher,
} from './admin-config';
import { AdminMetrics } from './admin-metrics';
import { DeadLettersService } from './dead-letters.service';
import { PublicationReconciler } from './publication-reconciler.service';
import { HealerService } from './healer.service';
import { Infrastructure } from './infrastructure.service';
import { viewHealth, viewReasons, type ViewHealth } from './view-health';

export type PipelineStatus = 'ok' | 'degraded' | 'failing';

export interface SlotHealth {
  name: string;
  exists: boolean;
  active: boolean;
  walStatus: string | null;
  /** Current WAL position minus confirmed_flush_lsn. */
  lagBytes: number | null;
  /** Current WAL position minus restart_lsn: what the slot keeps on disk. */
  retainedBytes: number | null;
}

export interface TableHealth {
  table: string;
  topic: string;
  /** Records the indexer group has not committed yet; null when the topic does not exist yet. */
  kafkaLag: number | null;
  rows: number | null;
  /** False when the row count is PostgreSQL's estimate (the exact count took too long). */
  rowsExact: boolean;
  documents: number | null;
  /**
   * Age of the newest change the indexer applied for this table: from the progress every indexer
   * replica writes with its offset commits, so it covers all replicas and survives restarts;
   * null until a replica has committed one.
   */
  freshnessSeconds: number | null;
  /** Unresolved dead letters of this table; null when the dead-letter topic is unreadable. */
  deadLetters: number | null;
  /**
   * Why the table's index must be rebuilt (its configuration changed since it was built, or the
   * indexer flagged a type conflict), with how; null when it need not be, or has no index yet.
   */
  needsRebuild: string | null;
}

/** The table configuration in force (searchsync.yaml). */
export interface ConfigurationHealth {
  /** Files read, in order; empty when there is none (every table synced as it is). */
  files: string[];
  /** Why the last change of the files was rejected (the previous configuration stays), or null. */
  error: string | null;
}

/** What one scrape of an indexer's metrics says (`ADMIN_INDEXER_METRICS_URL`). */
export interface IndexerScrape {
  metricsUrl: string;
  /** The metrics endpoint answered. */
  reachable: boolean;
  /**
   * `searchsync_indexer_consumer_running` (1 → true, 0 → false); null when the indexer does
   * not publish it (an older indexer) or its metrics are unreachable.
   */
  consuming: boolean | null;
  /** `searchsync_indexer_writes_blocked`: writes wait on an engine outage or a blocked index. */
  writesBlocked: boolean | null;
  error?: string;
}

/** A member of the indexer's consumer group: one running indexer replica. */
export interface IndexerReplica {
  clientId: string;
  host: string;
}

/**
 * The indexer as Kafka sees it (its consumer group: every replica, wherever it runs), plus one
 * scrape of its metrics where `ADMIN_INDEXER_METRICS_URL` names them (a single replica whose
 * metrics the admin can reach: a frozen process shows at once, not after the session timeout).
 */
export interface IndexerHealth {
  group: string;
  /** Members of the group; null when Kafka could not say. */
  replicas: IndexerReplica[] | null;
  /** Null when no metrics URL is configured. */
  metricsUrl: string | null;
  /** Null when no metrics URL is configured. */
  reachable: boolean | null;
  /** The scraped gauge where there is one, else whether the group has members. */
  consuming: boolean | null;
  writesBlocked: boolean | null;
  error?: string;
}

export interface PipelineSnapshot {
  at: string;
  status: PipelineStatus;
  reasons: string[];
  connectors: ConnectorView[];
  slot: SlotHealth | null;
  tables: TableHealth[];
  tablesWithoutPrimaryKey: { table: string; fix: string }[];
  /**
   * Columns whose values Debezium cannot always deliver, with what to do; they do not change the
   * status (nothing is wrong yet), but verify will report the rows they affect.
   */
  advice: { table: string; columns: string[]; advice: string }[];
  indexer: IndexerHealth;
  /** The document views of searchsync.yaml. */
  views: ViewHealth[];
  configuration: ConfigurationHealth;
  /** Unresolved dead letters (replayed and discarded ones no longer count). */
  deadLetters: number | null;
  totals: { kafkaLag: number; maxFreshnessSeconds: number | null };
}

export interface HistoryPoint {
  at: string;
  status: PipelineStatus;
  kafkaLag: number;
  slotLagBytes: number | null;
  retainedBytes: number | null;
  maxFreshnessSeconds: number | null;
  deadLetters: number | null;
}

const HISTORY_MS = 60 * 60 * 1000;

interface TopicProgress {
  lag: number;
  freshnessSeconds: number | null;
}

/** Parses one gauge out of a Prometheus text exposition, by its `table` label. */
export function parseGaugeByTable(text: string, metric: string): Map<string, number> {
  const values = new Map<string, number>();
  const pattern = new RegExp(`^${metric}\\{([^}]*)\\}\\s+(\\S+)`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const table = /table="([^"]*)"/.exec(match[1])?.[1];
    const value = Number(match[2]);
    if (table && Number.isFinite(value)) values.set(table, value);
  }
  return values;
}

/** An unlabelled gauge's value; null when the exposition does not have it. */
export function parseGauge(text: string, metric: string): number | null {
  const match = new RegExp(`^${metric}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? value : null;
}

/** What the indexer's metrics say about its consumer. */
export function indexerHealthOf(
  metricsUrl: string,
  scrape: { text: string } | { error: string },
): IndexerScrape {
  if ('error' in scrape) {
    return {
      metricsUrl,
      reachable: false,
      consuming: null,
      writesBlocked: null,
      error: scrape.error,
    };
  }
  const running = parseGauge(scrape.text, 'searchsync_indexer_consumer_running');
  const blocked = parseGauge(scrape.text, 'searchsync_indexer_writes_blocked');
  return {
    metricsUrl,
    reachable: true,
    consuming: running === null ? null : running > 0,
    writesBlocked: blocked === null ? null : blocked > 0,
  };
}

/**
 * A group may be empty for a moment while its replicas re-join (a new table topic makes each
 * re-subscribe): only this long an absence counts, as long as Kafka's session timeout.
 */
export const GROUP_EMPTY_GRACE_MS = 30_000;

/**
 * Why the indexer is not consuming, or null. A scraped indexer's own word wins (it answers at
 * once when it freezes; an idle one with no topic yet is in no group); without a scrape, a
 * consumer group empty for longer than the grace while table topics exist.
 */
export function indexerNotConsuming(
  indexer: IndexerHealth,
  groupEmptyForMs: number,
  tableTopicsExist: boolean,
): string | null {
  if (indexer.reachable === false) {
    return `indexer not consuming: its metrics at ${indexer.metricsUrl} do not answer (${indexer.error})`;
  }
  if (indexer.reachable === true) {
    return indexer.consuming === false
      ? 'indexer not consuming: it reports no running Kafka consumer (searchsync_indexer_consumer_running 0); see the indexer log'
      : null;
  }
  if (
    indexer.replicas?.length === 0 &&
    tableTopicsExist &&
    groupEmptyForMs >= GROUP_EMPTY_GRACE_MS
  ) {
    return `indexer not consuming: its consumer group ${indexer.group} has had no member for ${Math.round(groupEmptyForMs / 1000)}s (no indexer replica runs, or none reaches Kafka)`;
  }
  return null;
}

function settledValue<T>(result: PromiseSettledResult<T>): T | null {
  return result.status === 'fulfilled' ? result.value : null;
}

function failure(result: PromiseSettledResult<unknown>): string | null {
  return result.status === 'rejected' ? (result.reason as Error).message : null;
}

/**
 * The health of the whole pipeline in one snapshot: connector and task states, the replication
 * slot, Kafka lag of the indexer group per table, rows against documents, freshness and the
 * dead-letter count — with an overall status and the reasons for it.
 */
@Injectable()
export class PipelineService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PipelineService.name);
  private readonly history: HistoryPoint[] = [];
  private cached: { at: number; snapshot: Promise<PipelineSnapshot> } | null = null;
  /** Since when the indexer's consumer group has been seen without members. */
  private groupEmptySince: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    private readonly infra: Infrastructure,
    private readonly metrics: AdminMetrics,
    private readonly healer: HealerService,
    private readonly deadLetterService: DeadLettersService,
    private readonly publication: PublicationReconciler,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {}

  onApplicationBootstrap(): void {
    const sample = () =>
      void this.snapshot(true).catch((error: Error) =>
        this.logger.warn(`pipeline sample failed: ${error.message}`),
      );
    setTimeout(sample, 1000).unref();
    this.timer = setInterval(sample, this.config.ADMIN_SAMPLE_INTERVAL_MS);
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  historyPoints(): HistoryPoint[] {
    return [...this.history];
  }

  /** A fresh snapshot, shared by callers within two seconds of each other. */
  snapshot(fresh = false): Promise<PipelineSnapshot> {
    const now = Date.now();
    if (!fresh && this.cached && now - this.cached.at < 2000) return this.cached.snapshot;
    const snapshot = this.collect();
    this.cached = { at: now, snapshot };
    snapshot.catch(() => (this.cached = null));
    return snapshot;
  }

  private async collect(): Promise<PipelineSnapshot> {
    // One scrape of the indexer per snapshot (no caching beyond the snapshot's 2 s): a consumer
    // that stops shows within the 10 s the contract promises.
    const metricsUrl = this.config.ADMIN_INDEXER_METRICS_URL ?? null;
    const scrape = metricsUrl === null ? null : this.scrapeIndexer(metricsUrl);
    const [connectors, slot, tables, noKey, deadLetters, toastRisks, replicas] =
      await Promise.allSettled([
        this.backend.list(),
        this.slotHealth(),
        this.tableHealth(),
        this.tablesWithoutPrimaryKey(),
        this.deadLetterService.unresolved(5000),
        this.toastNullArrays(),
        this.indexerReplicas(),
      ]);
    const indexer = this.indexerHealth(
      metricsUrl === null || scrape === null ? null : indexerHealthOf(metricsUrl, await scrape),
      replicas,
    );
    const reasons: { level: PipelineStatus; text: string }[] = [];
    const fail = (text: string) => reasons.push({ level: 'failing', text });
    const degrade = (text: string) => reasons.push({ level: 'degraded', text });

    const connectorList = settledValue(connectors) ?? [];
    if (connectors.status === 'rejected') fail(`connectors unreadable: ${failure(connectors)}`);
    const ours = connectorList.find((c) => c.name === this.config.ADMIN_CONNECTOR_NAME);
    if (connectors.status === 'fulfilled' && !ours) {
      fail(`connector ${this.config.ADMIN_CONNECTOR_NAME} does not exist`);
    }
    for (const connector of connectorList) {
      if (connector.state === 'FAILED') fail(`connector ${connector.name} FAILED`);
      else if (connector.state !== 'RUNNING')
        degrade(`connector ${connector.name} is ${connector.state}`);
      for (const task of connector.tasks) {
        if (task.state === 'FAILED') fail(`task ${connector.name}/${task.id} FAILED`);
        else if (task.state !== 'RUNNING' && connector.state === 'RUNNING') {
          degrade(`task ${connector.name}/${task.id} is ${task.state}`);
        }
      }
    }
    for (const key of this.healer.gaveUp()) fail(`healer gave up on ${key}`);

    const slotHealth = settledValue(slot);
    if (slot.status === 'rejected') fail(`replication slot unreadable: ${failure(slot)}`);
    else if (slotHealth && !slotHealth.exists)
      fail(`replication slot ${slotHealth.name} does not exist`);
    else if (slotHealth) {
      if (slotHealth.walStatus === 'lost')
        fail(`replication slot ${slotHealth.name} lost WAL it needs`);
      else if (slotHealth.walStatus === 'unreserved') {
        degrade(`replication slot ${slotHealth.name} is about to lose WAL (unreserved)`);
      }
      if (!slotHealth.active)
        degrade(`replication slot ${slotHealth.name} has no consumer attached`);
      if ((slotHealth.lagBytes ?? 0) > this.config.ADMIN_SLOT_LAG_WARN_BYTES) {
        degrade(`replication slot lag ${slotHealth.lagBytes} bytes`);
      }
    }

    const now = Date.now();
    if (indexer.replicas?.length === 0) this.groupEmptySince ??= now;
    else if (indexer.replicas) this.groupEmptySince = null;
    const topicsExist = (settledValue(tables) ?? []).some((t) => t.kafkaLag !== null);
    const notConsuming = indexerNotConsuming(
      indexer,
      this.groupEmptySince === null ? 0 : now - this.groupEmptySince,
      topicsExist,
    );
    if (notConsuming) fail(notConsuming);
    if (replicas.status === 'rejected') {
      degrade(`indexer consumer group unreadable: ${failure(replicas)}`);
    }
    if (indexer.writesBlocked === true) {
      fail(
        'indexer writes blocked: the search engine refuses or cannot take writes (down, credentials, a read-only or closed index); the indexer retries by itself — see its /health and log',
      );
    }

    const tableList = settledValue(tables) ?? [];
    if (tables.status === 'rejected') fail(`tables unreadable: ${failure(tables)}`);
    for (const table of tableList) {
      const lag = table.kafkaLag ?? 0;
      if (
        lag > 0 &&
        table.freshnessSeconds !== null &&
        table.freshnessSeconds > this.config.ADMIN_FRESHNESS_WARN_SECONDS
      ) {
        degrade(
          `${table.table}: ${lag} changes waiting, newest applied ${Math.round(table.freshnessSeconds)}s ago`,
        );
      }
      if (
        lag === 0 &&
        table.rowsExact &&
        table.rows !== null &&
        table.documents !== null &&
        table.rows !== table.documents
      ) {
        degrade(
          `${table.table}: ${table.rows} rows but ${table.documents} documents (verify, then resync)`,
        );
      }
    }
    const missingKeys = settledValue(noKey) ?? [];
    for (const table of missingKeys) degrade(`${table.table} has no primary key: ${table.fix}`);
    const unresolved = settledValue(deadLetters);
    const deadLetterCount = unresolved?.total ?? null;
    for (const table of tableList) {
      table.deadLetters = unresolved ? (unresolved.byTable.get(table.table) ?? 0) : null;
    }
    if (deadLetters.status === 'rejected')
      degrade(`dead-letter topic unreadable: ${failure(deadLetters)}`);
    else if (unresolved && unresolved.total > 0) {
      const tables = [...unresolved.byTable.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([table, n]) => `${table ?? 'unknown table'} ${n}`);
      degrade(
        `${unresolved.total} unresolved dead letters (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}): GET /v1/dead-letters, fix the cause, then replay or discard them`,
      );
    }

    const configuration: ConfigurationHealth = {
      files: this.tableConfig.current().files,
      error: this.tableConfig.lastError(),
    };
    let views: ViewHealth[] = [];
    try {
      views = await viewHealth(
        this.infra.engine,
        this.config.SEARCHSYNC_INDEX_PREFIX,
        this.tableConfig.current(),
        tableList,
      );
      for (const reason of viewReasons(views)) degrade(reason);
    } catch (error) {
      degrade(`document views unreadable: ${(error as Error).message}`);
    }
    if (configuration.error) {
      degrade(
        `table configuration change rejected, the previous one stays in force: ${configuration.error}`,
      );
    }

    const status: PipelineStatus = reasons.some((r) => r.level === 'failing')
      ? 'failing'
      : reasons.length > 0
        ? 'degraded'
        : 'ok';
    const freshness = tableList
      .map((t) => t.freshnessSeconds)
      .filter((f): f is number => f !== null);
    const snapshot: PipelineSnapshot = {
      at: new Date().toISOString(),
      status,
      reasons: reasons.map((r) => r.text),
      connectors: connectorList,
      slot: slotHealth,
      tables: tableList,
      tablesWithoutPrimaryKey: missingKeys,
      advice: [...(settledValue(toastRisks) ?? []), ...this.exclusionAdvice()],
      indexer,
      views,
      configuration,
      deadLetters: deadLetterCount,
      totals: {
        kafkaLag: tableList.reduce((sum, t) => sum + (t.kafkaLag ?? 0), 0),
        maxFreshnessSeconds: freshness.length > 0 ? Math.max(...freshness) : null,
      },
    };
    this.publish(snapshot, unresolved?.byClass ?? null);
    return snapshot;
  }

  private publish(
    snapshot: PipelineSnapshot,
    deadLettersByClass: { table: string; reasonClass: string; count: number }[] | null,
  ): void {
    const m = this.metrics;
    for (const status of ['ok', 'degraded', 'failing'] as const) {
      m.pipelineStatus.set({ status }, snapshot.status === status ? 1 : 0);
    }
    m.connectorRunning.reset();
    for (const c of snapshot.connectors) {
      m.connectorRunning.set(
        { connector: c.name, task: 'connector', state: c.state },
        c.state === 'RUNNING' ? 1 : 0,
      );
      for (const t of c.tasks) {
        m.connectorRunning.set(
          { connector: c.name, task: String(t.id), state: t.state },
          t.state === 'RUNNING' ? 1 : 0,
        );
      }
    }
    if (snapshot.slot?.exists) {
      const slot = snapshot.slot.name;
      m.slotActive.set({ slot }, snapshot.slot.active ? 1 : 0);
      if (snapshot.slot.lagBytes !== null) m.slotLagBytes.set({ slot }, snapshot.slot.lagBytes);
      if (snapshot.slot.retainedBytes !== null)
        m.slotRetainedBytes.set({ slot }, snapshot.slot.retainedBytes);
    }
    for (const t of snapshot.tables) {
      if (t.kafkaLag !== null) m.consumerLag.set({ table: t.table }, t.kafkaLag);
      if (t.rows !== null) m.tableRows.set({ table: t.table }, t.rows);
      if (t.documents !== null) m.tableDocuments.set({ table: t.table }, t.documents);
      if (t.freshnessSeconds !== null)
        m.freshnessSeconds.set({ table: t.table }, t.freshnessSeconds);
    }
    if (snapshot.deadLetters !== null) m.deadLetters.set(snapshot.deadLetters);
    if (deadLettersByClass) {
      m.deadLettersUnresolved.reset();
      for (const d of deadLettersByClass) {
        m.deadLettersUnresolved.set({ table: d.table, reason_class: d.reasonClass }, d.count);
      }
    }
    const { indexer } = snapshot;
    m.indexerConsuming.set(
      indexer.reachable === false ? 0 : indexer.consuming === null ? -1 : indexer.consuming ? 1 : 0,
    );

    const now = Date.parse(snapshot.at);
    const last = this.history[this.history.length - 1];
    if (!last || now - Date.parse(last.at) >= 1000) {
      this.history.push({
        at: snapshot.at,
        status: snapshot.status,
        kafkaLag: snapshot.totals.kafkaLag,
        slotLagBytes: snapshot.slot?.lagBytes ?? null,
        retainedBytes: snapshot.slot?.retainedBytes ?? null,
        maxFreshnessSeconds: snapshot.totals.maxFreshnessSeconds,
        deadLetters: snapshot.deadLetters,
      });
    }
    while (this.history.length > 0 && now - Date.parse(this.history[0].at) > HISTORY_MS) {
      this.history.shift();
    }
  }

  private slotName: string | null = null;

  /** The connector's `slot.name` (looked up once), else Debezium's default. */
  private async slotNameOf(): Promise<string> {
    if (this.slotName) return this.slotName;
    try {
      const config = await this.backend.config(this.config.ADMIN_CONNECTOR_NAME);
      this.slotName = config['slot.name'] ?? 'debezium';
      return this.slotName;
    } catch {
      return 'searchsync_slot';
    }
  }

  async slotHealth(): Promise<SlotHealth> {
    const name = await this.slotNameOf();
    const { rows } = await this.infra.pool.query<{
      active: boolean;
      wal_status: string | null;
      lag_bytes: string | null;
      retained_bytes: string | null;
    }>(
      `select active, wal_status,
              (pg_current_wal_lsn() - confirmed_flush_lsn)::text as lag_bytes,
              (pg_current_wal_lsn() - restart_lsn)::text as retained_bytes
         from pg_replication_slots where slot_name = $1`,
      [name],
    );
    const row = rows[0];
    if (!row) {
      return {
        name,
        exists: false,
        active: false,
        walStatus: null,
        lagBytes: null,
        retainedBytes: null,
      };
    }
    return {
      name,
      exists: true,
      active: row.active,
      walStatus: row.wal_status,
      lagBytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
      retainedBytes: row.retained_bytes === null ? null : Number(row.retained_bytes),
    };
  }

  /** Synced tables: ordinary and partitioned tables (not partitions) of the synced schemas. */
  async syncedTables(): Promise<{ schema: string; table: string; estimate: number }[]> {
    const { rows } = await this.infra.pool.query<{
      schema: string;
      table: string;
      estimate: string;
    }>(
      `select n.nspname as schema, c.relname as table, greatest(c.reltuples, 0)::bigint::text as estimate
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
        order by 1, 2`,
      [this.config.SEARCHSYNC_SCHEMAS],
    );
    return rows.map((r) => ({ schema: r.schema, table: r.table, estimate: Number(r.estimate) }));
  }

  /**
   * Tables whose changes cannot become documents for want of a key: those the publication keeps
   * out (their writes would fail if published), and published ones without a primary key
   * (replica identity FULL or USING INDEX), whose documents have no id.
   */
  private async tablesWithoutPrimaryKey(): Promise<{ table: string; fix: string }[]> {
    const excluded = this.publication.excludedTables();
    const { rows } = await this.infra.pool.query<{ schema: string; table: string }>(
      `select n.nspname as schema, c.relname as table
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
          and not exists (select 1 from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')
        order by 1, 2`,
      [this.config.SEARCHSYNC_SCHEMAS],
    );
    const keptOut = new Map(excluded.map((e) => [e.table, e.fix]));
    const published = rows
      .map((r) => `${r.schema}.${r.table}`)
      .filter((table) => !keptOut.has(table))
      .map((table) => ({
        table,
        fix: `published (replica identity FULL or USING INDEX) but without a primary key, so its documents have no id: add a primary key (alter table ${table} add primary key (...)), or set message.key.columns for it in the connector`,
      }));
    return [...excluded.map(({ table, fix }) => ({ table, fix })), ...published];
  }

  /**
   * What of searchsync.yaml's exclusions the reconciler's last pass could not apply: a key
   * column (always synced) or a column the table does not have (a typo keeps the real one in).
   */
  private exclusionAdvice(): { table: string; columns: string[]; advice: string }[] {
    return this.publication.status().columnExclusions.problems.map((problem) => ({
      table: problem.table,
      columns: [problem.column],
      advice: problem.message,
    }));
  }

  /**
   * Debezium 3.6 sends `null` for an unchanged TOASTed array of these element types under
   * REPLICA IDENTITY DEFAULT, indistinguishable from a real NULL (docs/values.md): only a full
   * replica identity carries the value.
   */
  private async toastNullArrays(): Promise<{ table: string; columns: string[]; advice: string }[]> {
    const { rows } = await this.infra.pool.query<{ table: string; columns: string[] }>(
      `select format('%s.%s', n.nspname, c.relname) as table,
              array_agg(a.attname::text order by a.attnum) as columns
         from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         join pg_type t on t.oid = a.atttypid
         join pg_type e on e.oid = t.typelem and t.typcategory = 'A'
        where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
          and c.relreplident = 'd'
          and (e.typname in ('numeric', 'float4', 'float8', 'bool', 'int2', 'timestamp',
                             'timestamptz', 'time', 'timetz', 'inet', 'cidr') or e.typtype = 'e')
        group by 1 order by 1`,
      [this.config.SEARCHSYNC_SCHEMAS],
    );
    return rows.map((r) => ({
      table: r.table,
      columns: r.columns,
      advice: `under REPLICA IDENTITY DEFAULT, Debezium sends null for an unchanged TOASTed (large) value of ${r.columns.join(', ')} when another column is updated; if these arrays can exceed ~2 kB, run: alter table ${r.table} replica identity full`,
    }));
  }

  private async exactCount(schema: string, table: string): Promise<number | null> {
    const client = await this.infra.pool.connect();
    try {
      await client.query('begin');
      await client.query("set local statement_timeout = '2s'");
      const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
      const { rows } = await client.query<{ n: string }>(
        `select count(*)::text as n from ${ident(schema)}.${ident(table)}`,
      );
      await client.query('commit');
      return Number(rows[0].n);
    } catch {
      await client.query('rollback').catch(() => undefined);
      return null;
    } finally {
      client.release();
    }
  }

  private async tableHealth(): Promise<TableHealth[]> {
    const tables = await this.syncedTables();
    const prefix = this.config.SEARCHSYNC_TOPIC_PREFIX;
    const topics = tables.map((t) => `${prefix}.${t.schema}.${t.table}`);
    const [progress, documents, mappings] = await Promise.all([
      this.groupProgress(topics).catch((error: Error) => {
        this.logger.warn(`Kafka lag unreadable: ${error.message}`);
        return new Map<string, TopicProgress>();
      }),
      this.documentCounts(),
      this.tableMappings(),
    ]);
    const config = this.tableConfig.current();
    const out: TableHealth[] = [];
    for (const t of tables) {
      const name = `${t.schema}.${t.table}`;
      const topic = `${prefix}.${name}`;
      const exact = t.estimate < 5_000_000 ? await this.exactCount(t.schema, t.table) : null;
      const alias = tableIndexNames(this.config.SEARCHSYNC_INDEX_PREFIX, t).alias;
      // No index yet: the indexer creates it with the configuration in force.
      const mapping = mappings?.get(alias);
      out.push({
        table: name,
        topic,
        kafkaLag: progress.get(topic)?.lag ?? null,
        rows: exact ?? t.estimate,
        rowsExact: exact !== null,
        documents: documents === null ? null : (documents.get(alias) ?? 0),
        freshnessSeconds: progress.get(topic)?.freshnessSeconds ?? null,
        deadLetters: null,
        needsRebuild: mapping ? rebuildNeed(tableSettings(config, t), mapping.meta) : null,
      });
    }
    return out;
  }

  /** The tables' live indices by alias (a rebuild's new generation has another alias). */
  private async tableMappings(): Promise<Map<string, TableMapping> | null> {
    try {
      const mappings = await this.infra.engine.listTableMappings(
        this.config.SEARCHSYNC_INDEX_PREFIX,
      );
      return new Map(mappings.map((m) => [m.alias, m]));
    } catch (error) {
      this.logger.warn(`index mappings unreadable: ${(error as Error).message}`);
      return null;
    }
  }

  /** Lag of the indexer group per topic: end offset minus committed offset, summed over partitions. */
  async kafkaLag(topics: string[]): Promise<Map<string, number | null>> {
    const progress = await this.groupProgress(topics);
    return new Map(topics.map((t) => [t, progress.get(t)?.lag ?? null]));
  }

  /**
   * Per existing topic: the indexer group's lag, and the freshness its replicas' offset commits
   * carry (each commit's metadata says when its newest record entered Kafka).
   */
  private async groupProgress(topics: string[]): Promise<Map<string, TopicProgress>> {
    const admin = await this.infra.kafkaAdmin();
    try {
      const progress = await groupProgress(admin, this.config.INDEXER_GROUP_ID, topics);
      const now = Date.now();
      return new Map(
        [...progress].map(([topic, p]) => [
          topic,
          { lag: Number(p.pending), freshnessSeconds: freshnessSecondsOf(p.committed, now) },
        ]),
      );
    } catch (error) {
      this.infra.resetKafkaAdmin();
      throw error;
    }
  }

  /** The members of the indexer's consumer group: its running replicas. */
  private async indexerReplicas(): Promise<IndexerReplica[]> {
    const admin = await this.infra.kafkaAdmin();
    try {
      const { groups } = await admin.describeGroups([this.config.INDEXER_GROUP_ID]);
      return (groups[0]?.members ?? []).map((m) => ({ clientId: m.clientId, host: m.clientHost }));
    } catch (error) {
      this.infra.resetKafkaAdmin();
      throw error;
    }
  }

  private indexerHealth(
    scrape: IndexerScrape | null,
    replicas: PromiseSettledResult<IndexerReplica[]>,
  ): IndexerHealth {
    const members = settledValue(replicas);
    const group = this.config.INDEXER_GROUP_ID;
    if (scrape) return { group, replicas: members, ...scrape };
    return {
      group,
      replicas: members,
      metricsUrl: null,
      reachable: null,
      consuming: members === null ? null : members.length > 0,
      writesBlocked: null,
    };
  }

  private async documentCounts(): Promise<Map<string, number> | null> {
    try {
      const tables = await this.infra.engine.listTables(this.config.SEARCHSYNC_INDEX_PREFIX);
      return new Map(tables.map((t) => [t.alias, t.documents]));
    } catch (error) {
      this.logger.warn(`document counts unreadable: ${(error as Error).message}`);
      return null;
    }
  }

  /** The indexer's Prometheus exposition, or why it could not be read. */
  private async scrapeIndexer(url: string): Promise<{ text: string } | { error: string }> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) return { error: `HTTP ${response.status}` };
      return { text: await response.text() };
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message;
      return { error: cause ?? (error as Error).message };
    }
  }
}

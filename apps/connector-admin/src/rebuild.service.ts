import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  DEFAULT_MAPPING_FINGERPRINT,
  loadSearchsyncConfig,
  mappingFingerprint,
  tableSettings,
  type SearchsyncConfig,
  type SearchsyncConfigWatcher,
  type TableSettings,
} from '@searchsync/config';
import {
  REBUILD_TARGETS_MAX_AGE_MS,
  TABLE_INDEX_SETTINGS,
  formatTableReference,
  nextGeneration,
  tableIndexNames,
  type TableGeneration,
  type TableIndexNames,
  type TableName,
} from '@searchsync/search-engine';
import { sleep } from '@searchsync/retry';
import { caughtUp } from '@searchsync/stream-position';
import { ADMIN_CONFIG, TABLE_CONFIG, type AdminConfig } from './admin-config';
import { AdminError, TableNotFoundError } from './admin.errors';
import { Infrastructure } from './infrastructure.service';
import {
  fillProgress,
  parseRebuildRecord,
  rebuildRecord,
  type RebuildProgress,
} from './rebuild-progress';
import { ResyncService } from './resync.service';
import { TableCatalog } from './table-catalog';
import { ViewRebuilds } from './view-rebuild';

export class RebuildConflictError extends AdminError {
  constructor(message: string) {
    super(message, 409);
  }
}

export class RebuildNotFoundError extends AdminError {
  constructor(table: string) {
    super(`no rebuild of ${table} since the admin started`, 404);
  }
}

/** How often rebuilds look at their progress. */
const STEP_MS = 1000;
/** Between the swap and dropping the old generation: searches already running on it finish. */
const DROP_GRACE_MS = 3000;
/** How long a resumed rebuild waits for its resync's notifications to be read again. */
const RESUME_GRACE_MS = 15_000;
/** No sign of progress for this long: the re-read is signalled again (at most MAX_SIGNALS). */
const STALL_MS = 5 * 60_000;
const MAX_SIGNALS = 3;
/** How long the re-read may take to start after its signal before the rebuild gives up. */
const SIGNAL_TIMEOUT_MS = 5 * 60_000;
/** Reconcile pass: automatic rebuilds, resumed ones, orphaned generations, live settings. */
const PASS_MS = 10_000;

/** What the indexer puts in `_meta.searchsync.needsRebuild`. */
interface RebuildFlag {
  reason?: unknown;
  /** The refused columns with the PostgreSQL type the event carried. */
  columns?: Record<string, string | null>;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Zero-downtime rebuild of a table's index: a new generation is created empty behind its
 * building alias; the indexer writes every change to it as well as to the live index; Debezium
 * re-reads the table into it (an incremental snapshot, whose watermarks order the re-read with
 * the stream); once the indexer has drained the re-read, one atomic alias change makes it live
 * and the old generation is dropped. Queries read the old generation until that instant, so
 * they stay complete and current throughout. A row gone from PostgreSQL is in no new document.
 */
@Injectable()
export class RebuildService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RebuildService.name);
  /** The latest rebuild of each table, by `schema.table`. */
  private readonly rebuilds = new Map<string, RebuildProgress>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private passing = false;
  private readonly bootedAt = Date.now();
  private viewRebuilds: ViewRebuilds | null = null;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
    private readonly infra: Infrastructure,
    private readonly catalog: TableCatalog,
    private readonly resyncs: ResyncService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.pass(), PASS_MS);
    this.timer.unref();
    void this.pass();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Rebuilds of document views: the indexer builds them, the admin asks (view-rebuild.ts). */
  private get views(): ViewRebuilds {
    return (this.viewRebuilds ??= new ViewRebuilds(
      this.infra.engine,
      this.config.SEARCHSYNC_INDEX_PREFIX,
    ));
  }

  /** The table, or else the configured view of that name (tables come first, as in the API). */
  private async tableOrView(reference: string) {
    try {
      return { table: await this.catalog.resolve(reference) };
    } catch (error) {
      const view = this.tableConfig.current().views.get(reference);
      if (error instanceof TableNotFoundError && view) return { view };
      throw error;
    }
  }

  /**
   * Starts a rebuild of the table (`table` or `schema.table`) or of a document view (its name);
   * 409 when one is running.
   */
  async start(
    reference: string,
    reason = 'requested',
    trigger: RebuildProgress['trigger'] = 'request',
  ): Promise<RebuildProgress> {
    const found = await this.tableOrView(reference);
    if (found.view) return this.views.start(found.view);
    const table = found.table;
    const key = `${table.schema}.${table.table}`;
    const running = this.rebuilds.get(key);
    if (running && !['completed', 'failed'].includes(running.state)) {
      throw new RebuildConflictError(
        `a rebuild of ${key} is already running (${running.state}); follow GET /v1/tables/${formatTableReference(table)}/rebuild`,
      );
    }
    if (table.primaryKey.length === 0) {
      throw new RebuildConflictError(
        `${key} has no primary key: Debezium can only re-read tables with one; add a primary key`,
      );
    }
    const alias = tableIndexNames(this.config.SEARCHSYNC_INDEX_PREFIX, table).alias;
    const generations = await this.infra.engine.generations.list({ ...table, alias });
    if (generations.some((g) => g.building)) {
      throw new RebuildConflictError(
        `a new generation of ${key} is already being built; it resumes on its own`,
      );
    }
    const live = generations.filter((g) => g.live);
    if (live.length === 0) {
      throw new RebuildConflictError(
        `${key} has no index yet: it is created with the table's first change or snapshot`,
      );
    }
    const generation = nextGeneration(generations);
    await this.infra.engine.setTableMeta(alias, { lastGeneration: generation });
    const names = tableIndexNames(this.config.SEARCHSYNC_INDEX_PREFIX, table, generation);
    const progress: RebuildProgress = {
      id: `rebuild-${randomUUID()}`,
      table: key,
      state: 'starting',
      reason,
      trigger,
      generation,
      index: names.index,
      previous: live.map((g) => g.index),
      startedAt: new Date().toISOString(),
      completedAt: null,
      rowsTotal: await this.countRows(table),
      rowsDone: 0,
      etaSeconds: null,
      docsPerSecond: null,
      resyncId: null,
      error: null,
    };
    const settings = tableSettings(this.freshConfig(), table);
    await this.infra.engine.generations.create(names, TABLE_INDEX_SETTINGS, {
      // Not searched until the swap: refreshing it while it fills only costs.
      index: { ...settings.index, refresh: '-1' },
      meta: {
        config: mappingFingerprint(settings),
        lastGeneration: generation,
        rebuild: { ...rebuildRecord(progress) },
      },
    });
    this.rebuilds.set(key, progress);
    this.logger.log(`rebuild ${progress.id} of ${key}: generation ${names.index} (${reason})`);
    void this.drive(progress, names, settings, { resumed: false });
    return { ...progress };
  }

  /**
   * The configuration as the files say now: a rebuild asked for right after an edit must record
   * the settings it is built with, not the watcher's view of a few seconds ago. A file that does
   * not validate leaves the last good configuration in force, as everywhere.
   */
  private freshConfig(): SearchsyncConfig {
    try {
      return loadSearchsyncConfig();
    } catch {
      return this.tableConfig.current();
    }
  }

  /** The latest rebuild of the table since the admin started. */
  async progress(reference: string): Promise<RebuildProgress> {
    const resolved = await this.tableOrView(reference);
    if (resolved.view) return this.views.progress(resolved.view);
    const table = resolved.table;
    const found = this.rebuilds.get(`${table.schema}.${table.table}`);
    if (!found) throw new RebuildNotFoundError(`${table.schema}.${table.table}`);
    return { ...found };
  }

  list(): RebuildProgress[] {
    return [
      ...[...this.rebuilds.values()].map((p) => ({ ...p })),
      ...(this.viewRebuilds?.list() ?? []),
    ];
  }

  /** True while a rebuild of the table is under way (e.g. for pipeline health). */
  isRebuilding(table: TableName): boolean {
    const found = this.rebuilds.get(`${table.schema}.${table.table}`);
    return found !== undefined && !['completed', 'failed'].includes(found.state);
  }

  private async countRows(table: TableName): Promise<number | null> {
    const quoted = `"${table.schema.replace(/"/g, '""')}"."${table.table.replace(/"/g, '""')}"`;
    try {
      const { rows } = await this.infra.pool.query<{ count: string }>(
        `select count(*)::text as count from ${quoted}`,
      );
      return Number(rows[0]?.count ?? 0);
    } catch (error) {
      this.logger.warn(`rows of ${table.schema}.${table.table} not counted: ${describe(error)}`);
      return null;
    }
  }

  private async drive(
    progress: RebuildProgress,
    names: TableIndexNames,
    settings: TableSettings,
    { resumed }: { resumed: boolean },
  ): Promise<void> {
    try {
      await this.fill(progress, names, resumed);
      progress.state = 'catching_up';
      await this.catchUp(progress, names);
    } catch (error) {
      if (this.stopped) return;
      await this.fail(progress, names, error);
      return;
    }
    try {
      await this.swap(progress, names, settings);
    } catch (error) {
      if (this.stopped) return;
      // The swap may have reached the engine even if its answer did not reach us: the new
      // generation may be live, so it is never dropped from here. The next pass sees what is
      // live, and drops what is not.
      const live = await this.infra.engine.generations
        .list(names)
        .then((list) => list.find((g) => g.live)?.index)
        .catch(() => undefined);
      if (live === names.index) {
        progress.state = 'completed';
        progress.completedAt = new Date().toISOString();
        this.logger.warn(
          `rebuild ${progress.id} of ${progress.table}: ${names.index} is live; the old generation is dropped by the next pass (${describe(error)})`,
        );
        return;
      }
      await this.fail(progress, names, error);
    }
  }

  private async fail(
    progress: RebuildProgress,
    names: TableIndexNames,
    error: unknown,
  ): Promise<void> {
    progress.state = 'failed';
    progress.error = describe(error);
    progress.completedAt = new Date().toISOString();
    this.logger.error(`rebuild ${progress.id} of ${progress.table} failed: ${progress.error}`);
    // The live generation was never touched; the half-built one must not linger.
    await this.infra.engine.generations
      .drop([names.index])
      .catch((dropError: unknown) =>
        this.logger.warn(
          `generation ${names.index} not dropped (the next pass tries again): ${describe(dropError)}`,
        ),
      );
  }

  /** Waits for every indexer to know the new generation, then has Debezium re-read the table. */
  private async fill(
    progress: RebuildProgress,
    names: TableIndexNames,
    resumed: boolean,
  ): Promise<void> {
    let handle = resumed && progress.resyncId ? await this.findResync(progress.resyncId) : null;
    if (!handle || handle.state === 'failed' || handle.state === 'aborted') {
      // Batches fetched from now on all write to the new generation (REBUILD_TARGETS_MAX_AGE_MS).
      await sleep(2 * REBUILD_TARGETS_MAX_AGE_MS + 1000);
      handle = await this.resyncs.resync(progress.table);
      progress.resyncId = handle.id;
      await this.infra.engine.setTableMeta(`${names.index}.building`, {
        rebuild: { ...rebuildRecord(progress) },
      });
    }
    progress.state = 'filling';
    const began = Date.now();
    /** When the re-read last showed progress (rows written, or Debezium's position moving). */
    let movedAt = Date.now();
    let lastSeen = '';
    let signals = 1;
    for (;;) {
      if (this.stopped) throw new Error('admin stopping');
      await sleep(STEP_MS);
      const operations = await this.infra.engine.generations
        .indexedOperations(names.index)
        .catch((error: unknown) => {
          // Progress only: an engine hiccup is no reason to abandon the rebuild.
          this.logger.warn(`progress of ${names.index} unreadable: ${describe(error)}`);
          return null;
        });
      if (operations !== null)
        Object.assign(progress, fillProgress(progress, operations, (Date.now() - began) / 1000));
      const current = this.resyncs.get(handle.id);
      if (current.state === 'completed') {
        // A small table is re-read within one step: what it wrote meanwhile is still progress
        // to report while the indexer catches up.
        const last = await this.infra.engine.generations
          .indexedOperations(names.index)
          .catch(() => null);
        if (last !== null)
          Object.assign(progress, fillProgress(progress, last, (Date.now() - began) / 1000));
        return;
      }
      const seen = `${operations}|${current.state}|${current.lastProcessedKey}|${current.rowsScanned}`;
      if (seen !== lastSeen) {
        lastSeen = seen;
        movedAt = Date.now();
      } else if (Date.now() - movedAt > STALL_MS) {
        // A re-read Debezium lost (e.g. its connector re-created): never wait for it forever.
        if (signals >= MAX_SIGNALS) {
          throw new Error(
            `the re-read of ${progress.table} made no progress for ${STALL_MS / 1000} s, ${signals} times`,
          );
        }
        this.logger.warn(
          `rebuild ${progress.id} of ${progress.table}: no progress for ${STALL_MS / 1000} s; signalling the re-read again`,
        );
        handle = await this.resyncs.resync(progress.table);
        progress.resyncId = handle.id;
        signals += 1;
        movedAt = Date.now();
        continue;
      }
      if (current.state === 'requested' && Date.now() - began > SIGNAL_TIMEOUT_MS) {
        throw new Error(
          `Debezium did not start re-reading ${progress.table} within ${SIGNAL_TIMEOUT_MS / 1000} s of the signal (is the connector running? GET /v1/pipeline)`,
        );
      }
      if (current.state === 'failed' || current.state === 'aborted') {
        throw new Error(
          `the re-read of ${progress.table} ${current.state} (${current.scanStatus ?? 'no status'})`,
        );
      }
    }
  }

  private async findResync(id: string) {
    const deadline = Date.now() + RESUME_GRACE_MS;
    for (;;) {
      const found = this.resyncs.list().find((h) => h.id === id);
      if (found || Date.now() > deadline) return found ?? null;
      await sleep(STEP_MS);
    }
  }

  /** Until the indexer group has applied every record the table's topic held after the re-read. */
  private async catchUp(progress: RebuildProgress, names: TableIndexNames): Promise<void> {
    const topic = `${this.config.SEARCHSYNC_TOPIC_PREFIX}.${names.schema}.${names.table}`;
    const admin = await this.infra.kafkaAdmin();
    // Debezium reports the scan complete when it has handed the last rows to Kafka Connect's
    // producer; give that producer a moment to have them written.
    await sleep(2000);
    const ends = (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      offset: p.high,
    }));
    for (;;) {
      if (this.stopped) throw new Error('admin stopping');
      const group = await admin
        .fetchOffsets({ groupId: this.config.INDEXER_GROUP_ID, topics: [topic] })
        .then(([offsets]) => offsets?.partitions ?? null)
        .catch((error: unknown) => {
          this.logger.warn(`indexer offsets unreadable, retrying: ${describe(error)}`);
          return null;
        });
      if (group && caughtUp(ends, group)) return;
      await sleep(STEP_MS);
    }
  }

  private async swap(
    progress: RebuildProgress,
    names: TableIndexNames,
    settings: TableSettings,
  ): Promise<void> {
    const generations = this.infra.engine.generations;
    const all = await generations.list(names);
    // The indexer could not map some columns in the new generation (e.g. an analyzer this
    // engine lacks): swapped in, those columns would silently stop being searchable.
    const refused = all.find((g) => g.index === names.index)?.meta.mappingRefused as
      { reason?: unknown } | undefined;
    if (refused) {
      throw new Error(
        `${String(refused.reason)} — the live index is unchanged; fix the table's fields in searchsync.yaml and rebuild again`,
      );
    }
    await generations.applySettings(names.index, { refresh: settings.index.refresh ?? '1s' });
    await generations.refresh(names.index);
    const live = (await generations.list(names)).filter((g) => g.live && g.index !== names.index);
    progress.state = 'swapping';
    await generations.swap(
      names.alias,
      names.index,
      live.map((g) => g.index),
    );
    progress.rowsDone = progress.rowsTotal ?? progress.rowsDone;
    progress.etaSeconds = 0;
    this.logger.log(
      `rebuild ${progress.id} of ${progress.table}: ${names.index} is live; dropping ${live.map((g) => g.index).join(', ') || 'nothing'}`,
    );
    await sleep(DROP_GRACE_MS);
    await generations
      .drop(live.map((g) => g.index))
      .catch((error: unknown) =>
        this.logger.warn(
          `old generation of ${progress.table} not dropped yet (the next pass does): ${describe(error)}`,
        ),
      );
    progress.state = 'completed';
    progress.completedAt = new Date().toISOString();
  }

  /**
   * One reconcile pass: rebuilds the indexer asked for (a column type the live index refuses),
   * rebuilds a restarted admin left mid-way, generations orphaned by a crash between the swap
   * and the drop, and index settings that apply live.
   */
  private async pass(): Promise<void> {
    if (this.passing || this.stopped) return;
    this.passing = true;
    try {
      const prefix = this.config.SEARCHSYNC_INDEX_PREFIX;
      const mappings = await this.infra.engine.listTableMappings(prefix);
      for (const mapping of mappings) {
        try {
          const key = `${mapping.schema}.${mapping.table}`;
          const generations = await this.infra.engine.generations.list(mapping);
          await this.resumeOrClean(mapping, generations);
          const asked = mapping.meta.needsRebuild as RebuildFlag | undefined;
          if (
            typeof asked?.reason === 'string' &&
            !this.isRebuilding(mapping) &&
            !generations.some((g) => g.building) &&
            !this.recentlyFailed(key) &&
            (await this.flagStillHolds(mapping, asked))
          ) {
            this.logger.warn(`${key}: automatic rebuild (${asked.reason})`);
            await this.start(key, asked.reason, 'automatic').catch((error: unknown) =>
              this.logger.warn(`automatic rebuild of ${key} not started: ${describe(error)}`),
            );
          }
          await this.applyLiveSettings(mapping);
        } catch (error) {
          // One table's trouble must not stop the pass for the others.
          this.logger.warn(`rebuild pass, ${mapping.schema}.${mapping.table}: ${describe(error)}`);
        }
      }
    } catch (error) {
      this.logger.warn(`rebuild pass: ${describe(error)}`);
    } finally {
      this.passing = false;
    }
  }

  /**
   * Whether the indexer's request still describes PostgreSQL. A replay of events older than an
   * ALTER TABLE carries the old column types and is refused by an index mapped for the new ones:
   * that flag is cleared, not acted on. A configuration change also makes mappings refused;
   * it is reported (needsRebuild) and rebuilt when the user asks, not behind their back.
   */
  private async flagStillHolds(
    mapping: TableName & { alias: string; meta: Record<string, unknown> },
    flag: RebuildFlag,
  ): Promise<boolean> {
    const settings = tableSettings(this.tableConfig.current(), mapping);
    if ((mapping.meta.config ?? DEFAULT_MAPPING_FINGERPRINT) !== mappingFingerprint(settings))
      return false;
    const table = await this.catalog
      .resolve(`${mapping.schema}.${mapping.table}`)
      .catch(() => null);
    if (!table) return false;
    const stale = Object.entries(flag.columns ?? {}).filter(([name, type]) => {
      const column = table.columns.find((c) => c.name === name);
      if (!column) return true;
      if (!type) return false;
      return ![column.baseType, column.sqlType].some((t) => t.toLowerCase() === type);
    });
    if (stale.length === 0) return true;
    this.logger.log(
      `${mapping.schema}.${mapping.table}: the indexer's rebuild request names column types PostgreSQL no longer has (${stale.map(([n, t]) => `${n} ${t}`).join(', ')}): a replay of older events; cleared`,
    );
    await this.infra.engine.setTableMeta(mapping.alias, { needsRebuild: null });
    return false;
  }

  /** A failed automatic rebuild is tried again only after a while, not every pass. */
  private recentlyFailed(key: string): boolean {
    const last = this.rebuilds.get(key);
    return (
      last?.state === 'failed' &&
      last.completedAt !== null &&
      Date.now() - Date.parse(last.completedAt) < 10 * 60_000
    );
  }

  private async resumeOrClean(
    mapping: TableName & { alias: string },
    generations: TableGeneration[],
  ): Promise<void> {
    const key = `${mapping.schema}.${mapping.table}`;
    const newestLive = Math.max(0, ...generations.filter((g) => g.live).map((g) => g.generation));
    const orphans = generations.filter((g) => !g.live && !g.building && g.generation < newestLive);
    if (orphans.length > 0) {
      this.logger.warn(
        `${key}: dropping generations left by an interrupted rebuild: ${orphans.map((g) => g.index).join(', ')}`,
      );
      await this.infra.engine.generations.drop(orphans.map((g) => g.index));
    }
    const strays = await this.infra.engine.generations.strays(mapping);
    if (strays.length > 0) {
      this.logger.warn(
        `${key}: dropping empty indices auto-created by late deletes: ${strays.join(', ')}`,
      );
      await this.infra.engine.generations.drop(strays);
    }
    const building = generations.find((g) => g.building);
    if (!building || this.isRebuilding(mapping)) return;
    const last = this.rebuilds.get(key);
    if (last?.state === 'failed' && last.index === building.index) {
      // A failed rebuild whose generation could not be dropped then.
      await this.infra.engine.generations.drop([building.index]);
      return;
    }
    // Only a generation this process did not start is resumed (its own are driven already).
    const record = parseRebuildRecord(building.meta.rebuild);
    if (!record || Date.parse(record.startedAt) > this.bootedAt) return;
    const names: TableIndexNames = {
      schema: mapping.schema,
      table: mapping.table,
      alias: mapping.alias,
      index: building.index,
    };
    const progress: RebuildProgress = {
      ...record,
      table: key,
      state: 'starting',
      generation: building.generation,
      index: building.index,
      previous: generations.filter((g) => g.live).map((g) => g.index),
      completedAt: null,
      rowsDone: 0,
      etaSeconds: null,
      docsPerSecond: null,
      error: null,
    };
    this.rebuilds.set(key, progress);
    this.logger.warn(`rebuild ${record.id} of ${key} resumed after a restart`);
    void this.drive(progress, names, tableSettings(this.tableConfig.current(), mapping), {
      resumed: true,
    });
  }

  /** replicas and refresh from the configuration, applied to the live index when they differ. */
  private async applyLiveSettings(mapping: TableName & { alias: string }): Promise<void> {
    const wanted = tableSettings(this.tableConfig.current(), mapping).index;
    if (wanted.replicas === undefined && wanted.refresh === undefined) return;
    const generations = this.infra.engine.generations;
    const current = await generations.liveSettings(mapping.alias);
    const change = {
      ...(wanted.replicas !== undefined && wanted.replicas !== current.replicas
        ? { replicas: wanted.replicas }
        : {}),
      ...(wanted.refresh !== undefined && wanted.refresh !== current.refresh
        ? { refresh: wanted.refresh }
        : {}),
    };
    if (Object.keys(change).length === 0) return;
    this.logger.log(
      `${mapping.schema}.${mapping.table}: index settings applied live: ${JSON.stringify(change)}`,
    );
    await generations.applySettings(mapping.alias, change);
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { ConnectorBackend } from '@searchsync/connect-client';
import type { SearchsyncConfig } from '@searchsync/config';
import {
  ADMIN_CONFIG,
  CONNECTOR_BACKEND,
  TABLE_CONFIG,
  type AdminConfig,
  type SearchsyncConfigWatcher,
} from './admin-config';
import {
  currentExclusions,
  ensureColumnExclusions,
  excludeEntry,
  waitForRestart,
  type ExclusionOutcome,
  type ExclusionProblem,
} from './column-exclusions';
import { Infrastructure } from './infrastructure.service';
import {
  describePublication,
  holdConfiguredTables,
  reconcilePublication,
  sendSnapshotSignal,
  type Exclusion,
  type PublicationSettings,
  type ReconcileReport,
} from './publication-manager';
import { tablesNeedingRetry, type RetryRecord } from './publication-snapshots';
import { ResyncService } from './resync.service';
import { notReplicatedColumns, TableCatalog, type NotReplicatedColumn } from './table-catalog';

const RETRY_WINDOW_MS = 10 * 60_000;
const RETRY_MAX_ATTEMPTS = 3;

export interface PublicationStatus {
  managed: boolean;
  /** When the last pass finished, and its outcome. */
  at: string | null;
  report: ReconcileReport | null;
  error: string | null;
  /**
   * The columns the connector's column.exclude.list must leave out (column-exclusions.ts): the
   * generated columns PostgreSQL does not replicate and the ones searchsync.yaml excludes.
   */
  columnExclusions: {
    /** `schema.table.column` */
    columns: string[];
    /** Why each of `columns` is excluded, by `schema.table.column`. */
    reasons: Record<string, string>;
    /** What of searchsync.yaml's exclusions cannot be applied (a key column, an unknown column). */
    problems: ExclusionProblem[];
    /** What the last pass found or did on the connector. */
    state: ExclusionOutcome['state'] | null;
    error: string | null;
  };
}

/**
 * Keeps the publication's membership right: at boot and every ADMIN_RECONCILE_INTERVAL_MS it
 * recomputes which synced tables can be published without breaking the application's writes,
 * fixes any drift (tables created while the event trigger was unavailable, keys added or
 * dropped, a publication of the older FOR TABLES IN SCHEMA form), reinstalls the event trigger
 * when it is missing, and keeps the list of tables kept out, with their fixes.
 */
@Injectable()
export class PublicationReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(PublicationReconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PublicationStatus> | null = null;
  private last: PublicationStatus;
  private lastLogged = '';
  private readonly retries = new Map<string, RetryRecord>();
  private metaError: string | null = null;
  private lastProblems = '';
  /** A pass asked for while one runs (its configuration may be older): run one more after it. */
  private again = false;
  private unsubscribe: (() => void) | null = null;
  /** Writes of the held tables, in order: the last one always has the newest configuration. */
  private holding: Promise<void> = Promise.resolve();
  private holdError: string | null = null;

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    private readonly infra: Infrastructure,
    private readonly resyncs: ResyncService,
    private readonly catalog: TableCatalog,
    @Inject(TABLE_CONFIG) private readonly tableConfig: SearchsyncConfigWatcher,
  ) {
    this.last = {
      managed: config.ADMIN_PUBLICATION_MANAGED,
      at: null,
      report: null,
      error: null,
      columnExclusions: { columns: [], reasons: {}, problems: [], state: null, error: null },
    };
  }

  get settings(): PublicationSettings {
    return {
      publication: this.config.SEARCHSYNC_PUBLICATION,
      schemas: this.config.SEARCHSYNC_SCHEMAS,
      ddlTrigger: this.config.ADMIN_PUBLICATION_DDL_TRIGGER,
    };
  }

  onApplicationBootstrap(): void {
    const pass = () => void this.reconcile();
    setTimeout(pass, 0).unref();
    this.timer = setInterval(pass, this.config.ADMIN_RECONCILE_INTERVAL_MS);
    // A changed searchsync.yaml reaches the connector now rather than at the next interval. The
    // tables it excludes columns of are held back from the DDL trigger first, even while a pass
    // waits for a task restart: a table created meanwhile must not stream before its exclusions.
    this.unsubscribe = this.tableConfig.onChange(() => {
      void this.holdConfigured();
      void this.reconcileAfterChange();
    });
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }

  /** One pass now (a pass already running is joined, not doubled). */
  reconcile(): Promise<PublicationStatus> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.reconcile();
      }
    });
    return this.running;
  }

  /** A pass that sees the configuration as it is now: after the running one, if any. */
  private reconcileAfterChange(): Promise<PublicationStatus> {
    if (this.running) this.again = true;
    return this.reconcile();
  }

  status(): PublicationStatus {
    return this.last;
  }

  /** Tables kept out of the publication, with the fix; empty until the first pass. */
  excludedTables(): Exclusion[] {
    return this.last.report?.excluded ?? [];
  }

  private async pass(): Promise<PublicationStatus> {
    const managed = this.config.ADMIN_PUBLICATION_MANAGED;
    try {
      // One configuration for the whole pass: the exclusions applied and the tables let in
      // must agree (a newer one held a table already: that table waits for the next pass).
      const tableConfig = this.tableConfig.current();
      if (managed) await this.holdConfigured();
      // Exclusions first: a table entering the publication with a snapshot signal needs them
      // in the running connector before Debezium reads the signal (it is read from the WAL).
      const excluded = await this.syncExclusions(tableConfig);
      const report = managed
        ? await reconcilePublication(
            this.infra.pool,
            this.settings,
            (line) => this.logger.log(line),
            { excludedColumns: excluded, tableConfig },
          )
        : await describePublication(this.infra.pool, this.settings);
      // null: another admin replica holds this pass; keep what we knew.
      this.last = {
        ...this.last,
        managed,
        at: new Date().toISOString(),
        report: report ?? this.last.report,
        error: null,
      };
      if (report) {
        this.logChanges(report);
        if (managed) await this.retrySkippedSnapshots(report);
      }
      await this.syncTableMeta();
    } catch (error) {
      const message = (error as Error).message;
      if (this.last.error !== message) {
        this.logger.warn(`publication ${this.settings.publication} not reconciled: ${message}`);
      }
      this.last = { ...this.last, managed, at: new Date().toISOString(), error: message };
    }
    return this.last;
  }

  /**
   * Keeps the connector's column.exclude.list = the user's entries + the generated columns of the
   * synced tables that PostgreSQL does not replicate + the columns searchsync.yaml excludes (as
   * the watcher has it now); the config (and so the task) changes only when that set changes.
   * Returns the entries the connector excludes now. No connector yet: whoever registers it
   * computes the same list, so every column counts as excluded.
   */
  private async syncExclusions(tableConfig: SearchsyncConfig): Promise<Set<string>> {
    const plan = await currentExclusions(this.infra.pool, this.settings, tableConfig);
    this.reportProblems(plan.problems);
    const outcome = await ensureColumnExclusions(
      this.backend,
      this.config.ADMIN_CONNECTOR_NAME,
      plan.columns,
      (line) => this.logger.log(line),
      plan.tables,
    );
    if (outcome.error && outcome.error !== this.last.columnExclusions.error) {
      this.logger.warn(
        `connector ${this.config.ADMIN_CONNECTOR_NAME}: column.exclude.list not updated (${outcome.error}); tables with generated columns wait before they enter the publication, and columns searchsync.yaml excludes may still reach Kafka`,
      );
    }
    const label = (c: { schema: string; table: string; column: string }) =>
      `${c.schema}.${c.table}.${c.column}`;
    this.last = {
      ...this.last,
      columnExclusions: {
        columns: plan.columns.map(label),
        reasons: Object.fromEntries(plan.columns.map((c) => [label(c), c.reason])),
        problems: plan.problems,
        state: outcome.state,
        error: outcome.error,
      },
    };
    return outcome.state === 'missing' ? new Set(plan.columns.map(excludeEntry)) : outcome.excluded;
  }

  /**
   * Records the tables searchsync.yaml excludes columns of (as the watcher has it when the write
   * runs) in the database, where the DDL trigger leaves them to this reconciler. Queued, so that
   * the newest configuration is the last one written. Never throws: when it fails, the previous
   * set stays in force and the next pass or change tries again.
   */
  private holdConfigured(): Promise<void> {
    const write = async () => {
      try {
        const change = await holdConfiguredTables(
          this.infra.pool,
          this.settings.publication,
          this.tableConfig.current(),
        );
        for (const table of change.held)
          this.logger.log(
            `${table}: searchsync.yaml excludes columns of it, so it enters publication ${this.settings.publication} only once the connector excludes them (never through the DDL trigger)`,
          );
        for (const table of change.released)
          this.logger.log(`${table}: no longer held back for configured exclusions`);
        this.holdError = null;
      } catch (error) {
        const message = (error as Error).message;
        if (this.holdError !== message)
          this.logger.warn(
            `tables with configured exclusions not recorded for the DDL trigger (${message}); it may publish such a table before the connector excludes its columns`,
          );
        this.holdError = message;
      }
    };
    this.holding = this.holding.then(write);
    return this.holding;
  }

  /** Says once (not every pass) what of searchsync.yaml's exclusions cannot be applied. */
  private reportProblems(problems: ExclusionProblem[]): void {
    const summary = JSON.stringify(problems.map((p) => p.message));
    if (summary === this.lastProblems) return;
    this.lastProblems = summary;
    for (const problem of problems) this.logger.warn(problem.message);
  }

  /**
   * Records in each synced table's index `_meta` which columns are in no document and why, for
   * GET /v1/tables; written when it differs from what the index holds (so also once an index
   * created later appears, or after the indexer re-created it).
   */
  private async syncTableMeta(): Promise<void> {
    const schemas = this.config.SEARCHSYNC_SCHEMAS;
    try {
      const mappings = (
        await this.infra.engine.listTableMappings(this.config.SEARCHSYNC_INDEX_PREFIX)
      ).filter((m) => schemas.includes(m.schema));
      if (mappings.length === 0) return;
      const wanted = new Map<string, NotReplicatedColumn[]>(
        (await this.catalog.all()).map((t) => [
          `${t.schema}.${t.table}`,
          notReplicatedColumns(t.columns),
        ]),
      );
      for (const mapping of mappings) {
        const want = wanted.get(`${mapping.schema}.${mapping.table}`);
        // A dropped table: the lifecycle service removes its index.
        if (!want) continue;
        const have: unknown = mapping.meta.notReplicated ?? [];
        if (JSON.stringify(have) === JSON.stringify(want)) continue;
        await this.infra.engine.setTableMeta(mapping.alias, { notReplicated: want });
      }
      this.metaError = null;
    } catch (error) {
      const message = (error as Error).message;
      if (this.metaError !== message)
        this.logger.warn(`not-replicated columns not recorded in the indices: ${message}`);
      this.metaError = message;
    }
  }

  /**
   * A table that entered the publication holding rows got a snapshot signal; Debezium skips it
   * as UNKNOWN_SCHEMA when it has not met the table yet (see publication-snapshots.ts). Restart
   * the connector's task so it reads every table's schema, then signal again.
   */
  private async retrySkippedSnapshots(report: ReconcileReport): Promise<void> {
    const now = Date.now();
    const tables = tablesNeedingRetry(
      this.resyncs.list(),
      new Set(report.published),
      this.retries,
      {
        now,
        windowMs: RETRY_WINDOW_MS,
        maxAttempts: RETRY_MAX_ATTEMPTS,
      },
    );
    if (tables.length === 0) return;
    for (const table of tables) {
      const tried = this.retries.get(table);
      this.retries.set(table, { count: (tried?.count ?? 0) + 1, at: now });
    }
    const name = this.config.ADMIN_CONNECTOR_NAME;
    if (!this.backend.capabilities.restartTasks) {
      this.logger.warn(
        `Debezium skipped the snapshot of ${tables.join(', ')} (table not known to its task yet) and ${this.backend.kind} cannot restart tasks: restart connector ${name}, then POST /v1/tables/<table>/resync`,
      );
      return;
    }
    this.logger.log(
      `Debezium skipped the snapshot of ${tables.join(', ')} (table not known to its task yet): restarting ${name} so it reads their schemas, then signalling again`,
    );
    await this.backend.restart(name, { includeTasks: true, onlyFailed: false });
    await waitForRestart(this.backend, name);
    for (const table of tables) {
      const dot = table.indexOf('.');
      const id = await sendSnapshotSignal(this.infra.pool, {
        schema: table.slice(0, dot),
        table: table.slice(dot + 1),
      });
      this.logger.log(`snapshot of ${table} signalled again (${id})`);
    }
  }

  /** Says once what changed in the kept-out list and the trigger, not every pass. */
  private logChanges(report: ReconcileReport): void {
    const summary = JSON.stringify({
      excluded: report.excluded.map((e) => e.table),
      deferred: report.deferred,
      trigger: report.trigger.state,
    });
    if (summary === this.lastLogged) return;
    this.lastLogged = summary;
    for (const table of report.excluded) this.logger.warn(`${table.table}: ${table.fix}`);
    for (const table of report.deferred)
      this.logger.log(
        `${table}: enters once the connector excludes its generated columns and the columns searchsync.yaml excludes`,
      );
    if (report.trigger.detail) this.logger.warn(report.trigger.detail);
  }
}

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
import {
  describePublication,
  reconcilePublication,
  sendSnapshotSignal,
  type Exclusion,
  type PublicationSettings,
  type ReconcileReport,
} from './publication-manager';
import { tablesNeedingRetry, type RetryRecord } from './publication-snapshots';
import { ResyncService } from './resync.service';

const RETRY_WINDOW_MS = 10 * 60_000;
const RETRY_MAX_ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PublicationStatus {
  managed: boolean;
  /** When the last pass finished, and its outcome. */
  at: string | null;
  report: ReconcileReport | null;
  error: string | null;
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

  constructor(
    @Inject(ADMIN_CONFIG) private readonly config: AdminConfig,
    @Inject(CONNECTOR_BACKEND) private readonly backend: ConnectorBackend,
    private readonly infra: Infrastructure,
    private readonly resyncs: ResyncService,
  ) {
    this.last = { managed: config.ADMIN_PUBLICATION_MANAGED, at: null, report: null, error: null };
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
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass now (a pass already running is joined, not doubled). */
  reconcile(): Promise<PublicationStatus> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
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
      const report = managed
        ? await reconcilePublication(this.infra.pool, this.settings, (line) =>
            this.logger.log(line),
          )
        : await describePublication(this.infra.pool, this.settings);
      // null: another admin replica holds this pass; keep what we knew.
      this.last = {
        managed,
        at: new Date().toISOString(),
        report: report ?? this.last.report,
        error: null,
      };
      if (report) {
        this.logChanges(report);
        if (managed) await this.retrySkippedSnapshots(report);
      }
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
    await this.waitForRunningTask(name);
    for (const table of tables) {
      const dot = table.indexOf('.');
      const id = await sendSnapshotSignal(this.infra.pool, {
        schema: table.slice(0, dot),
        table: table.slice(dot + 1),
      });
      this.logger.log(`snapshot of ${table} signalled again (${id})`);
    }
  }

  /** The restart is asynchronous: first see it leave RUNNING (briefly), then come back. */
  private async waitForRunningTask(name: string): Promise<void> {
    const running = async () => {
      const view = await this.backend.status(name).catch(() => null);
      return (
        view?.state === 'RUNNING' &&
        view.tasks.length > 0 &&
        view.tasks.every((t) => t.state === 'RUNNING')
      );
    };
    const left = Date.now() + 5000;
    while (Date.now() < left && (await running())) await sleep(250);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await running())) await sleep(500);
  }

  /** Says once what changed in the kept-out list and the trigger, not every pass. */
  private logChanges(report: ReconcileReport): void {
    const summary = JSON.stringify({
      excluded: report.excluded.map((e) => e.table),
      trigger: report.trigger.state,
    });
    if (summary === this.lastLogged) return;
    this.lastLogged = summary;
    for (const table of report.excluded) this.logger.warn(`${table.table}: ${table.fix}`);
    if (report.trigger.detail) this.logger.warn(report.trigger.detail);
  }
}

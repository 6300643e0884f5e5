import { Logger } from '@nestjs/common';
import type { ChangeEvent } from '@searchsync/change-events';
import type { SearchsyncConfig, ViewConfig } from '@searchsync/config';
import {
  ViewIndexWriteError,
  ViewRefresher,
  buildView,
  engineViewIndex,
  planView,
  readViewCatalog,
  viewBulkActions,
  mergeViewChanges,
  viewChanges,
  viewFailures,
  viewMapping,
  viewTables,
  type EngineViewIndex,
  type ViewChanges,
  type ViewTableChanges,
  type ViewFailure,
  type ViewIndex,
  type ViewPlan,
} from '@searchsync/document-views';
import {
  classifyEngineRejection,
  classifyRecordError,
  engineOutage,
  type DeadLetter,
  type DeadLetterReason,
  type DeadLetterSink,
} from '@searchsync/indexing';
import { retryableDatabaseError } from '@searchsync/pipeline-bootstrap';
import {
  SearchEngineError,
  buildingAlias,
  ensureViewIndex,
  viewConfigFingerprint,
  viewIndexNames,
  type BulkAction,
  type IndexedView,
  type SearchEngine,
  type ViewIndexNames,
} from '@searchsync/search-engine';
import type { Pool } from 'pg';
import type { IndexerMetrics } from './indexer-metrics';

/**
 * Keeps the document views of searchsync.yaml in step with PostgreSQL, inside the indexer's
 * batches: each view is planned against the catalogue, its index created, filled from every root
 * row (in the background: tables go on meanwhile), and after every batch of changes — before its
 * offsets are committed — the view documents the batch affected are re-read and written. A batch
 * whose view refresh fails for a passing reason (engine or database unreachable) fails as a whole
 * and is delivered again, exactly as for an engine outage on tables; any other failure sets that
 * view aside (logged, counted, in /health) and leaves the tables and the other views going on.
 *
 * Versions make every order of writes safe: each view document carries the version of the
 * PostgreSQL snapshot it was read in, so the build, refreshes of concurrent partitions and
 * replays may interleave as they like; the newest read wins.
 */

/** A view being kept in step: the one served, or a new generation of it being built. */
interface SyncedView {
  name: string;
  /** Its index: the view's alias, or a new generation's building alias. */
  names: ViewIndexNames;
  generation: number;
  plan: ViewPlan;
  /** Of the plan and mapping: `_meta.searchsync.config` of the index built for it. */
  fingerprint: string;
  index: EngineViewIndex;
  refresher: ViewRefresher;
  build: { done: Promise<void>; abort: AbortController } | null;
  /** The admin's rebuild request a new generation is built for, if any. */
  request?: string;
  /**
   * Rows changed while the build runs: refreshed once more when it has written everything. A
   * row that leaves a root after the build read the root's page, but before it wrote it, is
   * found neither by the refs (not written yet) nor in PostgreSQL (no longer related).
   */
  changedDuringBuild?: Map<string, ViewTableChanges>;
}

/** What /health says of one view. */
export interface ViewStatus {
  view: string;
  state: 'building' | 'following' | 'failed' | 'rebuilding' | 'rebuild_failed';
  /** Why it is set aside (failed), or why its last rebuild was abandoned, for a person. */
  error?: string;
  /** The generation being built (rebuilding). */
  generation?: number;
}

export interface ViewSyncOptions {
  indexPrefix: string;
  config: () => SearchsyncConfig;
  /**
   * How often the views are planned again without a configuration change: a column added to a
   * table a view takes every column of, a foreign key changed, a view set aside retried.
   */
  replanMs?: number;
}

/** Views are planned again this often without a configuration change (see ViewSyncOptions). */
const REPLAN_MS = 10_000;

/** How long an interrupted build waits before it starts again. */
const BUILD_RETRY_MS = 10_000;

/** Between a swap and dropping the old generation: searches already running on it finish. */
const SWAP_DROP_GRACE_MS = 3000;

/**
 * Refreshes share the gate; a swap takes it alone: it waits for the refreshes in flight and
 * holds new ones back until the alias has moved.
 */
class SwapGate {
  private active = 0;
  private swapping: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async enter(): Promise<void> {
    while (this.swapping) await this.swapping;
    this.active += 1;
  }

  leave(): void {
    this.active -= 1;
    if (this.active === 0) this.drained?.();
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.swapping) await this.swapping;
    let release!: () => void;
    this.swapping = new Promise<void>((resolve) => (release = resolve));
    try {
      while (this.active > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      return await work();
    } finally {
      this.drained = null;
      this.swapping = null;
      release();
    }
  }
}

/** How often the configuration is looked at for views to plan, without batches. */
const TICK_MS = 5000;

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Locations (file and line) say where a view is written, not what it is. */
const withoutLocations = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'location' ? undefined : v)));

/** The part of the plan that decides the documents and the mapping. */
function planFingerprint(plan: ViewPlan): string {
  return viewConfigFingerprint({
    mapping: viewMapping(plan),
    nodes: plan.nodes.map((node) => ({
      path: node.path,
      kind: node.kind,
      table: node.table.name,
      columns: node.columns.map((column) => column.name),
      join:
        node.join?.kind === 'through'
          ? { ...node.join, table: node.join.table.name }
          : (node.join ?? null),
    })),
  });
}

/** The dead-letter topic did not take a view's letters: Kafka's trouble, not the view's. */
export class ViewDeadLettersUnsentError extends Error {
  constructor(cause: unknown) {
    super(`view dead letters not sent: ${describe(cause)}`, { cause });
    this.name = 'ViewDeadLettersUnsentError';
  }
}

/** Whether the failure will pass by itself (the batch is then delivered again). */
export function passingViewFailure(error: unknown): boolean {
  if (error instanceof ViewDeadLettersUnsentError) return true;
  if (error instanceof ViewIndexWriteError) return error.retryable;
  if (engineOutage(error) !== null) return true;
  if (error instanceof SearchEngineError) return error.retryable;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && retryableDatabaseError(error as Error);
}

export class ViewSync {
  private readonly logger = new Logger(ViewSync.name);
  private readonly views = new Map<string, SyncedView>();
  /** New generations being built for a changed definition, by view: swapped in once full. */
  private readonly rebuilding = new Map<string, SyncedView>();
  private readonly gate = new SwapGate();
  /** Planning passes and swaps, one at a time: a swap never lands in a pass's stale listing. */
  private serial: Promise<unknown> = Promise.resolve();
  /** Work waiting on a timer; `onStop` work (dropping a replaced generation) runs at stop. */
  private readonly timers = new Map<
    NodeJS.Timeout,
    { work: () => Promise<unknown>; onStop: boolean }
  >();
  /** Views that could not be planned or were set aside, with why. */
  private readonly failed = new Map<string, string>();
  /** Why the last rebuild of a view was abandoned (tried again with the next planning). */
  private readonly rebuildFailures = new Map<string, string>();
  /** Of the configuration the views were last planned for. */
  private plannedFor: string | null = null;
  private plannedAt = 0;
  private keyOf: { config: SearchsyncConfig; key: string } | null = null;
  private planning: Promise<void> | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly engine: SearchEngine,
    private readonly pool: Pool,
    private readonly deadLetters: DeadLetterSink,
    private readonly metrics: IndexerMetrics,
    private readonly options: ViewSyncOptions,
  ) {}

  /** Whether any view is configured (only then do batches keep their events for us). */
  configured(): boolean {
    return this.options.config().views.size > 0;
  }

  status(): ViewStatus[] {
    const out: ViewStatus[] = [...this.views.values()].map((view) => ({
      view: view.name,
      state: view.build ? 'building' : 'following',
    }));
    for (const view of this.rebuilding.values()) {
      out.push({ view: view.name, state: 'rebuilding', generation: view.generation });
    }
    for (const [view, error] of this.failed) out.push({ view, state: 'failed', error });
    for (const [view, error] of this.rebuildFailures) {
      if (!this.rebuilding.has(view)) out.push({ view, state: 'rebuild_failed', error });
    }
    return out.sort((a, b) => a.view.localeCompare(b.view));
  }

  /**
   * Plans the configured views now and then every few seconds, batches or not: a view added to
   * searchsync.yaml is built without waiting for a change. A failure is the view's, never the
   * indexer's.
   */
  async start(): Promise<void> {
    const tick = () =>
      this.configured() || this.views.size > 0
        ? this.ensurePlanned().catch((error: unknown) =>
            this.logger.warn(`views not planned yet (tried again): ${describe(error)}`),
          )
        : Promise.resolve();
    this.timer = setInterval(() => void tick(), TICK_MS);
    this.timer.unref();
    await tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const due = [...this.timers].filter(([, pending]) => pending.onStop);
    for (const timer of this.timers.keys()) clearTimeout(timer);
    this.timers.clear();
    // A replaced generation is dropped now rather than never.
    await Promise.all(due.map(([, pending]) => pending.work().catch(() => undefined)));
    await this.planning?.catch(() => undefined);
    await Promise.all(
      [...this.views.values(), ...this.rebuilding.values()].map((view) => this.stopBuild(view)),
    );
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Re-indexes the view documents a batch's changes affect; called after the batch is applied
   * and before its offsets are committed. Throws what will pass (the batch is then delivered
   * again); sets a view aside for anything else.
   */
  async afterBatch(events: readonly ChangeEvent[]): Promise<void> {
    if (this.stopped || (!this.configured() && this.views.size === 0)) return;
    // Planning is the views' business: its failure never fails a batch (the tables' writes are
    // done); the views go on with their current plans and planning is tried again.
    await this.ensurePlanned().catch((error: unknown) =>
      this.logger.warn(`views not planned again (tried later): ${describe(error)}`),
    );
    if (events.length === 0 || this.views.size + this.rebuilding.size === 0) return;
    await this.gate.enter();
    try {
      // A generation being built follows the changes too: its documents are current at the swap.
      const views = [...this.views.values(), ...this.rebuilding.values()];
      const changes = viewChanges(
        events,
        views.map((view) => view.plan),
      );
      if (changes.size === 0) return;
      for (const view of views) await this.refresh(view, changes);
    } finally {
      this.gate.leave();
    }
  }

  private async refresh(view: SyncedView, changes: ViewChanges): Promise<void> {
    if (view.changedDuringBuild) mergeViewChanges(view.changedDuringBuild, changes);
    const labels = { view: view.name };
    const timer = this.metrics.viewRefreshSeconds.startTimer(labels);
    try {
      const result = await view.refresher.refresh(changes);
      if (result.roots === 0) return;
      this.metrics.viewRefreshRoots.inc(labels, result.roots);
      this.metrics.viewDocumentsWritten.inc(labels, result.written);
      this.metrics.viewDocumentsDeleted.inc(labels, result.deleted);
      await this.deadLetter(
        view,
        result.failures.map((f) => this.failureLetter(view, f)),
      );
      if (result.roots >= 1000) {
        this.logger.log(
          `view ${view.name}: ${result.roots} documents re-indexed in ${result.batches} batches, ${result.durationMs} ms`,
        );
      }
    } catch (error) {
      if (passingViewFailure(error)) throw error;
      this.setAside(view, error);
    } finally {
      timer();
    }
  }

  /** Plans again when the configuration changed, or every replanMs. */
  private async ensurePlanned(): Promise<void> {
    if (this.stopped) return;
    const config = this.options.config();
    // Once per configuration object (the watcher keeps it until a reload), not once per batch.
    if (this.keyOf?.config !== config) {
      const key = viewConfigFingerprint(
        withoutLocations({ views: [...config.views.values()], tables: [...config.tables] }),
      );
      this.keyOf = { config, key };
    }
    const key = this.keyOf.key;
    const due =
      key !== this.plannedFor ||
      Date.now() - this.plannedAt >= (this.options.replanMs ?? REPLAN_MS);
    if (!due) return;
    this.planning ??= this.inSerial(() => this.planAll(config, key)).finally(
      () => (this.planning = null),
    );
    await this.planning;
  }

  private inSerial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.serial.then(work);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async planAll(config: SearchsyncConfig, key: string): Promise<void> {
    for (const [name, view] of this.rebuilding) {
      if (config.views.has(name)) continue;
      await this.abandonRebuild(view, 'the view is no longer configured');
    }
    for (const [name, view] of this.views) {
      if (config.views.has(name)) continue;
      await this.stopBuild(view);
      this.views.delete(name);
      this.logger.log(
        `view ${name} is no longer configured: not followed any more (its index stays until deleted)`,
      );
    }
    for (const name of this.failed.keys()) if (!config.views.has(name)) this.failed.delete(name);
    const indexed = new Map(
      (await this.engine.listViews(this.options.indexPrefix)).map((v) => [v.view, v]),
    );
    for (const view of config.views.values()) {
      try {
        await this.planOne(view, config, indexed.get(view.name));
      } catch (error) {
        if (passingViewFailure(error)) throw error;
        await this.stopBuild(this.views.get(view.name));
        this.views.delete(view.name);
        this.noteFailed(view.name, error);
      }
    }
    this.plannedFor = key;
    this.plannedAt = Date.now();
  }

  private async planOne(
    view: ViewConfig,
    config: SearchsyncConfig,
    indexed: IndexedView | undefined,
  ): Promise<void> {
    const client = await this.pool.connect();
    let plan: ViewPlan;
    try {
      plan = planView(view, await readViewCatalog(client, viewTables(view)), { config });
    } finally {
      client.release();
    }
    const fingerprint = planFingerprint(plan);
    const failed = this.failed.has(view.name);
    const current = this.views.get(view.name);
    const building = this.rebuilding.get(view.name);
    // A rebuild asked for through the admin (view-rebuild.ts there), not yet served.
    const asked = indexed?.meta.rebuildRequested;
    const request =
      typeof asked === 'string' && asked !== indexed?.meta.rebuiltFor ? asked : undefined;
    if (building?.fingerprint === fingerprint && building.request === request) return;
    if (building) await this.abandonRebuild(building, 'the definition changed again');
    if (current?.fingerprint === fingerprint && !failed && request === undefined) return;

    if (indexed !== undefined && (indexed.meta.config !== fingerprint || request !== undefined)) {
      // Other fields or joins: a new generation is built behind the served one, following the
      // changes as it fills, and swapped in at once when full — searches never see it fill.
      const generation = (Number(/\.v(\d+)$/.exec(indexed.index)?.[1]) || 1) + 1;
      const names = viewIndexNames(this.options.indexPrefix, view.name, generation);
      // A generation left by an interrupted rebuild is made again: what it holds is unknown.
      await this.engine.generations.drop([names.index]);
      await ensureViewIndex(
        this.engine,
        names,
        viewMapping(plan),
        {
          config: fingerprint,
          ...(request ? { rebuildRequested: request, rebuiltFor: request } : {}),
        },
        { building: true },
      );
      const next = this.synced(view.name, plan, fingerprint, names, generation, true);
      next.request = request;
      this.rebuilding.set(view.name, next);
      this.logger.warn(
        `view ${view.name}: ${request ? `rebuild ${request} asked for` : 'its definition or its tables changed'}; ${names.index} is built and swapped in when full`,
      );
      this.startBuild(next, () => {
        // Not awaited by the build: a planning pass may be waiting for the build to stop.
        void this.inSerial(() => this.swapIn(next, indexed.index)).catch((error: unknown) =>
          this.setAside(next, error),
        );
        return Promise.resolve();
      });
      return;
    }

    const names = viewIndexNames(this.options.indexPrefix, view.name);
    await this.stopBuild(current);
    let built = indexed?.meta.built === fingerprint && !failed;
    if (await ensureViewIndex(this.engine, names, viewMapping(plan), { config: fingerprint })) {
      built = false;
    }
    const generation = Number(/\.v(\d+)$/.exec(indexed?.index ?? '')?.[1]) || 1;
    const synced = this.synced(view.name, plan, fingerprint, names, generation, false);
    this.views.set(view.name, synced);
    this.failed.delete(view.name);
    this.metrics.viewFailed.set({ view: view.name }, 0);
    if (!built) {
      this.startBuild(synced, () =>
        // What the admin's pipeline health reads, whichever replica built it.
        this.engine.setTableMeta(names.alias, { built: fingerprint, failed: null }),
      );
    } else this.logger.log(`view ${view.name}: following changes into ${names.alias}`);
  }

  private synced(
    name: string,
    plan: ViewPlan,
    fingerprint: string,
    names: ViewIndexNames,
    generation: number,
    building: boolean,
  ): SyncedView {
    const index = engineViewIndex(this.engine, {
      alias: building ? buildingAlias(names.index) : names.alias,
    });
    return {
      name,
      names,
      generation,
      plan,
      fingerprint,
      index,
      refresher: new ViewRefresher({ plan, index: this.lettering(name, index), pool: this.pool }),
      build: null,
    };
  }

  /**
   * The full new generation becomes the view in one atomic alias change, with no refresh in
   * flight (they write through its building alias, which the swap removes); the old one is
   * dropped after searches running on it have had time to finish.
   */
  private async swapIn(next: SyncedView, previous: string): Promise<void> {
    if (this.stopped || this.rebuilding.get(next.name) !== next) return;
    const swapped = await this.gate.exclusive(async () => {
      if (this.rebuilding.get(next.name) !== next) return false;
      // The served generation's own build (an older definition) writes through the alias.
      await this.stopBuild(this.views.get(next.name));
      const building = buildingAlias(next.names.index);
      const served = (await this.engine.listViews(this.options.indexPrefix)).find(
        (v) => v.view === next.name,
      );
      const asked = served?.meta.rebuildRequested;
      await this.engine.setTableMeta(building, {
        built: next.fingerprint,
        failed: null,
        // A rebuild asked for meanwhile, on the served generation: still to be done.
        ...(typeof asked === 'string' && asked !== served?.meta.rebuiltFor && asked !== next.request
          ? { rebuildRequested: asked }
          : {}),
      });
      // Searchable before it is searched: what it holds is served the instant it is live.
      await this.engine.refresh(building);
      await this.engine.generations.swap(next.names.alias, next.names.index, [previous]);
      this.rebuilding.delete(next.name);
      this.views.set(
        next.name,
        this.synced(next.name, next.plan, next.fingerprint, next.names, next.generation, false),
      );
      this.failed.delete(next.name);
      this.metrics.viewFailed.set({ view: next.name }, 0);
      return true;
    });
    if (!swapped) return;
    this.logger.log(`view ${next.name}: ${next.names.index} is live; ${previous} is dropped`);
    this.rebuildFailures.delete(next.name);
    this.later(
      SWAP_DROP_GRACE_MS,
      () =>
        this.engine.generations
          .drop([previous])
          .catch((error: unknown) =>
            this.logger.warn(`view ${next.name}: ${previous} not dropped: ${describe(error)}`),
          ),
      true,
    );
  }

  /** Runs `work` after `ms`, unless the indexer stops first (stop clears what is pending). */
  private later(ms: number, work: () => Promise<unknown>, onStop = false): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void work();
    }, ms);
    timer.unref();
    this.timers.set(timer, { work, onStop });
  }

  /** Stops a new generation's build and drops it; the next planning starts one again. */
  private async abandonRebuild(next: SyncedView, why: string): Promise<void> {
    if (this.rebuilding.get(next.name) !== next) return;
    this.rebuilding.delete(next.name);
    await this.stopBuild(next);
    this.noteRebuildFailed(next.name, why);
    await this.engine.generations.drop([next.names.index]).catch(() => undefined);
    this.logger.warn(`view ${next.name}: the build of ${next.names.index} is abandoned: ${why}`);
  }

  /**
   * Fills the view from every root row. Also after a view was set aside: the changes it missed
   * are in PostgreSQL, not in Kafka any more.
   */
  private startBuild(view: SyncedView, finish: () => Promise<void>): void {
    const abort = new AbortController();
    const labels = { view: view.name };
    this.metrics.viewBuilding.set(labels, 1);
    this.logger.log(
      `view ${view.name}: building ${view.index.alias} from ${view.plan.root.table.name}`,
    );
    const target = this.lettering(view.name, view.index);
    view.changedDuringBuild = new Map();
    const done = (async () => {
      const result = await buildView(
        view.plan,
        this.pool,
        async (results) => {
          const actions = viewBulkActions(target.alias, results);
          await target.write(actions);
          await this.deadLetter(
            view,
            viewFailures(results).map((f) => this.failureLetter(view, f)),
          );
          this.metrics.viewDocumentsWritten.inc(labels, actions.length);
        },
        (progress) => this.metrics.viewBuildRows.set(labels, progress.rows),
        { signal: abort.signal },
      );
      view.index.changed();
      // Aborted after its last page was read: it is not this build's to finish.
      if (abort.signal.aborted) return;
      const changed = view.changedDuringBuild;
      view.changedDuringBuild = undefined;
      if (changed && changed.size > 0) await this.refresh(view, changed);
      if (abort.signal.aborted) return;
      await finish();
      this.logger.log(
        `view ${view.name}: built, ${result.written} documents from ${result.rows} rows in ${result.batches} batches, ${result.durationMs} ms`,
      );
    })()
      .catch((error: unknown) => {
        if (abort.signal.aborted || this.stopped) return;
        if (passingViewFailure(error)) {
          // An outage: the same build again a little later (its pages are re-read anyway).
          this.logger.warn(
            `view ${view.name}: build interrupted, started again: ${describe(error)}`,
          );
          this.later(BUILD_RETRY_MS, () => {
            const current =
              this.views.get(view.name) === view || this.rebuilding.get(view.name) === view;
            if (current && !view.build) this.startBuild(view, finish);
            return Promise.resolve();
          });
          return;
        }
        this.setAside(view, error);
      })
      .finally(() => {
        if (view.build?.abort === abort) view.build = null;
        this.metrics.viewBuilding.set(labels, 0);
      });
    view.build = { done, abort };
  }

  private async stopBuild(view: SyncedView | undefined): Promise<void> {
    if (!view?.build) return;
    view.build.abort.abort();
    await view.build.done;
  }

  /** The view stops following changes until it is planned again (and then built again). */
  private setAside(view: SyncedView, error: unknown): void {
    if (this.rebuilding.get(view.name) === view) {
      // The served generation goes on; the new one is tried again with the next planning.
      void this.abandonRebuild(view, describe(error));
      return;
    }
    if (this.views.get(view.name) !== view) return;
    view.build?.abort.abort();
    this.views.delete(view.name);
    this.noteFailed(view.name, error);
    // Best effort, for the admin's pipeline health: the log and /health say it in any case.
    void this.engine
      .setTableMeta(view.index.alias, { failed: describe(error) })
      .catch(() => undefined);
  }

  private noteRebuildFailed(name: string, why: string): void {
    this.rebuildFailures.set(name, why);
  }

  private noteFailed(name: string, error: unknown): void {
    const text = describe(error);
    this.failed.set(name, text);
    this.metrics.viewFailed.set({ view: name }, 1);
    this.logger.error(
      `view ${name} set aside (planned and built again within ${Math.round((this.options.replanMs ?? REPLAN_MS) / 1000)} s, or when searchsync.yaml changes): ${text}`,
    );
  }

  /**
   * The view's index, with documents the engine refuses dead-lettered rather than failing the
   * write: one odd document must not stop a view, nor the batch behind it.
   */
  private lettering(name: string, index: EngineViewIndex): ViewIndex {
    return {
      alias: index.alias,
      rootIdsReferencing: (refs) => index.rootIdsReferencing(refs),
      allRootIdsReferencingTable: (prefix) => index.allRootIdsReferencingTable(prefix),
      write: async (actions: BulkAction[]) => {
        if (actions.length > 0) this.metrics.viewBulkWrites.inc({ view: name });
        try {
          await index.write(actions);
        } catch (error) {
          if (!(error instanceof ViewIndexWriteError) || error.retryable) throw error;
          // The index itself is gone: the view's failure (planned again, index made again and
          // built), not a dead letter for each of its documents.
          if (error.failures.some((failure) => failure.outcome === 'missing_index')) throw error;
          const view = this.views.get(name);
          const rootTable = view?.plan.root.table.name ?? '';
          await this.deadLetter(
            view ?? null,
            error.failures.map((failure) =>
              this.letter(
                name,
                rootTable,
                failure.id,
                classifyEngineRejection({
                  status: failure.status,
                  reason: failure.reason ?? failure.outcome,
                }),
              ),
            ),
          );
        }
      },
    };
  }

  private failureLetter(view: SyncedView, failure: ViewFailure): DeadLetter {
    return this.letter(
      view.name,
      view.plan.root.table.name,
      failure.id,
      classifyRecordError(failure.error),
    );
  }

  /**
   * A view document that could not be written. It is no Kafka record: the source is the view's
   * alias at offset -1, the key names the view and the root, the value is empty. The admin does
   * not replay it (nothing to decode); the next change of the root, or a rebuild, writes it.
   */
  private letter(
    view: string,
    rootTable: string,
    id: string,
    reason: DeadLetterReason,
  ): DeadLetter {
    return {
      topic: viewIndexNames(this.options.indexPrefix, view).alias,
      partition: -1,
      offset: '-1',
      key: Buffer.from(JSON.stringify({ view, id })),
      value: null,
      reason: `view ${view}, document ${JSON.stringify(id)}: ${reason.message}`,
      reasonClass: reason.class,
      table: rootTable,
    };
  }

  /** Publishes (and the publisher counts) the letters; Kafka failing to take them will pass. */
  private async deadLetter(view: SyncedView | null, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    for (const letter of letters) this.logger.warn(`dead-lettering ${letter.reason}`);
    if (view) this.metrics.viewDocumentsFailed.inc({ view: view.name }, letters.length);
    try {
      await this.deadLetters.publish(letters);
    } catch (error) {
      throw new ViewDeadLettersUnsentError(error);
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { ViewConfig } from '@searchsync/config';
import { qualifiedTableName } from '@searchsync/document-views';
import { buildingAlias, viewIndexNames, type SearchEngine } from '@searchsync/search-engine';
import { AdminError } from './admin.errors';
import type { RebuildProgress } from './rebuild-progress';

export class ViewRebuildConflictError extends AdminError {
  constructor(message: string) {
    super(message, 409);
  }
}

const generationOf = (index: string) => Number(/\.v(\d+)$/.exec(index)?.[1]) || 1;

/**
 * Rebuilds of document views on request. The indexer builds views, so the admin only asks: it
 * records the request in the view index's `_meta.searchsync.rebuildRequested`; the indexer's
 * next planning (within seconds) builds a new generation behind the served one, following the
 * changes, and swaps it in with `rebuiltFor` set to the request — which is how progress is read
 * back, whichever indexer replica did it and whether or not the admin restarted meanwhile.
 */
export class ViewRebuilds {
  private readonly requests = new Map<string, RebuildProgress>();

  constructor(
    private readonly engine: Pick<SearchEngine, 'listViews' | 'setTableMeta' | 'count'>,
    private readonly indexPrefix: string,
  ) {}

  async start(view: ViewConfig): Promise<RebuildProgress> {
    const running = this.requests.get(view.name);
    if (running && running.state !== 'completed') {
      const current = await this.progress(view);
      if (current.state !== 'completed') {
        throw new ViewRebuildConflictError(
          `a rebuild of view ${view.name} is already running; follow GET /v1/tables/${view.name}/rebuild`,
        );
      }
    }
    const live = (await this.engine.listViews(this.indexPrefix)).find((v) => v.view === view.name);
    if (!live) {
      throw new ViewRebuildConflictError(
        `view ${view.name} has no index yet: the indexer creates and builds it (GET /v1/pipeline)`,
      );
    }
    const generation = generationOf(live.index) + 1;
    const progress: RebuildProgress = {
      id: `rebuild-${randomUUID()}`,
      table: view.name,
      state: 'filling',
      reason: `view ${view.name} (root ${qualifiedTableName(view.root)}): requested`,
      trigger: 'request',
      generation,
      index: viewIndexNames(this.indexPrefix, view.name, generation).index,
      previous: [live.index],
      startedAt: new Date().toISOString(),
      completedAt: null,
      rowsTotal: null,
      rowsDone: 0,
      etaSeconds: null,
      docsPerSecond: null,
      resyncId: null,
      error: null,
    };
    await this.engine.setTableMeta(live.alias, { rebuildRequested: progress.id });
    this.requests.set(view.name, progress);
    return { ...progress };
  }

  /** The latest request's progress: completed once the served generation was built for it. */
  async progress(view: ViewConfig): Promise<RebuildProgress> {
    const request = this.requests.get(view.name);
    if (!request) {
      throw new AdminError(`no rebuild of view ${view.name} since the admin started`, 404);
    }
    if (request.state === 'completed') return { ...request };
    const live = (await this.engine.listViews(this.indexPrefix)).find((v) => v.view === view.name);
    if (live?.meta.rebuiltFor === request.id) {
      request.state = 'completed';
      request.completedAt = new Date().toISOString();
      request.index = live.index;
      request.rowsDone = await this.engine.count(live.alias).catch(() => request.rowsDone);
    } else {
      request.rowsDone = await this.engine
        .count(buildingAlias(request.index))
        .catch(() => request.rowsDone);
    }
    return { ...request };
  }

  list(): RebuildProgress[] {
    return [...this.requests.values()].map((p) => ({ ...p }));
  }
}

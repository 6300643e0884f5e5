import type { SearchsyncConfig } from '@searchsync/config';
import { qualifiedTableName, viewTables } from '@searchsync/document-views';
import type { IndexedView, SearchEngine } from '@searchsync/search-engine';

/** One document view of searchsync.yaml, as the pipeline health reports it. */
export interface ViewHealth {
  view: string;
  root: string;
  /** Every table it draws on, `schema.table`. */
  tables: string[];
  /** The alias it is searched through; null until the indexer created it. */
  index: string | null;
  /**
   * `missing`: no index yet; `building`: being filled from every root row; `following`: built,
   * and kept in step; `failed`: the indexer set it aside (`error` says why; retried by itself).
   */
  state: 'missing' | 'building' | 'following' | 'failed';
  documents: number | null;
  /**
   * Changes of its tables not yet applied: view documents are re-indexed inside the batch of
   * the change, before its offset is committed, so this is the pending fan-out as well.
   */
  kafkaLag: number | null;
  /** The oldest freshness of its tables: a view is as fresh as its stalest table. */
  freshnessSeconds: number | null;
  error: string | null;
}

/** What the view needs of the tables' health. */
export interface ViewTableProgress {
  table: string;
  kafkaLag: number | null;
  freshnessSeconds: number | null;
}

const sumOrNull = (values: (number | null)[]) =>
  values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0);

function stateOf(indexed: IndexedView | undefined): Pick<ViewHealth, 'state' | 'error'> {
  if (!indexed) return { state: 'missing', error: null };
  const meta = indexed.meta;
  if (typeof meta.failed === 'string') return { state: 'failed', error: meta.failed };
  return { state: meta.built === meta.config ? 'following' : 'building', error: null };
}

/** The configured views with their index, documents, lag and freshness; one listing a call. */
export async function viewHealth(
  engine: Pick<SearchEngine, 'listViews' | 'count'>,
  indexPrefix: string,
  config: SearchsyncConfig,
  tables: readonly ViewTableProgress[],
): Promise<ViewHealth[]> {
  if (config.views.size === 0) return [];
  const indexed = new Map((await engine.listViews(indexPrefix)).map((v) => [v.view, v]));
  const byTable = new Map(tables.map((t) => [t.table, t]));
  return Promise.all(
    [...config.views.values()].map(async (view) => {
      const found = indexed.get(view.name);
      const drawnOn = viewTables(view);
      const progress = drawnOn.map((table) => byTable.get(table));
      const freshness = progress.map((p) => p?.freshnessSeconds ?? null);
      return {
        view: view.name,
        root: qualifiedTableName(view.root),
        tables: drawnOn,
        index: found?.alias ?? null,
        ...stateOf(found),
        documents: found ? await engine.count(found.alias).catch(() => null) : null,
        kafkaLag: sumOrNull(progress.map((p) => p?.kafkaLag ?? null)),
        freshnessSeconds: freshness.some((f) => f === null)
          ? null
          : Math.max(...(freshness as number[])),
      };
    }),
  );
}

/** Why the views make the pipeline degraded (none when every view is followed). */
export function viewReasons(views: readonly ViewHealth[]): string[] {
  return views.flatMap((view) => {
    switch (view.state) {
      case 'missing':
        return [`view ${view.view} has no index yet (the indexer creates and builds it)`];
      case 'building':
        return [`view ${view.view} is being built (${view.documents ?? 0} documents so far)`];
      case 'failed':
        return [
          `view ${view.view} set aside by the indexer: ${view.error ?? 'unknown'} (it is planned and built again by itself; fix the cause)`,
        ];
      case 'following':
        return [];
    }
  });
}

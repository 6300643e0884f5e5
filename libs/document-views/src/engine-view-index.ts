import type {
  BulkAction,
  BulkItemResult,
  SearchEngine,
  ViewIndexNames,
} from '@searchsync/search-engine';
import { VIEW_REFS_FIELD } from './view-plan';
import type { ViewIndex } from './view-refresher';

/**
 * The ViewIndex port on the search engine: lookups by the refs field (a terms query, a prefix
 * query, pages by search_after on the document id), writes as bulk actions with external_gte
 * versions.
 *
 * Lookups must see every write finished before (the port's contract), and the engine searches
 * refreshed documents only: the index is refreshed before a lookup when something was written
 * through this object since the last refresh — once per lookup after writes, not per write, and
 * not at all for a run of lookups with no write between them. Writes to the view's indices made
 * elsewhere (a build's generation swapped in) are not seen: call `changed()` after them.
 */

/** The part of the engine a view index uses. */
export type ViewIndexEngine = Pick<
  SearchEngine,
  'bulk' | 'idsWithTerms' | 'idsWithPrefix' | 'refresh'
>;

/** One action the engine did not write, as it answered. */
export interface ViewWriteFailure {
  id: string;
  type: BulkAction['type'];
  status: number;
  outcome: BulkItemResult['outcome'];
  reason?: string;
}

/**
 * Some actions of a view write were not applied (and not stale). Retryable when every failure
 * is a throttle, an engine error or a write block — the refresh can run again as a whole (every
 * document is re-read, and versions only move forward); not when the engine refused a document
 * or the index is gone (the view needs its index created, or its mapping fixed, and a rebuild).
 */
export class ViewIndexWriteError extends Error {
  readonly retryable: boolean;
  constructor(
    readonly alias: string,
    readonly failures: readonly ViewWriteFailure[],
    /** Actions of the same write that were applied or stale (they stay written). */
    readonly written: number,
  ) {
    const first = failures[0];
    super(
      `view index ${alias}: ${failures.length} of ${failures.length + written} actions not written; first: ${first.type} ${JSON.stringify(first.id)} ${first.outcome} (${first.status})${first.reason ? `: ${first.reason}` : ''}`,
    );
    this.name = 'ViewIndexWriteError';
    this.retryable = failures.every((f) => f.outcome === 'retryable' || f.outcome === 'blocked');
  }
}

export interface EngineViewIndexOptions {
  /** Ids per lookup page (ID_PAGE_SIZE of the engine by default). */
  pageSize?: number;
}

export class EngineViewIndex implements ViewIndex {
  readonly alias: string;
  /**
   * Bulk requests written; actions applied; actions refused as stale — a document already
   * written from a newer (or the same) snapshot, which is not an error; refreshes made.
   */
  readonly stats = { writes: 0, applied: 0, stale: 0, refreshes: 0 };
  /** Written through here since the last refresh (true at first: writes before us count). */
  private unrefreshed = true;

  constructor(
    private readonly engine: ViewIndexEngine,
    names: Pick<ViewIndexNames, 'alias'>,
    private readonly options: EngineViewIndexOptions = {},
  ) {
    this.alias = names.alias;
  }

  /** Says that the view's index was written to elsewhere: the next lookup refreshes it. */
  changed(): void {
    this.unrefreshed = true;
  }

  async rootIdsReferencing(refs: readonly string[]): Promise<string[]> {
    if (refs.length === 0) return [];
    await this.refreshIfWritten();
    const ids: string[] = [];
    for await (const page of this.engine.idsWithTerms(
      this.alias,
      VIEW_REFS_FIELD,
      refs,
      this.options.pageSize,
    ))
      ids.push(...page);
    return ids;
  }

  async *allRootIdsReferencingTable(prefix: string): AsyncIterable<string[]> {
    // Once, before the first page: writes between pages change documents the cursor has
    // passed (dropped from the answer, or not) or is yet to reach (re-read again at worst,
    // deduplicated by the refresh), so later pages need not see them.
    await this.refreshIfWritten();
    yield* this.engine.idsWithPrefix(this.alias, VIEW_REFS_FIELD, prefix, this.options.pageSize);
  }

  async write(actions: BulkAction[]): Promise<void> {
    if (actions.length === 0) return;
    // Before the request: a failed bulk may still have written some of its actions.
    this.unrefreshed = true;
    const results = await this.engine.bulk(actions);
    // And after it: a refresh that ran meanwhile (concurrent use) may have missed them.
    this.unrefreshed = true;
    this.stats.writes += 1;
    const failures: ViewWriteFailure[] = [];
    results.forEach((result, i) => {
      if (result.outcome === 'applied') this.stats.applied += 1;
      else if (result.outcome === 'stale') this.stats.stale += 1;
      else {
        failures.push({
          id: actions[i].id,
          type: actions[i].type,
          status: result.status,
          outcome: result.outcome,
          ...(result.reason !== undefined ? { reason: result.reason } : {}),
        });
      }
    });
    if (failures.length > 0)
      throw new ViewIndexWriteError(this.alias, failures, actions.length - failures.length);
  }

  private async refreshIfWritten(): Promise<void> {
    if (!this.unrefreshed) return;
    // Cleared first: a write that finishes while the refresh runs marks it again.
    this.unrefreshed = false;
    try {
      await this.engine.refresh(this.alias);
      this.stats.refreshes += 1;
    } catch (error) {
      this.unrefreshed = true;
      throw error;
    }
  }
}

/** The ViewIndex of a view's alias on the engine. */
export function engineViewIndex(
  engine: ViewIndexEngine,
  names: Pick<ViewIndexNames, 'alias'>,
  options?: EngineViewIndexOptions,
): EngineViewIndex {
  return new EngineViewIndex(engine, names, options);
}

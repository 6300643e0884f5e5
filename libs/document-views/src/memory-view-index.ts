import type { BulkAction, JsonObject } from '@searchsync/search-engine';
import { VIEW_REFS_FIELD } from './view-plan';
import type { ViewIndex } from './view-refresher';

/**
 * A ViewIndex held in memory, with the engine's semantics where the refresh relies on them:
 * external_gte versions (an older write is stale, deletes leave a versioned tombstone), lookups
 * by exact ref and by ref prefix, prefix pages by a cursor on the id. For tests and dry runs —
 * the indexer's is the search engine.
 */
export class MemoryViewIndex implements ViewIndex {
  private readonly entries = new Map<string, { version: bigint; document: JsonObject | null }>();
  /** Ids of the live documents holding each ref (the engine's inverted index of the field). */
  private readonly byRef = new Map<string, Set<string>>();
  /** Bulk requests written, actions applied, actions refused as stale. */
  readonly stats = { writes: 0, applied: 0, stale: 0, largestWrite: 0 };

  constructor(
    readonly alias = 'view',
    private readonly pageSize = 1000,
  ) {}

  async rootIdsReferencing(refs: readonly string[]): Promise<string[]> {
    await Promise.resolve();
    const ids = new Set<string>();
    for (const ref of refs) for (const id of this.byRef.get(ref) ?? []) ids.add(id);
    return [...ids].sort();
  }

  async *allRootIdsReferencingTable(prefix: string): AsyncIterable<string[]> {
    let after: string | null = null;
    for (;;) {
      await Promise.resolve();
      const page = this.liveIds()
        .filter((id) => after === null || id > after)
        .filter((id) => this.refsOf(id).some((ref) => ref.startsWith(prefix)))
        .slice(0, this.pageSize);
      if (page.length === 0) return;
      after = page[page.length - 1];
      yield page;
    }
  }

  async write(actions: BulkAction[]): Promise<void> {
    await Promise.resolve();
    this.stats.writes += 1;
    this.stats.largestWrite = Math.max(this.stats.largestWrite, actions.length);
    for (const action of actions) {
      const stored = this.entries.get(action.id);
      if (stored && stored.version > action.version) {
        this.stats.stale += 1;
        continue;
      }
      this.stats.applied += 1;
      for (const ref of this.refsOf(action.id)) this.byRef.get(ref)?.delete(action.id);
      this.entries.set(action.id, {
        version: action.version,
        document: action.type === 'index' ? action.document : null,
      });
      for (const ref of this.refsOf(action.id)) {
        let ids = this.byRef.get(ref);
        if (!ids) this.byRef.set(ref, (ids = new Set()));
        ids.add(action.id);
      }
    }
  }

  /** The documents held (not deleted), by id, with their refs field. */
  documents(): Map<string, JsonObject> {
    const out = new Map<string, JsonObject>();
    for (const [id, entry] of this.entries) if (entry.document) out.set(id, entry.document);
    return out;
  }

  /** The version held for the id (a deleted document's too), or null. */
  version(id: string): bigint | null {
    return this.entries.get(id)?.version ?? null;
  }

  private liveIds(): string[] {
    return [...this.entries]
      .filter(([, entry]) => entry.document !== null)
      .map(([id]) => id)
      .sort();
  }

  private refsOf(id: string): string[] {
    const refs = this.entries.get(id)?.document?.[VIEW_REFS_FIELD];
    return Array.isArray(refs) ? (refs as string[]) : [];
  }
}

import type { BulkAction } from '@searchsync/search-engine';
import { viewBulkActions, viewFailures, type ViewFailure } from './view-bulk';
import type { ViewChanges } from './view-changes';
import { VIEW_READ_BATCH } from './view-documents';
import { keyTextsFromDocumentId, viewRef, viewRefPrefix, type RowKey } from './view-keys';
import type { ViewPlan } from './view-plan';
import {
  poolViewReader,
  type ViewPool,
  type ViewReader,
  type ViewReaderSource,
} from './view-reader';
import { ViewRootIdInvalidError } from './view-refresh.errors';

/**
 * Re-indexes exactly the view documents a batch of changes affects: the roots whose documents
 * drew on a touched row (found by their refs in the index: updates, deletes, key changes, rows
 * leaving a relation) and the roots reaching a touched row in PostgreSQL now (inserts, rows newly
 * joined), each re-read from PostgreSQL in batches and written with its snapshot's version.
 *
 * A truncate of a table: every root whose refs name a row of it. Every document refers to its
 * own root row, so a truncate of the root table reaches every document the same way; each is
 * re-read — a delete, versioned like any other, unless the root was inserted again since —
 * rather than emptied by an unversioned delete-by-query, so an older write still in flight cannot
 * bring a document back and the rows inserted after the truncate are written, not wiped.
 *
 * Memory: root ids (and keys) are held to dedupe; documents one batch at a time (read, write,
 * then the next batch), however large the fan-out.
 */

/** Refs per index lookup (engines cap a terms query at 65,536 terms by default). */
export const VIEW_REF_LOOKUP_BATCH = 1000;

/**
 * Touched rows per affected-roots statement: it returns root keys only (the documents are read
 * in batches after), so larger than a read batch, for fewer round trips on large changes.
 */
export const VIEW_ROW_LOOKUP_BATCH = 5000;

/** The view's index, as the refresh needs it: a port the indexer implements on the engine. */
export interface ViewIndex {
  /** Where writes go (the alias; a building generation gets its copies from `write`). */
  readonly alias: string;
  /**
   * Ids of the documents whose refs field holds any of these refs (at most
   * VIEW_REF_LOOKUP_BATCH), every page of the answer. It must see every write `write` finished
   * before (e.g. writes with `refresh: wait_for`, or a refresh before the lookup): a document
   * written but not yet searchable would not be found, and stay stale.
   */
  rootIdsReferencing(refs: readonly string[]): Promise<string[]>;
  /**
   * Ids of every document with a ref starting with `prefix` (viewRefPrefix of a table), page by
   * page. Writes happen between pages, and documents rewritten without such a ref then no longer
   * match: pages must follow a cursor (search_after on the id), not an offset, so that nothing
   * not yet yielded is skipped.
   */
  allRootIdsReferencingTable(prefix: string): AsyncIterable<string[]>;
  /** Writes the actions (external_gte versions); throws when they could not be written. */
  write(actions: BulkAction[]): Promise<void>;
}

export interface ViewRefreshProgress {
  /** Distinct roots re-read so far. */
  roots: number;
  batches: number;
}

export interface ViewRefreshResult {
  /** Distinct roots affected (re-read, or failed). */
  roots: number;
  /** Documents written (index actions). */
  written: number;
  /** Deletes written (roots that no longer exist). */
  deleted: number;
  /** failures.length */
  failed: number;
  /** Documents that could not be written, for the caller to dead-letter. */
  failures: ViewFailure[];
  /** Read-and-write batches. */
  batches: number;
  durationMs: number;
}

export type ViewRefresherOptions = {
  plan: ViewPlan;
  index: ViewIndex;
  /** Roots per read and write; VIEW_READ_BATCH. */
  batchSize?: number;
} & ({ pool: ViewPool } | { reader: ViewReaderSource });

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let at = 0; at < items.length; at += size) yield items.slice(at, at + size);
}

export class ViewRefresher {
  readonly plan: ViewPlan;
  private readonly index: ViewIndex;
  private readonly reader: ViewReaderSource;
  private readonly batchSize: number;
  private readonly tables: Set<string>;

  constructor(options: ViewRefresherOptions) {
    this.plan = options.plan;
    this.index = options.index;
    this.reader = 'reader' in options ? options.reader : poolViewReader(options.plan, options.pool);
    this.batchSize = Math.max(1, options.batchSize ?? VIEW_READ_BATCH);
    this.tables = new Set(options.plan.tables);
  }

  /**
   * Re-indexes the documents these changes affect; see the file's comment. Throws when a read
   * or a write fails, after the batches before it were written: running the whole refresh
   * again is safe (every document is re-read, and versions only move forward).
   */
  async refresh(
    changes: ViewChanges,
    onProgress?: (progress: ViewRefreshProgress) => void,
  ): Promise<ViewRefreshResult> {
    const started = performance.now();
    const relevant = [...changes.values()].filter((change) => this.tables.has(change.table));
    const run = new RefreshRun(this.plan, this.index, this.batchSize, onProgress);
    if (relevant.length > 0) {
      await this.reader.withReader(async (reader) => {
        for (const change of relevant) {
          await run.collect(reader, change.table, change.rows, change.truncated);
        }
        await run.flush(reader);
      });
    }
    return { ...run.result(), durationMs: Math.round(performance.now() - started) };
  }
}

/** One refresh: the roots seen so far, the batch being filled, the counts. */
class RefreshRun {
  private readonly rootTable: string;
  private readonly rootWidth: number;
  /** Keys queued or read (JSON of the key texts). */
  private readonly seenKeys = new Set<string>();
  /** Document ids read (or failed): two key texts may name one root (`1` and `01`). */
  private readonly doneIds = new Set<string>();
  private pending: RowKey[] = [];
  private written = 0;
  private deleted = 0;
  private batches = 0;
  private readonly failures: ViewFailure[] = [];

  constructor(
    private readonly plan: ViewPlan,
    private readonly index: ViewIndex,
    private readonly batchSize: number,
    private readonly onProgress?: (progress: ViewRefreshProgress) => void,
  ) {
    this.rootTable = plan.root.table.name;
    this.rootWidth = plan.root.table.key.length;
  }

  async collect(
    reader: ViewReader,
    table: string,
    rows: ReadonlyMap<string, RowKey | null>,
    truncated: boolean,
  ): Promise<void> {
    const keys = [...rows.values()].filter((key): key is RowKey => key !== null);
    // A root row is its own document: no lookup needed to know it is affected (and a delete
    // right after a write the index cannot find yet still reaches it).
    if (table === this.rootTable) for (const key of keys) await this.addKey(reader, key);
    for (const ids of chunks([...rows.keys()], VIEW_REF_LOOKUP_BATCH)) {
      const found = await this.index.rootIdsReferencing(ids.map((id) => viewRef(table, id)));
      for (const id of found) await this.addId(reader, id);
    }
    if (truncated) {
      for await (const page of this.index.allRootIdsReferencingTable(viewRefPrefix(table))) {
        for (const id of page) await this.addId(reader, id);
      }
    }
    for (const batch of chunks(keys, VIEW_ROW_LOOKUP_BATCH)) {
      for (const key of await reader.affectedRoots(table, batch)) await this.addKey(reader, key);
    }
  }

  private async addId(reader: ViewReader, id: string): Promise<void> {
    if (this.doneIds.has(id)) return;
    const key = keyTextsFromDocumentId(id, this.rootWidth);
    if (key) return this.addKey(reader, key);
    this.doneIds.add(id);
    this.failures.push({
      id,
      version: null,
      error: new ViewRootIdInvalidError(this.plan.name, id, this.rootWidth),
    });
  }

  private async addKey(reader: ViewReader, key: RowKey): Promise<void> {
    const seen = JSON.stringify(key);
    if (this.seenKeys.has(seen)) return;
    this.seenKeys.add(seen);
    this.pending.push(key);
    if (this.pending.length >= this.batchSize) await this.flush(reader);
  }

  async flush(reader: ViewReader): Promise<void> {
    if (this.pending.length === 0) return;
    const keys = this.pending;
    this.pending = [];
    const results = (await reader.readDocuments(keys)).filter((result) => {
      if (this.doneIds.has(result.id)) return false;
      this.doneIds.add(result.id);
      return true;
    });
    const actions = viewBulkActions(this.index.alias, results);
    if (actions.length > 0) await this.index.write(actions);
    for (const action of actions) {
      if (action.type === 'delete') this.deleted += 1;
      else this.written += 1;
    }
    this.failures.push(...viewFailures(results));
    this.batches += 1;
    this.onProgress?.({ roots: this.doneIds.size, batches: this.batches });
  }

  result(): Omit<ViewRefreshResult, 'durationMs'> {
    return {
      roots: this.doneIds.size,
      written: this.written,
      deleted: this.deleted,
      failed: this.failures.length,
      failures: this.failures,
      batches: this.batches,
    };
  }
}

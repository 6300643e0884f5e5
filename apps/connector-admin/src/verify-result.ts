import type { NotReplicatedColumn } from './table-catalog';

export interface VerifyResult {
  table: string;
  rows: number;
  documents: number;
  missing: string[];
  extra: string[];
  mismatched: string[];
  missingTotal: number;
  extraTotal: number;
  mismatchedTotal: number;
  /** Mismatched documents per column: where to look first. */
  mismatchedColumns: Record<string, number>;
  /** Columns not compared because replication does not carry them (generated, unsupported type). */
  notReplicated: NotReplicatedColumn[];
  /** Columns not compared because searchsync.yaml keeps them out of the documents. */
  excluded: string[];
  /**
   * Documents that still hold a column searchsync.yaml excludes (indexed before the exclusion
   * was configured): not mismatched — a rebuild of the table removes the column.
   */
  staleExcluded: number;
  /** The id lists hold at most this many ids each; the totals count all. */
  limit: number;
  durationMs: number;
  rowsPerSecond: number;
}

export type VerifyList = 'missing' | 'extra' | 'mismatched';

/** A verify that has compared nothing yet, with how to note each difference (lists capped). */
export function startVerify(
  table: string,
  documents: number,
  limit: number,
  columns: Pick<VerifyResult, 'notReplicated' | 'excluded'> = { notReplicated: [], excluded: [] },
): { result: VerifyResult; note: (list: VerifyList, id: string) => void } {
  const result: VerifyResult = {
    table,
    rows: 0,
    documents,
    missing: [],
    extra: [],
    mismatched: [],
    missingTotal: 0,
    extraTotal: 0,
    mismatchedTotal: 0,
    mismatchedColumns: {},
    ...columns,
    staleExcluded: 0,
    limit,
    durationMs: 0,
    rowsPerSecond: 0,
  };
  const note = (list: VerifyList, id: string) => {
    result[`${list}Total`] += 1;
    if (result[list].length < limit) result[list].push(id);
  };
  return { result, note };
}

/** Sets the duration and the rate (rows and documents read per second). */
export function finishVerify(result: VerifyResult, began: number): VerifyResult {
  result.durationMs = Date.now() - began;
  result.rowsPerSecond = Math.round(
    (result.rows + result.documents) / Math.max(result.durationMs / 1000, 0.001),
  );
  return result;
}

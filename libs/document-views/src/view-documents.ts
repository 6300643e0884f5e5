import {
  documentId,
  quoteIdent,
  ROW_SESSION_SETTINGS,
  rowDocumentValue,
  wireExpression,
  type DocumentValue,
} from '@searchsync/change-events';
import type { PoolClient } from 'pg';
import { viewRef, type RowKey } from './view-keys';
import type { PlannedColumn, PlannedTable, ViewNode, ViewPlan } from './view-plan';
import {
  columnList,
  equalities,
  joinAlias,
  joinConditions,
  keyParameters,
  nodeAlias,
  tableSql,
  unnestKeys,
} from './view-sql';
import { ViewDocumentValueError } from './view.errors';

/**
 * Building view documents from PostgreSQL (never from event payloads): one statement per batch
 * of root keys reads every root row with its relations nested as JSON of wire-form texts, and the
 * snapshot it read them in; TS then converts each text with the indexer's own conversion
 * (rowDocumentValue), so every value is what a table document of that row holds.
 */

/** Root keys per statement the indexer is meant to read (the batch of a fan-out). */
export const VIEW_READ_BATCH = 500;

/** Bits of a version below the snapshot's xmax: room for the count of in-progress transactions. */
export const XIP_BITS = 20;
const XIP_LIMIT = (1n << BigInt(XIP_BITS)) - 1n;

/**
 * The external version of documents read in a snapshot: xmax · 2^20 + (2^20 − 1 − in-progress
 * count, capped). A later snapshot has a greater or equal xmax, and at equal xmax only fewer
 * transactions still running (none below xmax can start), so it never gets a smaller version; an
 * equal version means the same xmax and the same in-progress set, so the same visibility — the
 * same document. A change committed in between makes the version strictly greater.
 */
export function snapshotVersion(xmax: bigint, xipCount: number): bigint {
  const inProgress = BigInt(Math.max(0, Math.trunc(xipCount)));
  return (
    (xmax << BigInt(XIP_BITS)) + (XIP_LIMIT - (inProgress < XIP_LIMIT ? inProgress : XIP_LIMIT))
  );
}

export interface ViewDocument {
  id: string;
  version: bigint;
  deleted: false;
  document: { [field: string]: DocumentValue };
  /** viewRef of every row the document drew on (root, embedded, join rows), sorted, once each. */
  refs: string[];
}

/** The root row does not exist (any more) in the snapshot read: delete its document. */
export interface DeletedViewDocument {
  id: string;
  version: bigint;
  deleted: true;
}

/** A value of the document the conversion refuses (as it would the row's change event). */
export interface FailedViewDocument {
  id: string;
  version: bigint;
  deleted: false;
  error: ViewDocumentValueError;
}

export type ViewDocumentResult = ViewDocument | DeletedViewDocument | FailedViewDocument;

export interface ViewDocumentsQuery {
  /**
   * The statement; the same whatever the batch size (one array parameter per root key column),
   * so it can be prepared once per plan.
   */
  text: string;
  /** Its parameters for a batch of root keys (each in key order, PostgreSQL input text). */
  parameters: (keys: readonly RowKey[]) => (string | null)[][];
}

const wireAs = (column: PlannedColumn, alias: string) => wireExpression(column.plan, alias);

/** `array[<wire texts>]::text[]` of the columns, read from `alias`. */
const textArray = (columns: PlannedColumn[], alias: string) =>
  `array[${columns.map((c) => wireAs(c, alias)).join(', ')}]::text[]`;

/**
 * One embedded row as JSON: `[ [column texts], [join-row key texts] | null, relation, … ]` —
 * positional, so no field name of the user's can collide with ours.
 */
function elementSql(node: ViewNode): string {
  const joinKeys =
    node.join?.kind === 'through' ? textArray(node.join.table.keyColumns, joinAlias(node)) : 'null';
  const relations = node.embed.map((child) => `, ${relationSql(child, node)}`).join('');
  return `json_build_array(${textArray(node.columns, nodeAlias(node))}, ${joinKeys}${relations})`;
}

/** The relation of `node` for the current row of `parent`: an element, null, or an array. */
function relationSql(node: ViewNode, parent: ViewNode): string {
  const self = nodeAlias(node);
  const { joinTable, joinOn, nodeOn } = joinConditions(node, parent);
  const from = `${tableSql(node.table)} ${self}`;
  const order = columnList(self, node.table.key);
  switch (node.kind) {
    case 'one':
      return `(select ${elementSql(node)} from ${from} where ${nodeOn})`;
    case 'many':
      return `coalesce((select json_agg(${elementSql(node)} order by ${order}) from ${from} where ${nodeOn}), '[]'::json)`;
    case 'through': {
      const via = joinAlias(node);
      const table = joinTable as PlannedTable;
      return `coalesce((select json_agg(${elementSql(node)} order by ${order}, ${columnList(via, table.key)}) from ${tableSql(table)} ${via} join ${from} on ${nodeOn} where ${joinOn}), '[]'::json)`;
    }
    case 'root':
      throw new RangeError('the root is no relation');
  }
}

/**
 * The statement reading a batch of roots: one row per requested key (in request order) with
 * the requested key in wire form (`q<i>`), whether the root exists, its columns (`c<i>`), each
 * relation as JSON (`r<i>`), and the snapshot's xmax and in-progress count.
 */
export function viewDocumentsQuery(plan: ViewPlan): ViewDocumentsQuery {
  const root = plan.root;
  const self = nodeAlias(root);
  const keys = root.table.keyColumns;
  const keyNames = keys.map((_, i) => `k${i}`);
  const requested = keys
    .map((k, i) => `${wireExpression({ ...k.plan, name: keyNames[i] }, 'k')} as q${i}`)
    .join(', ');
  const columns = root.columns.map((c, i) => `${wireAs(c, self)} as c${i}`).join(', ');
  const relations = root.embed.map((child, i) => `, ${relationSql(child, root)} as r${i}`).join('');
  const text =
    `with k as (select * from ${unnestKeys(keys.map((k) => k.sqlType))} with ordinality as k(${keyNames.join(', ')}, ord)), ` +
    `snap as (select pg_current_snapshot() as s) ` +
    `select k.ord, ${requested}, ${self}.${quoteIdent(root.table.key[0])} is not null as found, ${columns}${relations}, ` +
    `pg_snapshot_xmax(snap.s)::text as xmax, (select count(*) from pg_snapshot_xip(snap.s))::int as xip ` +
    `from k cross join snap left join ${tableSql(root.table)} ${self} on ${equalities(self, root.table.key, 'k', keyNames)} ` +
    `order by k.ord`;
  return { text, parameters: (batch) => keyParameters(batch, keys.length) };
}

/** One row of the statement as node-postgres returns it (json columns parsed). */
export type ViewDocumentsRow = Record<string, unknown> & {
  found: boolean;
  xmax: string;
  xip: number;
};

/** An embedded row as the statement gives it (see elementSql). */
type Element = [(string | null)[], (string | null)[] | null, ...unknown[]];

const keyPositionsOf = new WeakMap<ViewNode, number[]>();

/** Where the node's key columns are among its columns, in key order. */
function keyPositions(node: ViewNode): number[] {
  let positions = keyPositionsOf.get(node);
  if (!positions) {
    positions = node.table.key.map((name) => node.columns.findIndex((c) => c.name === name));
    keyPositionsOf.set(node, positions);
  }
  return positions;
}

class Converter {
  readonly refs = new Set<string>();
  constructor(
    private readonly view: string,
    private readonly rootId: () => string,
  ) {}

  value(column: PlannedColumn, table: PlannedTable, path: string[], text: string | null) {
    try {
      return rowDocumentValue(column.plan, text);
    } catch (cause) {
      throw new ViewDocumentValueError(
        this.view,
        table.name,
        column.name,
        `${this.rootId()}${path.length > 0 ? `.${path.join('.')}` : ''}`,
        { cause },
      );
    }
  }

  /** The row's columns as document fields, and its ref noted. */
  row(node: ViewNode, texts: (string | null)[], path: string[]): [string, DocumentValue][] {
    const values = node.columns.map((column, i) => this.value(column, node.table, path, texts[i]));
    const key = keyPositions(node).map((at) => values[at]);
    this.refs.add(viewRef(node.table.name, documentId(key)));
    return node.columns.map((column, i) => [column.name, values[i]]);
  }

  joinRow(table: PlannedTable, texts: (string | null)[], path: string[]): void {
    const key = table.keyColumns.map((column, i) => this.value(column, table, path, texts[i]));
    this.refs.add(viewRef(table.name, documentId(key)));
  }

  relation(node: ViewNode, value: unknown, path: string[]): DocumentValue {
    if (node.kind === 'one')
      return value === null ? null : this.element(node, value as Element, path);
    return (value as Element[]).map((element, i) =>
      this.element(node, element, [...path, String(i)]),
    );
  }

  element(node: ViewNode, [texts, joinKeys, ...relations]: Element, path: string[]): DocumentValue {
    if (joinKeys && node.join?.kind === 'through') this.joinRow(node.join.table, joinKeys, path);
    const fields = this.row(node, texts, path);
    node.embed.forEach((child, i) => {
      fields.push([
        child.field as string,
        this.relation(child, relations[i], [...path, child.field as string]),
      ]);
    });
    return Object.fromEntries(fields);
  }
}

/** The documents of the rows the statement returned, in request order. Pure. */
export function viewDocumentsFromRows(
  plan: ViewPlan,
  rows: readonly ViewDocumentsRow[],
): ViewDocumentResult[] {
  const root = plan.root;
  const keys = root.table.keyColumns;
  const keyAt = keyPositions(root);
  return rows.map((row) => {
    const version = snapshotVersion(BigInt(row.xmax), row.xip);
    const requestedTexts = keys.map((_, i) => row[`q${i}`] as string | null);
    const requestedId = () => {
      try {
        return documentId(keys.map((k, i) => rowDocumentValue(k.plan, requestedTexts[i])));
      } catch {
        return JSON.stringify(requestedTexts);
      }
    };
    if (!row.found) return { id: requestedId(), version, deleted: true };
    const texts = root.columns.map((_, i) => row[`c${i}`] as string | null);
    let id = requestedId();
    const converter = new Converter(plan.name, () => id);
    try {
      const fields = converter.row(root, texts, []);
      id = documentId(keyAt.map((at) => fields[at][1]));
      root.embed.forEach((child, i) => {
        const field = child.field as string;
        fields.push([field, converter.relation(child, row[`r${i}`], [field])]);
      });
      return {
        id,
        version,
        deleted: false,
        document: Object.fromEntries(fields),
        refs: [...converter.refs].sort(),
      };
    } catch (error) {
      if (error instanceof ViewDocumentValueError) return { id, version, deleted: false, error };
      throw error;
    }
  });
}

/** Names of the settings ROW_SESSION_SETTINGS sets, to put them back afterwards. */
const SESSION_SETTING_NAMES = [...ROW_SESSION_SETTINGS.matchAll(/set (\w+) =/g)].map((m) => m[1]);
const inRowSession = new WeakSet<object>();

/**
 * Runs `work` with ROW_SESSION_SETTINGS applied to the client's session (the wire expressions
 * rely on them), then resets those settings (verify does the same). Nested calls on one client
 * apply them once.
 */
export async function withRowSession<T>(
  client: Pick<PoolClient, 'query'>,
  work: () => Promise<T>,
): Promise<T> {
  if (inRowSession.has(client)) return work();
  await client.query(ROW_SESSION_SETTINGS);
  inRowSession.add(client);
  try {
    return await work();
  } finally {
    inRowSession.delete(client);
    await client
      .query(SESSION_SETTING_NAMES.map((name) => `reset ${name}`).join('; '))
      .catch(() => undefined);
  }
}

/**
 * Reads the view documents of these roots in one statement (the caller batches, e.g.
 * VIEW_READ_BATCH keys): for each distinct key, in request order, its document, or a delete
 * when the root row does not exist — all with the version of the snapshot read.
 */
export async function readViewDocuments(
  client: Pick<PoolClient, 'query'>,
  plan: ViewPlan,
  rootKeys: readonly RowKey[],
): Promise<ViewDocumentResult[]> {
  const distinct = new Map<string, RowKey>();
  for (const key of rootKeys) distinct.set(JSON.stringify(key), key);
  if (distinct.size === 0) return [];
  const query = viewDocumentsQuery(plan);
  const { rows } = await withRowSession(client, () =>
    client.query<ViewDocumentsRow>(query.text, query.parameters([...distinct.values()])),
  );
  return viewDocumentsFromRows(plan, rows);
}

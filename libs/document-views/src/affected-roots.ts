import { quoteIdent } from '@searchsync/change-events';
import type { PoolClient } from 'pg';
import { withRowSession } from './view-documents';
import { qualifiedTableName } from './view-catalog';
import type { RowKey } from './view-keys';
import type { PlannedTable, ViewNode, ViewPlan } from './view-plan';
import {
  columnList,
  joinAlias,
  joinConditions,
  keyParameters,
  nodeAlias,
  tableSql,
  unnestKeys,
} from './view-sql';

/**
 * The roots whose documents draw on given rows of a participating table, in the CURRENT state
 * of PostgreSQL: the view's path from each place the table takes in the view (a node, or the join
 * table of a `through` relation — a table may take several) walked up to the root by keys. This
 * finds the documents a row is newly part of (an insert, a row newly joined); the documents a row
 * was part of are found by their refs in the index.
 */

/** Where a table takes part in a view. */
export interface ViewTableOccurrence {
  /** The node's path from the root (empty: the root itself). */
  path: string[];
  /** `node`: rows of the node's table; `join`: rows of the node's join table (`through`). */
  as: 'node' | 'join';
}

export interface AffectedRootsQuery {
  /** Distinct root keys, as PostgreSQL text (`r<i>` in key order). */
  text: string;
  /** Parameters for a batch of the table's row keys (key order, PostgreSQL input text). */
  parameters: (keys: readonly RowKey[]) => (string | null)[][];
  occurrences: ViewTableOccurrence[];
}

/** Each node's chain of nodes from the root down to it. */
function chains(plan: ViewPlan): Map<ViewNode, ViewNode[]> {
  const out = new Map<ViewNode, ViewNode[]>();
  const walk = (node: ViewNode, above: ViewNode[]) => {
    const chain = [...above, node];
    out.set(node, chain);
    for (const child of node.embed) walk(child, chain);
  };
  walk(plan.root, []);
  return out;
}

/** `from <root> join … join <node>` down the chain. */
function fromChain(chain: ViewNode[]): string {
  const [root, ...rest] = chain;
  let from = `${tableSql(root.table)} ${nodeAlias(root)}`;
  rest.forEach((node, i) => {
    const { joinTable, joinOn, nodeOn } = joinConditions(node, chain[i]);
    if (joinTable) from += ` join ${tableSql(joinTable)} ${joinAlias(node)} on ${joinOn}`;
    from += ` join ${tableSql(node.table)} ${nodeAlias(node)} on ${nodeOn}`;
  });
  return from;
}

/**
 * The statement finding the roots that reach a batch of rows of `table` (`schema.table`, a bare
 * name is in `public`); null when the view does not draw on the table.
 */
export function affectedRootsQuery(plan: ViewPlan, table: string): AffectedRootsQuery | null {
  const name = qualifiedTableName(table);
  const root = plan.root;
  const rootKey = root.table.key
    .map((key, i) => `${nodeAlias(root)}.${quoteIdent(key)}::text as r${i}`)
    .join(', ');
  const keyNames = (width: number) => Array.from({ length: width }, (_, i) => `k${i}`);
  const selects: string[] = [];
  const occurrences: ViewTableOccurrence[] = [];
  let target: PlannedTable | null = null;
  const select = (chain: ViewNode[], alias: string, key: string[]) =>
    `select distinct ${rootKey} from ${fromChain(chain)} where (${columnList(alias, key)}) in (select * from k)`;
  for (const [node, chain] of chains(plan)) {
    if (node.table.name === name) {
      target = node.table;
      occurrences.push({ path: node.path, as: 'node' });
      selects.push(select(chain, nodeAlias(node), node.table.key));
    }
    if (node.join?.kind === 'through' && node.join.table.name === name) {
      target = node.join.table;
      occurrences.push({ path: node.path, as: 'join' });
      selects.push(select(chain, joinAlias(node), node.join.table.key));
    }
  }
  if (!target) return null;
  const width = target.key.length;
  const keyTypes = target.keyColumns.map((c) => c.sqlType);
  const text = `with k as (select * from ${unnestKeys(keyTypes)} as k(${keyNames(width).join(', ')})) ${selects.join(' union ')}`;
  return { text, parameters: (keys) => keyParameters(keys, width), occurrences };
}

/**
 * The keys (PostgreSQL text, ready for readViewDocuments) of the roots reaching these rows of
 * `table` now, each once; empty when the view does not draw on the table.
 */
export async function affectedRoots(
  client: Pick<PoolClient, 'query'>,
  plan: ViewPlan,
  table: string,
  keys: readonly RowKey[],
): Promise<RowKey[]> {
  const query = affectedRootsQuery(plan, table);
  if (!query || keys.length === 0) return [];
  const { rows } = await withRowSession(client, () =>
    client.query<Record<string, string>>(query.text, query.parameters(keys)),
  );
  const width = plan.root.table.key.length;
  return rows.map((row) => Array.from({ length: width }, (_, i) => row[`r${i}`]));
}

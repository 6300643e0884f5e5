import { quoteIdent } from '@searchsync/change-events';
import type { PlannedTable, ResolvedJoin, ViewNode } from './view-plan';

/** SQL shared by the document and affected-roots queries. Aliases are derived from node indexes. */

export const tableSql = (table: PlannedTable): string =>
  `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;

export const nodeAlias = (node: ViewNode): string => `t${node.index}`;
export const joinAlias = (node: ViewNode): string => `j${node.index}`;

const column = (alias: string, name: string) => `${alias}.${quoteIdent(name)}`;

/** `a.x = b.y and …`, position by position. */
export function equalities(
  left: string,
  leftColumns: string[],
  right: string,
  rightColumns: string[],
): string {
  return leftColumns
    .map((name, i) => `${column(left, name)} = ${column(right, rightColumns[i])}`)
    .join(' and ');
}

/**
 * How a node's rows hang on its parent row: for `through` the join table's rows on the parent
 * (`joinOn`) and the node's rows on the join table's (`nodeOn`); otherwise only `nodeOn`.
 */
export function joinConditions(
  node: ViewNode,
  parent: ViewNode,
): { joinTable: PlannedTable | null; joinOn: string | null; nodeOn: string } {
  const join = node.join as ResolvedJoin;
  const self = nodeAlias(node);
  const up = nodeAlias(parent);
  switch (join.kind) {
    case 'one':
      return {
        joinTable: null,
        joinOn: null,
        nodeOn: equalities(self, node.table.key, up, join.parentColumns),
      };
    case 'many':
      return {
        joinTable: null,
        joinOn: null,
        nodeOn: equalities(self, join.childColumns, up, parent.table.key),
      };
    case 'through': {
      const via = joinAlias(node);
      return {
        joinTable: join.table,
        joinOn: equalities(via, join.parentColumns, up, parent.table.key),
        nodeOn: equalities(self, node.table.key, via, join.childColumns),
      };
    }
  }
}

/** `a.k1, a.k2` */
export const columnList = (alias: string, names: string[]): string =>
  names.map((name) => column(alias, name)).join(', ');

/** `unnest($1::int8[], $2::text[])` for key values bound one array per key column. */
export function unnestKeys(sqlTypes: string[], firstParameter = 1): string {
  return `unnest(${sqlTypes.map((type, i) => `$${firstParameter + i}::${type}[]`).join(', ')})`;
}

/**
 * Key values (PostgreSQL input text, one array per column) as the unnest parameters: a key
 * tuple per row, transposed.
 */
export function keyParameters(keys: readonly (readonly (string | null)[])[], width: number) {
  const columns: (string | null)[][] = Array.from({ length: width }, () => []);
  for (const key of keys) {
    if (key.length !== width) {
      throw new RangeError(`a key has ${key.length} values, the table's key has ${width} columns`);
    }
    key.forEach((value, i) => columns[i].push(value));
  }
  return columns;
}

/** A PostgreSQL table as seen by the search side. */
export interface TableName {
  schema: string;
  table: string;
}

/** The alias users' queries go to, and the concrete index behind it. */
export interface TableIndexNames extends TableName {
  alias: string;
  index: string;
}

/**
 * One index per table behind an alias, so a rebuild can fill a new index and swap the alias.
 * Names are lowercased because the engine requires it; the exact names live in the index `_meta`.
 */
export function tableIndexNames(prefix: string, name: TableName, generation = 1): TableIndexNames {
  const alias = `${prefix}.${name.schema}.${name.table}`.toLowerCase();
  return { ...name, alias, index: `${alias}.v${generation}` };
}

/** `schema.table`, or `table` for schema `public`. */
export function parseTableReference(reference: string): TableName {
  const dot = reference.indexOf('.');
  if (dot < 0) return { schema: 'public', table: reference };
  return { schema: reference.slice(0, dot), table: reference.slice(dot + 1) };
}

export function formatTableReference(name: TableName): string {
  return name.schema === 'public' ? name.table : `${name.schema}.${name.table}`;
}

import { VIEW_REFS_FIELD } from '@searchsync/search-engine';
import {
  notReplicatedReason,
  rowColumnPlan,
  type ColumnSearchSettings,
  type RowColumnPlan,
} from '@searchsync/change-events';
import {
  EMPTY_SEARCHSYNC_CONFIG,
  isColumnVisible,
  tableSettings,
  type ConfigLocation,
  type SearchsyncConfig,
  type TableSettings,
  type ViewConfig,
  type ViewRelationConfig,
  type ViewRelationKind,
} from '@searchsync/config';
import {
  qualifiedTableName,
  type ViewCatalog,
  type ViewCatalogColumn,
  type ViewCatalogForeignKey,
  type ViewCatalogTable,
} from './view-catalog';
import {
  ViewColumnNotFoundError,
  ViewColumnUnavailableError,
  ViewFieldConflictError,
  ViewJoinInvalidError,
  ViewJoinNotInferredError,
  ViewTableNotFoundError,
  ViewTableWithoutKeyError,
} from './view.errors';

/** The refs field of every view document (defined by the engine library, which strips it on read). */
export { VIEW_REFS_FIELD };

/** A column a view reads: how it is selected and converted, and what the catalogue says of it. */
export interface PlannedColumn {
  name: string;
  /** Usable in casts (`format_type`). */
  sqlType: string;
  plan: RowColumnPlan;
  catalog: ViewCatalogColumn;
}

/** A table a view draws on. */
export interface PlannedTable {
  schema: string;
  table: string;
  /** `schema.table` */
  name: string;
  /** Primary-key column names, in key order. */
  key: string[];
  /** The key columns, in key order. */
  keyColumns: PlannedColumn[];
}

/** How a node's rows are found from its parent's row, with every column resolved. */
export type ResolvedJoin =
  /** The parent's columns holding this table's key, in key order. */
  | { kind: 'one'; parentColumns: string[] }
  /** This table's columns holding the parent's key, in key order. */
  | { kind: 'many'; childColumns: string[] }
  /** The join table; its columns holding the parent's key and this table's key, in key order. */
  | { kind: 'through'; table: PlannedTable; parentColumns: string[]; childColumns: string[] };

export interface ViewNode {
  /** Pre-order number in the plan (the root is 0): names the node's SQL aliases. */
  index: number;
  /** Field names from the root document down to this node; empty for the root. */
  path: string[];
  /** The field of the parent document holding it; null for the root. */
  field: string | null;
  kind: 'root' | ViewRelationKind;
  table: PlannedTable;
  /** Columns in the document, in table column order; the key columns always are. */
  columns: PlannedColumn[];
  /** Null for the root. */
  join: ResolvedJoin | null;
  /** The table's configured search settings (searchsync.yaml `tables.<t>.fields`). */
  fields: Record<string, ColumnSearchSettings>;
  embed: ViewNode[];
}

export interface ViewPlan {
  name: string;
  root: ViewNode;
  /** Every node, pre-order (index order). */
  nodes: ViewNode[];
  /** Every table the view draws on (including join tables), `schema.table`, once each. */
  tables: string[];
}

export interface PlanViewOptions {
  /** searchsync.yaml: the tables' exclusions and field settings apply in views too. */
  config?: SearchsyncConfig;
}

/** `on:` as one would write it: a single column bare, several as a list. */
function onText(columns: string[]): string {
  return columns.length === 1 ? columns[0] : `[${columns.join(', ')}]`;
}

/**
 * The referencing columns of a foreign key to `target`'s primary key, in key order; null when
 * it references something else (another table, or a unique key that is not the primary key).
 */
function keyReference(fk: ViewCatalogForeignKey, target: PlannedTable): string[] | null {
  if (fk.references !== target.name || fk.referencedColumns.length !== target.key.length) {
    return null;
  }
  const columns: string[] = [];
  for (const key of target.key) {
    const at = fk.referencedColumns.indexOf(key);
    if (at < 0) return null;
    columns.push(fk.columns[at]);
  }
  return columns;
}

const sameColumns = (a: string[], b: string[]) =>
  a.length === b.length && a.every((column, i) => column === b[i]);

/** Plans one view: resolves every table, column and join against the catalogue. Pure. */
export function planView(
  view: ViewConfig,
  catalog: ViewCatalog,
  options: PlanViewOptions = {},
): ViewPlan {
  const config = options.config ?? EMPTY_SEARCHSYNC_CONFIG;
  const nodes: ViewNode[] = [];
  const tables = new Set<string>();

  const describe = (
    reference: string,
    where: string,
    location: ConfigLocation,
  ): { table: ViewCatalogTable; planned: PlannedTable } => {
    const name = qualifiedTableName(reference);
    const table = catalog.get(name);
    if (!table) throw new ViewTableNotFoundError(view.name, location, name, where);
    if (table.primaryKey.length === 0) {
      throw new ViewTableWithoutKeyError(view.name, location, name, where);
    }
    tables.add(name);
    const keyColumns = table.primaryKey.map((key) =>
      plannedColumn(table.columns.find((c) => c.name === key)!),
    );
    return {
      table,
      planned: {
        schema: table.schema,
        table: table.table,
        name,
        key: [...table.primaryKey],
        keyColumns,
      },
    };
  };

  const columnsOf = (
    table: ViewCatalogTable,
    requested: string[] | null,
    settings: TableSettings,
    where: string,
    location: ConfigLocation,
  ): PlannedColumn[] => {
    const name = `${table.schema}.${table.table}`;
    const isKey = (column: string) => table.primaryKey.includes(column);
    const unavailable = (column: ViewCatalogColumn): string | null => {
      const reason = notReplicatedReason(column);
      if (reason) return reason;
      if (isKey(column.name) || isColumnVisible(settings, column.name)) return null;
      const section = config.locations.get(name);
      return `searchsync.yaml keeps it out of every document (tables.${name}${section ? ` at ${section.file}:${section.line}` : ''})`;
    };
    if (requested === null) {
      return table.columns
        .filter((column) => isKey(column.name) || unavailable(column) === null)
        .map(plannedColumn);
    }
    const wanted = new Set<string>(table.primaryKey);
    for (const columnName of requested) {
      const column = table.columns.find((c) => c.name === columnName);
      if (!column) {
        throw new ViewColumnNotFoundError(
          view.name,
          location,
          name,
          columnName,
          table.columns.map((c) => c.name),
          where,
        );
      }
      const reason = isKey(column.name) ? null : unavailable(column);
      if (reason) {
        throw new ViewColumnUnavailableError(view.name, location, name, columnName, reason, where);
      }
      wanted.add(columnName);
    }
    return table.columns.filter((c) => wanted.has(c.name)).map(plannedColumn);
  };

  /** Explicit `on:` columns: present in `holder`, one per column of the referenced key. */
  const checkJoinColumns = (
    columns: string[],
    holder: ViewCatalogTable,
    referenced: PlannedTable,
    what: string,
    where: string,
    location: ConfigLocation,
  ): string[] => {
    const holderName = `${holder.schema}.${holder.table}`;
    for (const column of columns) {
      if (!holder.columns.some((c) => c.name === column)) {
        throw new ViewColumnNotFoundError(
          view.name,
          location,
          holderName,
          column,
          holder.columns.map((c) => c.name),
          where,
        );
      }
    }
    if (columns.length !== referenced.key.length) {
      throw new ViewJoinInvalidError(
        view.name,
        location,
        where,
        `${what} names ${columns.length} column(s) of ${holderName} but the key of ${referenced.name} has ${referenced.key.length} (${referenced.key.join(', ')}): list the ${holderName} columns holding it, in key order`,
      );
    }
    return [...columns];
  };

  /** The one foreign key of `holder` to `referenced`'s key, or a message saying what to write. */
  const inferJoin = (
    holder: ViewCatalogTable,
    referenced: PlannedTable,
    exclude: string[] | null,
  ): string[] | string[][] => {
    const candidates = holder.foreignKeys
      .map((fk) => keyReference(fk, referenced))
      .filter((columns): columns is string[] => columns !== null)
      .filter((columns) => exclude === null || !sameColumns(columns, exclude));
    return candidates.length === 1 ? candidates[0] : candidates;
  };

  const resolveJoin = (
    relation: ViewRelationConfig,
    parent: ViewCatalogTable,
    parentPlanned: PlannedTable,
    child: ViewCatalogTable,
    childPlanned: PlannedTable,
    where: string,
  ): ResolvedJoin => {
    const location = relation.location;
    const parentName = parentPlanned.name;
    const childName = childPlanned.name;
    const fail = (problem: string) =>
      new ViewJoinNotInferredError(view.name, location, where, problem);
    const isList = (found: string[] | string[][]): found is string[][] =>
      found.length === 0 || Array.isArray(found[0]);
    const join = relation.join;
    switch (join.kind) {
      case 'one': {
        if (join.parentColumns) {
          return {
            kind: 'one',
            parentColumns: checkJoinColumns(
              join.parentColumns,
              parent,
              childPlanned,
              'on',
              where,
              location,
            ),
          };
        }
        const found = inferJoin(parent, childPlanned, null);
        if (!isList(found)) return { kind: 'one', parentColumns: found };
        throw fail(
          found.length === 0
            ? `no foreign key of ${parentName} references the primary key of ${childName} (${childPlanned.key.join(', ')}): write on: <the ${parentName} column(s) holding it, in key order>`
            : `${found.length} foreign keys of ${parentName} reference ${childName}: write ${found.map((f) => `on: ${onText(f)}`).join(' or ')}`,
        );
      }
      case 'many': {
        if (join.childColumns) {
          return {
            kind: 'many',
            childColumns: checkJoinColumns(
              join.childColumns,
              child,
              parentPlanned,
              'on',
              where,
              location,
            ),
          };
        }
        const found = inferJoin(child, parentPlanned, null);
        if (!isList(found)) return { kind: 'many', childColumns: found };
        throw fail(
          found.length === 0
            ? `no foreign key of ${childName} references the primary key of ${parentName} (${parentPlanned.key.join(', ')}): write on: <the ${childName} column(s) holding it, in key order>`
            : `${found.length} foreign keys of ${childName} reference ${parentName}: write ${found.map((f) => `on: ${onText(f)}`).join(' or ')}`,
        );
      }
      case 'through': {
        const { table: joinTable, planned: joinPlanned } = describe(
          join.table,
          `${where} through`,
          location,
        );
        const explicitParent = join.parentColumns
          ? checkJoinColumns(
              join.parentColumns,
              joinTable,
              parentPlanned,
              'on.parent',
              where,
              location,
            )
          : null;
        const explicitChild = join.childColumns
          ? checkJoinColumns(
              join.childColumns,
              joinTable,
              childPlanned,
              'on.child',
              where,
              location,
            )
          : null;
        // A table joined to itself (friends of a person): the side given is not the other one.
        const parentFound = explicitParent ?? inferJoin(joinTable, parentPlanned, explicitChild);
        const childFound =
          explicitChild ??
          inferJoin(joinTable, childPlanned, isList(parentFound) ? null : parentFound);
        if (!isList(parentFound) && !isList(childFound)) {
          return {
            kind: 'through',
            table: joinPlanned,
            parentColumns: parentFound,
            childColumns: childFound,
          };
        }
        const side = (found: string[] | string[][], to: PlannedTable) =>
          !isList(found)
            ? null
            : found.length === 0
              ? `no foreign key of ${joinPlanned.name} references the primary key of ${to.name} (${to.key.join(', ')})`
              : `${found.length} foreign keys of ${joinPlanned.name} reference ${to.name} (${found.map(onText).join(' or ')})`;
        const problems = [side(parentFound, parentPlanned), side(childFound, childPlanned)].filter(
          Boolean,
        );
        const example = (found: string[] | string[][], fallback: string) =>
          !isList(found) ? onText(found) : found.length > 0 ? onText(found[0]) : fallback;
        throw fail(
          `${problems.join('; ')}: write on: { parent: ${example(parentFound, `<${joinPlanned.name} column(s) holding the ${parentName} key>`)}, child: ${example(childFound, `<${joinPlanned.name} column(s) holding the ${childName} key>`)} }`,
        );
      }
    }
  };

  const settingsOf = (table: ViewCatalogTable) => tableSettings(config, table);

  const checkFields = (node: ViewNode, relations: ViewRelationConfig[], where: string) => {
    const seen = new Set(node.columns.map((c) => c.name));
    if (node.kind === 'root') seen.add(VIEW_REFS_FIELD);
    for (const relation of relations) {
      if (seen.has(relation.field)) {
        throw new ViewFieldConflictError(
          view.name,
          relation.location,
          where,
          `embed ${relation.field}: ${relation.field === VIEW_REFS_FIELD ? 'the name is reserved for the view' : `${node.table.name} has a column ${relation.field} in the document`}: give the relation another name`,
        );
      }
      seen.add(relation.field);
    }
  };

  const build = (
    relation: ViewRelationConfig,
    parent: ViewCatalogTable,
    parentNode: ViewNode,
  ): ViewNode => {
    const path = [...parentNode.path, relation.field];
    const where = `embed ${path.join('.')}`;
    const { table, planned } = describe(relation.table, where, relation.location);
    const join = resolveJoin(relation, parent, parentNode.table, table, planned, where);
    const settings = settingsOf(table);
    const node: ViewNode = {
      index: nodes.length,
      path,
      field: relation.field,
      kind: relation.join.kind,
      table: planned,
      columns: columnsOf(table, relation.columns, settings, where, relation.location),
      join,
      fields: settings.fields,
      embed: [],
    };
    nodes.push(node);
    checkFields(node, relation.embed, where);
    node.embed = relation.embed.map((child) => build(child, table, node));
    return node;
  };

  const where = 'root';
  const { table, planned } = describe(view.root, where, view.location);
  const settings = settingsOf(table);
  const root: ViewNode = {
    index: 0,
    path: [],
    field: null,
    kind: 'root',
    table: planned,
    columns: columnsOf(table, view.columns, settings, where, view.location),
    join: null,
    fields: settings.fields,
    embed: [],
  };
  nodes.push(root);
  checkFields(root, view.embed, where);
  root.embed = view.embed.map((relation) => build(relation, table, root));
  return { name: view.name, root, nodes, tables: [...tables] };
}

function plannedColumn(column: ViewCatalogColumn): PlannedColumn {
  return {
    name: column.name,
    sqlType: column.sqlType,
    plan: rowColumnPlan({
      name: column.name,
      baseType: column.baseType,
      elementType: column.elementType,
      typmod: column.typmod,
      typtype: column.typtype,
    }),
    catalog: column,
  };
}

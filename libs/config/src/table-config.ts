import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Scalar,
} from 'yaml';
import { TableConfigInvalidError, type TableConfigProblem } from './config.errors';
import {
  FIELD_TYPES,
  VECTOR_DIMS,
  VECTOR_SIMILARITIES,
  type ConfigLocation,
  type FieldSettings,
  type FieldType,
  type IndexSettings,
  type SearchsyncConfig,
  type TableSettings,
  type VectorSimilarity,
} from './table-config.types';
import type { ViewConfig, ViewJoin, ViewRelationConfig } from './view-config.types';

/** Analyzers every supported engine ships without plugins: built-in and language analyzers. */
export const BUILT_IN_ANALYZERS: readonly string[] = [
  'standard',
  'simple',
  'whitespace',
  'stop',
  'keyword',
  'pattern',
  'fingerprint',
  'arabic',
  'armenian',
  'basque',
  'bengali',
  'brazilian',
  'bulgarian',
  'catalan',
  'cjk',
  'czech',
  'danish',
  'dutch',
  'english',
  'estonian',
  'finnish',
  'french',
  'galician',
  'german',
  'greek',
  'hindi',
  'hungarian',
  'indonesian',
  'irish',
  'italian',
  'latvian',
  'lithuanian',
  'norwegian',
  'persian',
  'portuguese',
  'romanian',
  'russian',
  'sorani',
  'spanish',
  'swedish',
  'turkish',
  'thai',
];

const TOP_LEVEL_KEYS = ['tables', 'views'] as const;
const TABLE_KEYS = ['exclude', 'include', 'fields', 'index'] as const;
const FIELD_KEYS = ['type', 'analyzer', 'searchAnalyzer', 'dims', 'similarity'] as const;
const INDEX_KEYS = ['shards', 'replicas', 'refresh'] as const;
const SHARDS = { min: 1, max: 1024 };
const REPLICAS = { min: 0, max: 15 };
const REFRESH_PATTERN = /^(-1|\d+(ms|s|m))$/;
const DEFAULT_SCHEMA = 'public';
const CONFIG_FILE_PATTERN = /\.ya?ml$/;
const DEFAULT_CONFIG_FILE = 'searchsync.yaml';
const DEFAULT_POLL_INTERVAL_MS = 2000;
/** Typos this close to an allowed name get a "did you mean". */
const SUGGESTION_DISTANCE = 2;
const VIEW_KEYS = ['root', 'columns', 'embed'] as const;
const RELATION_KEYS = ['table', 'many', 'through', 'on', 'columns', 'embed'] as const;
const THROUGH_ON_KEYS = ['parent', 'child'] as const;
/** The same thing is called differently in a view and in a relation: point at the right key. */
const VIEW_KEY_HINTS: Record<string, string> = { table: 'root' };
const RELATION_KEY_HINTS: Record<string, string> = { root: 'table' };
/** A view name is an index alias and an API path segment: no dot, nothing to quote or escape. */
const VIEW_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
/** An embedded field is an object path segment in the engine: no dot, no uppercase surprises. */
const FIELD_NAME_PATTERN = /^[a-z_][a-z0-9_]*$/;
/**
 * PostgreSQL's identifier limit (NAMEDATALEN − 1). A view name no longer than a table name keeps
 * its alias within the engine's 255 bytes wherever a table's fits; an embedded field no longer
 * than a column can never be one of our internal fields, which are all longer on purpose.
 */
const MAX_NAME_LENGTH = 63;
/** Fields searchsync adds to view documents (e.g. the rows a document drew on) are named so. */
const RESERVED_FIELD_PREFIX = 'searchsync_';
/** How deep `embed` may nest: each level is one more correlated subquery per document. */
export const MAX_EMBED_DEPTH = 8;

// ---------------------------------------------------------------------------------------------
// Settings of one table
// ---------------------------------------------------------------------------------------------

function defaultTableSettings(): TableSettings {
  return { exclude: [], include: null, fields: {}, index: {} };
}

/** The table's settings, or the defaults (sync every column as it is) when it is not configured. */
export function tableSettings(
  config: SearchsyncConfig,
  table: { schema: string; table: string },
): TableSettings {
  return config.tables.get(`${table.schema}.${table.table}`) ?? defaultTableSettings();
}

/** False when the column is excluded, or an include list is set and does not name it. */
export function isColumnVisible(settings: TableSettings, column: string): boolean {
  if (settings.exclude.includes(column)) return false;
  return settings.include === null || settings.include.includes(column);
}

/** The columns to exclude at the source, in `columns` order; key columns always stay. */
export function excludedColumns(
  settings: TableSettings,
  columns: string[],
  keyColumns: string[],
): string[] {
  return columns.filter(
    (column) => !keyColumns.includes(column) && !isColumnVisible(settings, column),
  );
}

/**
 * A short hash of what shapes an index's mapping (fields, exclusions, shards). replicas and
 * refresh are left out on purpose: they are applied to a live index, so changing them must not
 * ask for a rebuild.
 */
export function mappingFingerprint(settings: TableSettings): string {
  // Arrays of pairs, not objects: object key order is not ours to control (integer-like keys).
  const canonical = {
    fields: Object.keys(settings.fields)
      .sort()
      .map((column) => [column, sortedEntries(settings.fields[column])]),
    exclude: [...settings.exclude].sort(),
    include: settings.include === null ? null : [...settings.include].sort(),
    shards: settings.index.shards ?? null,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

function sortedEntries(field: FieldSettings): [string, string | number][] {
  return Object.entries(field)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What every index of an unconfigured table was built with. */
export const DEFAULT_MAPPING_FINGERPRINT = mappingFingerprint(defaultTableSettings());

/**
 * Why the index described by `meta` (its `_meta.searchsync`) must be rebuilt, or null. The
 * indexer's own finding (a type conflict) comes first: it is the more specific reason.
 */
export function rebuildNeed(settings: TableSettings, meta: Record<string, unknown>): string | null {
  const flagged = meta.needsRebuild;
  if (isRecord(flagged) && typeof flagged.reason === 'string') return flagged.reason;
  const builtWith = meta.config ?? DEFAULT_MAPPING_FINGERPRINT;
  if (builtWith === mappingFingerprint(settings)) return null;
  const table =
    typeof meta.schema === 'string' && typeof meta.table === 'string'
      ? `${meta.schema}.${meta.table}`
      : '<table>';
  return (
    "the table's configuration (fields, exclusions or shards) changed since its index was " +
    `built: rebuild it (POST /v1/tables/${table}/rebuild)`
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------------

/** One file being read: where its nodes are and what is wrong with it so far. */
interface FileContext {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  problems: TableConfigProblem[];
}

/**
 * What every file read so far configured: where each table and view was configured, to name both
 * places of a duplicate, and the view checks that depend on the tables of every file.
 */
interface ConfigSections {
  tables: Map<string, TableSettings>;
  locations: Map<string, ConfigLocation>;
  views: Map<string, ViewConfig>;
  /** Where each view was configured, also those whose section is invalid. */
  viewLocations: Map<string, ConfigLocation>;
  viewChecks: ViewChecks;
}

/** A position in some file, kept to report a problem found once every file is read. */
interface Position {
  file: string;
  line: number;
  column: number;
}

/** Checked after the last file: a table's exclude or include may be configured in another file. */
interface ViewChecks {
  /** Each view (valid name, first section), with the position of its name. */
  names: { name: string; at: Position }[];
  /** Every table a view draws on (root, embedded, join table), first mention of each. */
  tables: Map<string, { at: Position; what: string }>;
  /** Every column a view's or relation's `columns` lists. */
  columns: { table: string; column: string; where: string; at: Position }[];
}

interface MapEntry {
  key: string;
  keyNode: Scalar;
  /** Aliases resolved; null when the key has no value at all. */
  value: Node | null;
}

/**
 * Validates the files, in order, into one configuration. Every problem of every file is
 * reported at once, each with its line and column.
 */
export function parseSearchsyncConfig(sources: { file: string; text: string }[]): SearchsyncConfig {
  const problems: TableConfigProblem[] = [];
  const config = collectConfig(sources, problems);
  if (problems.length > 0) throw new TableConfigInvalidError(problems);
  return config;
}

function collectConfig(
  sources: { file: string; text: string }[],
  problems: TableConfigProblem[],
): SearchsyncConfig {
  const sections: ConfigSections = {
    tables: new Map(),
    locations: new Map(),
    views: new Map(),
    viewLocations: new Map(),
    viewChecks: { names: [], tables: new Map(), columns: [] },
  };
  for (const source of sources) readSource(source, sections, problems);
  checkViewsAgainstTables(sections, problems);
  return {
    files: sources.map((source) => source.file),
    tables: sections.tables,
    locations: sections.locations,
    views: sections.views,
  };
}

function readSource(
  source: { file: string; text: string },
  sections: ConfigSections,
  problems: TableConfigProblem[],
): void {
  const lines = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter: lines, prettyErrors: false });
  const ctx: FileContext = { file: source.file, doc, lines, problems };
  if (doc.errors.length > 0) {
    // A document with syntax errors is partly guessed; validating it would only add noise.
    for (const error of doc.errors) {
      report(ctx, error.pos[0], `${error.message} — fix the YAML syntax`);
    }
    return;
  }
  for (const entry of mapEntries(ctx, doc.contents, 'the file', TOP_LEVEL_KEYS)) {
    if (entry.key === 'tables') readTables(ctx, entry, sections);
    else readViews(ctx, entry, sections);
  }
}

function readTables(ctx: FileContext, tables: MapEntry, sections: ConfigSections): void {
  for (const entry of mapEntries(ctx, tables.value, 'tables', null)) {
    const name = tableName(ctx, entry.keyNode, entry.key);
    if (name === null) continue;
    const settings = readTable(ctx, name, entry.value);
    const line = positionOf(ctx, entry.keyNode).line;
    const first = sections.locations.get(name);
    if (first !== undefined) {
      report(
        ctx,
        entry.keyNode,
        `${name} is already configured at ${first.file}:${first.line} — configure each table in ` +
          'one section of one file only',
      );
      continue;
    }
    sections.tables.set(name, settings);
    sections.locations.set(name, { file: ctx.file, line });
  }
}

/** `schema.table`, or a bare `table` in schema public; null (reported) when neither. */
function tableName(ctx: FileContext, keyNode: Scalar, key: string): string | null {
  const name = qualifiedTableName(key);
  if (name === null) reportNotATable(ctx, 'tables', keyNode, JSON.stringify(key));
  return name;
}

function qualifiedTableName(reference: string): string | null {
  const parts = reference.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0)) return null;
  return parts.length === 1 ? `${DEFAULT_SCHEMA}.${reference}` : reference;
}

function reportNotATable(ctx: FileContext, where: string, at: Node, shown: string): void {
  report(
    ctx,
    at,
    `${where}: ${shown} is not a table name — write schema.table, or table for schema ` +
      `${DEFAULT_SCHEMA}`,
  );
}

function readTable(ctx: FileContext, name: string, node: Node | null): TableSettings {
  const settings = defaultTableSettings();
  const entries = mapEntries(ctx, node, name, TABLE_KEYS);
  let fieldEntries: MapEntry[] = [];
  for (const entry of entries) {
    switch (entry.key as (typeof TABLE_KEYS)[number]) {
      case 'exclude':
        settings.exclude = readColumnList(ctx, `${name} exclude`, entry) ?? [];
        break;
      case 'include':
        settings.include = readIncludeList(ctx, name, entry);
        break;
      case 'fields':
        fieldEntries = mapEntries(ctx, entry.value, `${name} fields`, null);
        settings.fields = readFields(ctx, name, fieldEntries);
        break;
      case 'index':
        settings.index = readIndexSettings(ctx, name, entry);
        break;
    }
  }
  checkExcludeOrInclude(ctx, name, entries);
  checkFieldsSearchable(ctx, name, settings, fieldEntries);
  return settings;
}

function checkExcludeOrInclude(ctx: FileContext, name: string, entries: MapEntry[]): void {
  const lists = entries.filter((entry) => entry.key === 'exclude' || entry.key === 'include');
  if (lists.length < 2) return;
  report(
    ctx,
    lists[1].keyNode,
    `${name}: exclude and include are both set — use one: exclude to drop a few columns, ` +
      'include to keep only the ones listed',
  );
}

/** A configured field the table never indexes would silently do nothing. */
function checkFieldsSearchable(
  ctx: FileContext,
  name: string,
  settings: TableSettings,
  fieldEntries: MapEntry[],
): void {
  for (const field of fieldEntries) {
    if (settings.exclude.includes(field.key)) {
      report(
        ctx,
        field.keyNode,
        `${name} fields.${field.key}: the column is excluded, so it is never indexed or ` +
          'searched — remove it from exclude or remove its fields entry',
      );
    } else if (settings.include !== null && !settings.include.includes(field.key)) {
      report(
        ctx,
        field.keyNode,
        `${name} fields.${field.key}: the column is not in include, so it is never indexed or ` +
          'searched — add it to include or remove its fields entry',
      );
    }
  }
}

function readIncludeList(ctx: FileContext, name: string, entry: MapEntry): string[] | null {
  const columns = readColumnList(ctx, `${name} include`, entry);
  if (columns === null || columns.length > 0) return columns;
  report(
    ctx,
    entry.keyNode,
    `${name} include: the list is empty, which would keep only the primary key — list the ` +
      'columns to keep, or remove include',
  );
  return null;
}

/** A list of distinct, non-empty column names; null (reported) when it is not a list. */
function readColumnList(ctx: FileContext, where: string, entry: MapEntry): string[] | null {
  return readColumnItems(ctx, where, entry)?.map((item) => item.column) ?? null;
}

/** readColumnList, with the node of each column for problems found later. */
function readColumnItems(
  ctx: FileContext,
  where: string,
  entry: MapEntry,
): { column: string; node: Node }[] | null {
  const node = entry.value;
  if (!isSeq(node)) {
    report(
      ctx,
      valueOrKey(entry),
      `${where}: expected a list of column names — write [column, …] or one "- column" per line`,
    );
    return null;
  }
  const columns: { column: string; node: Node }[] = [];
  const firstLines = new Map<string, number>();
  for (const item of node.items) {
    const column = readColumnName(ctx, where, resolve(ctx, item as Node | null), entry.keyNode);
    if (column === null) continue;
    const firstLine = firstLines.get(column);
    if (firstLine !== undefined) {
      report(
        ctx,
        item as Node,
        `${where}: "${column}" is listed twice (first on line ${firstLine}) — list each column once`,
      );
      continue;
    }
    firstLines.set(column, positionOf(ctx, item as Node).line);
    columns.push({ column, node: item as Node });
  }
  return columns;
}

function readColumnName(
  ctx: FileContext,
  where: string,
  node: Node | null,
  fallback: Node,
): string | null {
  if (isScalar(node) && typeof node.value === 'string' && node.value.trim().length > 0) {
    return node.value;
  }
  const shown = isScalar(node) ? JSON.stringify(node.value) : 'a nested value';
  report(
    ctx,
    node ?? fallback,
    `${where}: ${shown} is not a column name — give a non-empty name (quote it if it looks ` +
      'like a number or null)',
  );
  return null;
}

function readFields(
  ctx: FileContext,
  name: string,
  fieldEntries: MapEntry[],
): Record<string, FieldSettings> {
  const fields: Record<string, FieldSettings> = {};
  for (const field of fieldEntries) {
    const settings = readFieldSettings(ctx, `${name} fields.${field.key}`, field);
    if (settings !== null) fields[field.key] = settings;
  }
  return fields;
}

function readFieldSettings(ctx: FileContext, where: string, field: MapEntry): FieldSettings | null {
  const entries = mapEntries(ctx, field.value, where, FIELD_KEYS);
  if (entries.length === 0 && isEmpty(field.value)) {
    report(
      ctx,
      field.keyNode,
      `${where}: no settings — give type, analyzer or searchAnalyzer (or type: vector with dims), or remove the entry`,
    );
    return null;
  }
  const settings: FieldSettings = {};
  for (const entry of entries) {
    switch (entry.key as (typeof FIELD_KEYS)[number]) {
      case 'type':
        settings.type = readFieldType(ctx, where, entry);
        break;
      case 'analyzer':
        settings.analyzer = readAnalyzer(ctx, `${where}.analyzer`, entry);
        break;
      case 'searchAnalyzer':
        settings.searchAnalyzer = readAnalyzer(ctx, `${where}.searchAnalyzer`, entry);
        break;
      case 'dims':
        settings.dims = readInteger(ctx, `${where}.dims`, entry, VECTOR_DIMS);
        break;
      case 'similarity':
        settings.similarity = readSimilarity(ctx, `${where}.similarity`, entry);
        break;
    }
  }
  checkAnalyzedType(ctx, where, settings, entries);
  checkVectorSettings(ctx, where, field, settings, entries);
  return stripUndefined(settings);
}

function stripUndefined(settings: FieldSettings): FieldSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

function checkAnalyzedType(
  ctx: FileContext,
  where: string,
  settings: FieldSettings,
  entries: MapEntry[],
): void {
  if (settings.type !== 'keyword') return;
  for (const entry of entries) {
    if (entry.key !== 'analyzer' && entry.key !== 'searchAnalyzer') continue;
    report(
      ctx,
      entry.keyNode,
      `${where}: ${entry.key} is set but the type is keyword, and keywords are not analyzed — ` +
        `remove ${entry.key} or use type text`,
    );
  }
}

/** A vector needs its dimensions; dims and similarity mean nothing on other types. */
function checkVectorSettings(
  ctx: FileContext,
  where: string,
  field: MapEntry,
  settings: FieldSettings,
  entries: MapEntry[],
): void {
  const given = (key: string) => entries.find((entry) => entry.key === key);
  if (settings.type === 'vector') {
    if (!given('dims')) {
      report(
        ctx,
        field.keyNode,
        `${where}: type vector needs dims, the number of elements of every vector (e.g. dims: 384)`,
      );
    }
    for (const key of ['analyzer', 'searchAnalyzer']) {
      const entry = given(key);
      if (entry) {
        report(
          ctx,
          entry.keyNode,
          `${where}: ${key} is set but the type is vector, and vectors are not analyzed — remove ${key}`,
        );
      }
    }
    return;
  }
  for (const key of ['dims', 'similarity']) {
    const entry = given(key);
    if (entry && given('type') === undefined) {
      report(
        ctx,
        entry.keyNode,
        `${where}: ${key} applies to vectors only — add type: vector, or remove ${key}`,
      );
    } else if (entry && settings.type !== undefined) {
      report(
        ctx,
        entry.keyNode,
        `${where}: ${key} applies to vectors only, and the type is ${settings.type} — use type: vector, or remove ${key}`,
      );
    }
  }
}

function readSimilarity(
  ctx: FileContext,
  where: string,
  entry: MapEntry,
): VectorSimilarity | undefined {
  const value = scalarValue(entry.value);
  const similarity = VECTOR_SIMILARITIES.find((candidate) => candidate === value);
  if (similarity !== undefined) return similarity;
  report(
    ctx,
    valueOrKey(entry),
    `${where}: ${describe(value)} is not a vector similarity — use ${VECTOR_SIMILARITIES.join(', ')}` +
      didYouMean(value, VECTOR_SIMILARITIES),
  );
  return undefined;
}

function readFieldType(ctx: FileContext, where: string, entry: MapEntry): FieldType | undefined {
  const value = scalarValue(entry.value);
  const type = FIELD_TYPES.find((candidate) => candidate === value);
  if (type !== undefined) return type;
  report(
    ctx,
    valueOrKey(entry),
    `${where}.type: ${describe(value)} is not a field type — use ${FIELD_TYPES.slice(0, -1).join(', ')} or ${FIELD_TYPES[FIELD_TYPES.length - 1]}` +
      didYouMean(value, FIELD_TYPES),
  );
  return undefined;
}

function readAnalyzer(ctx: FileContext, where: string, entry: MapEntry): string | undefined {
  const value = scalarValue(entry.value);
  if (typeof value === 'string' && BUILT_IN_ANALYZERS.includes(value)) return value;
  report(
    ctx,
    valueOrKey(entry),
    `${where}: ${describe(value)} is not a known analyzer${didYouMean(value, BUILT_IN_ANALYZERS)}` +
      ` — use one of: ${BUILT_IN_ANALYZERS.join(', ')}`,
  );
  return undefined;
}

function readIndexSettings(ctx: FileContext, name: string, entry: MapEntry): IndexSettings {
  const index: IndexSettings = {};
  for (const setting of mapEntries(ctx, entry.value, `${name} index`, INDEX_KEYS)) {
    const where = `${name} index.${setting.key}`;
    switch (setting.key as (typeof INDEX_KEYS)[number]) {
      case 'shards':
        index.shards = readInteger(ctx, where, setting, SHARDS);
        break;
      case 'replicas':
        index.replicas = readInteger(ctx, where, setting, REPLICAS);
        break;
      case 'refresh':
        index.refresh = readRefresh(ctx, where, setting);
        break;
    }
  }
  return stripUndefinedIndex(index);
}

function stripUndefinedIndex(index: IndexSettings): IndexSettings {
  return Object.fromEntries(Object.entries(index).filter(([, value]) => value !== undefined));
}

function readInteger(
  ctx: FileContext,
  where: string,
  entry: MapEntry,
  range: { min: number; max: number },
): number | undefined {
  const value = scalarValue(entry.value);
  const isInteger = typeof value === 'number' && Number.isInteger(value);
  if (isInteger && value >= range.min && value <= range.max) return value;
  report(
    ctx,
    valueOrKey(entry),
    `${where}: ${describe(value)} is ${isInteger ? 'out of range' : 'not a whole number'} — ` +
      `give a whole number from ${range.min} to ${range.max}`,
  );
  return undefined;
}

function readRefresh(ctx: FileContext, where: string, entry: MapEntry): string | undefined {
  const value = scalarValue(entry.value);
  // An unquoted -1 is a number in YAML; it means the same as the string.
  const refresh = value === -1 ? '-1' : value;
  if (typeof refresh === 'string' && REFRESH_PATTERN.test(refresh)) return refresh;
  report(
    ctx,
    valueOrKey(entry),
    `${where}: ${describe(value)} is not a refresh interval — give a time with its unit ` +
      '(500ms, 1s, 1m) or -1 for no periodic refresh',
  );
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Document views
// ---------------------------------------------------------------------------------------------

function readViews(ctx: FileContext, views: MapEntry, sections: ConfigSections): void {
  for (const entry of mapEntries(ctx, views.value, 'views', null)) {
    const nameIsValid = checkViewName(ctx, entry);
    // Read even under a bad name: every problem of the section is reported at once.
    const view = readView(ctx, entry, sections.viewChecks);
    if (!nameIsValid) continue;
    const first = sections.viewLocations.get(entry.key);
    if (first !== undefined) {
      report(
        ctx,
        entry.keyNode,
        `view ${entry.key} is already configured at ${first.file}:${first.line} — configure ` +
          'each view in one section of one file only',
      );
      continue;
    }
    sections.viewLocations.set(entry.key, {
      file: ctx.file,
      line: positionOf(ctx, entry.keyNode).line,
    });
    sections.viewChecks.names.push({ name: entry.key, at: positionIn(ctx, entry.keyNode) });
    if (view !== null) sections.views.set(view.name, view);
  }
}

function checkViewName(ctx: FileContext, entry: MapEntry): boolean {
  const name = entry.key;
  if (!VIEW_NAME_PATTERN.test(name)) {
    report(
      ctx,
      entry.keyNode,
      `views: "${name}" is not a view name — use lowercase letters, digits and _, starting with ` +
        'a letter (it names the index alias and the API path /v1/tables/<view>)',
    );
    return false;
  }
  if (name.length > MAX_NAME_LENGTH) {
    report(
      ctx,
      entry.keyNode,
      `views: "${name}" is ${name.length} characters long — use at most ${MAX_NAME_LENGTH}`,
    );
    return false;
  }
  return true;
}

function readView(ctx: FileContext, entry: MapEntry, checks: ViewChecks): ViewConfig | null {
  const name = entry.key;
  const where = viewPath(name, []);
  if (!isMappingOrEmpty(entry.value)) {
    report(ctx, entry.value as Node, `${where}: expected a mapping with root (and columns, embed)`);
    return null;
  }
  const entries = mapEntries(ctx, entry.value, where, VIEW_KEYS, VIEW_KEY_HINTS);
  const given = (key: (typeof VIEW_KEYS)[number]) => entries.find((item) => item.key === key);
  const rootEntry = given('root');
  let root: string | null = null;
  if (rootEntry === undefined) {
    report(
      ctx,
      entry.keyNode,
      `${where}: no root — give root: schema.table, the table with one document per row`,
    );
  } else {
    root = readTableReference(ctx, `${where} root`, rootEntry);
    if (root !== null) {
      noteViewTable(checks, root, positionIn(ctx, valueOrKey(rootEntry)), `the root of ${where}`);
    }
  }
  const columns = readViewColumns(ctx, where, given('columns'), root, checks);
  const embedEntry = given('embed');
  const embed =
    embedEntry === undefined
      ? []
      : readEmbed(ctx, { view: name, path: [], columns, depth: 1, checks }, embedEntry);
  if (root === null || embed === null) return null;
  const location = { file: ctx.file, line: positionOf(ctx, entry.keyNode).line };
  return { name, root, columns, embed, location };
}

/** What the relations of one `embed:` mapping need to know of their parent. */
interface EmbedParent {
  view: string;
  /** Field names from the view's root down to the parent. */
  path: string[];
  /** The parent's `columns`, or null for all (then collisions are the planner's to find). */
  columns: string[] | null;
  /** The level of the relations read: 1 for the root's own. */
  depth: number;
  checks: ViewChecks;
}

/** How problems name a view or one of its relations: `view order_search lines.product`. */
function viewPath(view: string, path: string[]): string {
  return path.length === 0 ? `view ${view}` : `view ${view} ${path.join('.')}`;
}

/** The relations of an `embed:` mapping; null when one of them is invalid (reported). */
function readEmbed(
  ctx: FileContext,
  parent: EmbedParent,
  embedEntry: MapEntry,
): ViewRelationConfig[] | null {
  const where = `${viewPath(parent.view, parent.path)} embed`;
  const relations: ViewRelationConfig[] = [];
  let valid = isMappingOrEmpty(embedEntry.value);
  // A duplicate field is a YAML error already (keys of a mapping are unique), so never seen here.
  for (const entry of mapEntries(ctx, embedEntry.value, where, null)) {
    const path = [...parent.path, entry.key];
    if (!checkFieldName(ctx, where, entry, parent)) valid = false;
    if (parent.depth > MAX_EMBED_DEPTH) {
      report(
        ctx,
        entry.keyNode,
        `${viewPath(parent.view, path)}: embedded ${parent.depth} levels deep — at most ` +
          `${MAX_EMBED_DEPTH} levels of embed are allowed: embed fewer levels, or make a deeper ` +
          'table the root of another view',
      );
      valid = false;
      continue; // what lies deeper would only repeat the same problem
    }
    const relation = readRelation(ctx, { ...parent, path }, entry);
    if (relation === null) valid = false;
    else relations.push(relation);
  }
  return valid ? relations : null;
}

function checkFieldName(
  ctx: FileContext,
  where: string,
  entry: MapEntry,
  parent: EmbedParent,
): boolean {
  const field = entry.key;
  if (!FIELD_NAME_PATTERN.test(field)) {
    report(
      ctx,
      entry.keyNode,
      `${where}: "${field}" is not a field name — use lowercase letters, digits and _, not ` +
        'starting with a digit',
    );
    return false;
  }
  if (field.length > MAX_NAME_LENGTH) {
    report(
      ctx,
      entry.keyNode,
      `${where}: "${field}" is ${field.length} characters long — use at most ${MAX_NAME_LENGTH}`,
    );
    return false;
  }
  if (field.startsWith(RESERVED_FIELD_PREFIX)) {
    report(
      ctx,
      entry.keyNode,
      `${where}: "${field}" starts with ${RESERVED_FIELD_PREFIX}, which is kept for the fields ` +
        'searchsync adds to view documents — rename the embedded field',
    );
    return false;
  }
  if (parent.columns?.includes(field)) {
    report(
      ctx,
      entry.keyNode,
      `${where}: "${field}" is also a column in columns, and a document field holds one or the ` +
        'other — rename the embedded field, or remove the column from columns',
    );
    return false;
  }
  return true;
}

/** One relation (`embed.<field>`); null when invalid (reported). `parent.path` ends with it. */
function readRelation(
  ctx: FileContext,
  relation: EmbedParent,
  entry: MapEntry,
): ViewRelationConfig | null {
  const where = viewPath(relation.view, relation.path);
  const value = entry.value;
  if (isScalar(value) && typeof value.value === 'string') {
    report(
      ctx,
      value,
      `${where}: expected a mapping with table — write ${entry.key}: { table: ${value.value} }`,
    );
    return null;
  }
  if (!isMappingOrEmpty(value)) {
    report(
      ctx,
      value as Node,
      `${where}: expected a mapping with table (and many or through, on, columns, embed)`,
    );
    return null;
  }
  const problemsBefore = ctx.problems.length;
  const entries = mapEntries(ctx, value, where, RELATION_KEYS, RELATION_KEY_HINTS);
  const given = (key: (typeof RELATION_KEYS)[number]) => entries.find((item) => item.key === key);
  const tableEntry = given('table');
  let table: string | null = null;
  if (tableEntry === undefined) {
    report(
      ctx,
      entry.keyNode,
      `${where}: no table — give table: schema.table, the table whose rows are embedded`,
    );
  } else {
    table = readTableReference(ctx, `${where} table`, tableEntry);
    if (table !== null) {
      const at = positionIn(ctx, valueOrKey(tableEntry));
      noteViewTable(relation.checks, table, at, `the table of ${where}`);
    }
  }
  const join = readJoin(ctx, where, given, relation.checks);
  const columns = readViewColumns(ctx, where, given('columns'), table, relation.checks);
  const embedEntry = given('embed');
  const embed =
    embedEntry === undefined
      ? []
      : readEmbed(ctx, { ...relation, columns, depth: relation.depth + 1 }, embedEntry);
  if (table === null || join === null || embed === null || ctx.problems.length > problemsBefore) {
    return null;
  }
  const location = { file: ctx.file, line: positionOf(ctx, entry.keyNode).line };
  return { field: entry.key, table, join, columns, embed, location };
}

/** The kind of a relation and its `on`; null when invalid (reported). */
function readJoin(
  ctx: FileContext,
  where: string,
  given: (key: (typeof RELATION_KEYS)[number]) => MapEntry | undefined,
  checks: ViewChecks,
): ViewJoin | null {
  const manyEntry = given('many');
  const throughEntry = given('through');
  const onEntry = given('on');
  const many = manyEntry === undefined ? false : readBoolean(ctx, `${where} many`, manyEntry);
  if (many === null) return null;
  if (many && throughEntry !== undefined) {
    const later = [manyEntry as MapEntry, throughEntry].sort(
      (a, b) => (a.keyNode.range?.[0] ?? 0) - (b.keyNode.range?.[0] ?? 0),
    )[1];
    report(
      ctx,
      later.keyNode,
      `${where}: many: true and through are both set — use many: true for a table that ` +
        'references the parent (one-to-many), through for a join table (many-to-many)',
    );
    return null;
  }
  if (throughEntry !== undefined) {
    const table = readTableReference(ctx, `${where} through`, throughEntry);
    if (table !== null) {
      const at = positionIn(ctx, valueOrKey(throughEntry));
      noteViewTable(checks, table, at, `the join table of ${where}`);
    }
    const on =
      onEntry === undefined ? { parent: null, child: null } : readThroughOn(ctx, where, onEntry);
    if (table === null || on === null) return null;
    return { kind: 'through', table, parentColumns: on.parent, childColumns: on.child };
  }
  const kind = many ? 'many' : 'one';
  const columns = onEntry === undefined ? null : readOnColumns(ctx, where, kind, onEntry);
  if (onEntry !== undefined && columns === null) return null;
  return kind === 'many' ? { kind, childColumns: columns } : { kind, parentColumns: columns };
}

/** `on` of a one or many relation: a column name or a list of them. */
function readOnColumns(
  ctx: FileContext,
  where: string,
  kind: 'one' | 'many',
  entry: MapEntry,
): string[] | null {
  if (isMap(entry.value)) {
    report(
      ctx,
      entry.keyNode,
      `${where} on: { parent, child } is for through relations — give ` +
        (kind === 'one'
          ? "the parent's column(s) that reference the table's key"
          : "the table's column(s) that reference the parent's key") +
        ': on: column, or on: [column, …] for a composite key',
    );
    return null;
  }
  return readColumnOrColumns(ctx, `${where} on`, entry);
}

/** `on` of a through relation: the join table's columns toward the parent and the table. */
function readThroughOn(
  ctx: FileContext,
  where: string,
  entry: MapEntry,
): { parent: string[] | null; child: string[] | null } | null {
  if (!isMap(entry.value)) {
    report(
      ctx,
      valueOrKey(entry),
      `${where} on: a through relation is joined by the join table's columns — write ` +
        "on: { parent: [column, …], child: [column, …] } (those referencing the parent's key " +
        "and the table's key; either may be left to the foreign keys)",
    );
    return null;
  }
  const problemsBefore = ctx.problems.length;
  const entries = mapEntries(ctx, entry.value, `${where} on`, THROUGH_ON_KEYS);
  if (entries.length === 0 && ctx.problems.length === problemsBefore) {
    report(
      ctx,
      entry.keyNode,
      `${where} on: empty — give parent, child or both, or remove on to use the foreign keys`,
    );
    return null;
  }
  const on: { parent: string[] | null; child: string[] | null } = { parent: null, child: null };
  for (const side of entries) {
    const key = side.key as (typeof THROUGH_ON_KEYS)[number];
    on[key] = readColumnOrColumns(ctx, `${where} on.${key}`, side);
  }
  return ctx.problems.length > problemsBefore ? null : on;
}

/** A column name, or a non-empty list of distinct ones (a composite key, in key order). */
function readColumnOrColumns(ctx: FileContext, where: string, entry: MapEntry): string[] | null {
  const value = entry.value;
  if (isScalar(value) && typeof value.value === 'string' && value.value.trim().length > 0) {
    return [value.value];
  }
  if (!isSeq(value)) {
    const shown = isScalar(value) ? describe(value.value) : describe(undefined);
    report(
      ctx,
      valueOrKey(entry),
      `${where}: ${shown} is not a column — write column, or [column, …] for a composite key`,
    );
    return null;
  }
  const problemsBefore = ctx.problems.length;
  const columns = readColumnList(ctx, where, entry);
  if (columns === null || ctx.problems.length > problemsBefore) return null;
  if (columns.length > 0) return columns;
  report(
    ctx,
    entry.keyNode,
    `${where}: the list is empty — name the column(s), or remove the key to use the foreign keys`,
  );
  return null;
}

/** `columns` of a view or relation; null when absent (all columns). */
function readViewColumns(
  ctx: FileContext,
  where: string,
  entry: MapEntry | undefined,
  table: string | null,
  checks: ViewChecks,
): string[] | null {
  if (entry === undefined) return null;
  const items = readColumnItems(ctx, `${where} columns`, entry);
  if (items === null) return null;
  if (table !== null) {
    for (const item of items) {
      checks.columns.push({
        table,
        column: item.column,
        where: `${where} columns`,
        at: positionIn(ctx, item.node),
      });
    }
  }
  return items.map((item) => item.column);
}

/** A `schema.table` value (a bare name means schema public); null when it is not one (reported). */
function readTableReference(ctx: FileContext, where: string, entry: MapEntry): string | null {
  const value = entry.value;
  const name =
    isScalar(value) && typeof value.value === 'string' ? qualifiedTableName(value.value) : null;
  if (name === null) {
    const shown = isScalar(value) ? describe(value.value) : describe(undefined);
    reportNotATable(ctx, where, valueOrKey(entry), shown);
  }
  return name;
}

function readBoolean(ctx: FileContext, where: string, entry: MapEntry): boolean | null {
  const value = scalarValue(entry.value);
  if (typeof value === 'boolean') return value;
  report(ctx, valueOrKey(entry), `${where}: ${describe(value)} is not true or false`);
  return null;
}

function noteViewTable(checks: ViewChecks, table: string, at: Position, what: string): void {
  if (!checks.tables.has(table)) checks.tables.set(table, { at, what });
}

/**
 * The checks that need every file read: a view's columns against the exclude and include of
 * its tables, and its name against the tables (`/v1/tables/<name>` must mean one thing).
 */
function checkViewsAgainstTables(sections: ConfigSections, problems: TableConfigProblem[]): void {
  const checks = sections.viewChecks;
  for (const use of checks.columns) {
    const settings = sections.tables.get(use.table);
    if (settings === undefined || isColumnVisible(settings, use.column)) continue;
    const configured = sections.locations.get(use.table) as ConfigLocation;
    const at = `${configured.file}:${configured.line}`;
    const message = settings.exclude.includes(use.column)
      ? `${use.where}: "${use.column}" is excluded by tables.${use.table} (${at}), so it never ` +
        'leaves PostgreSQL — remove it from columns, or from exclude'
      : `${use.where}: "${use.column}" is not in the include of tables.${use.table} (${at}), so ` +
        'it is never synced — add it to include, or remove it from columns (key columns are ' +
        'always embedded, listed or not)';
    problems.push({ ...use.at, message });
  }
  for (const view of checks.names) {
    const table = `${DEFAULT_SCHEMA}.${view.name}`;
    const configured = sections.locations.get(table);
    const used = checks.tables.get(table);
    let mention: string;
    if (configured !== undefined) mention = `configured at ${configured.file}:${configured.line}`;
    else if (used !== undefined) mention = `${used.what} at ${used.at.file}:${used.at.line}`;
    else continue;
    problems.push({
      ...view.at,
      message:
        `views: "${view.name}" is also the name of table ${table} (${mention}), and ` +
        `/v1/tables/${view.name} would mean both — give the view another name ` +
        `(e.g. ${view.name}_view)`,
    });
  }
}

/** A mapping, or nothing at all (an empty section). */
function isMappingOrEmpty(node: Node | null): boolean {
  return node === null || isEmpty(node) || isMap(node);
}

// ---------------------------------------------------------------------------------------------
// YAML node helpers
// ---------------------------------------------------------------------------------------------

/**
 * The entries of a mapping with string keys. A missing or null value is an empty mapping;
 * anything else that is not a mapping, a key that is not a string and (when `allowed` is given)
 * a key not in `allowed` are reported and skipped.
 */
function mapEntries(
  ctx: FileContext,
  node: Node | null,
  where: string,
  allowed: readonly string[] | null,
  hints: Record<string, string> = {},
): MapEntry[] {
  if (node === null || isEmpty(node)) return [];
  if (!isMap(node)) {
    report(ctx, node, `${where}: expected a mapping (key: value, one per line)`);
    return [];
  }
  const entries: MapEntry[] = [];
  for (const pair of node.items) {
    const keyNode = pair.key as Node | null;
    const value = resolve(ctx, pair.value as Node | null);
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      reportKey(ctx, where, keyNode, node, 'is not a name — quote the key');
      continue;
    }
    const key = keyNode.value;
    if (allowed !== null && !allowed.includes(key)) {
      reportUnknownKey(ctx, where, keyNode, key, allowed, hints);
      continue;
    }
    entries.push({ key, keyNode, value });
  }
  return entries;
}

function reportKey(
  ctx: FileContext,
  where: string,
  keyNode: Node | null,
  map: Node,
  what: string,
): void {
  const shown = isScalar(keyNode) ? JSON.stringify(keyNode.value) : 'a nested key';
  report(ctx, keyNode ?? map, `${where}: key ${shown} ${what}`);
}

function reportUnknownKey(
  ctx: FileContext,
  where: string,
  keyNode: Scalar,
  key: string,
  allowed: readonly string[],
  hints: Record<string, string>,
): void {
  const suggestion = Object.hasOwn(hints, key)
    ? ` (did you mean "${hints[key]}"?)`
    : didYouMean(key, allowed);
  report(
    ctx,
    keyNode,
    `${where}: unknown key "${key}"${suggestion} — allowed: ${allowed.join(', ')}`,
  );
}

/** An alias stands for the node it names; errors then point at the anchored node. */
function resolve(ctx: FileContext, node: Node | null): Node | null {
  if (!isAlias(node)) return node;
  return (node.resolve(ctx.doc) as Node | undefined) ?? null;
}

/** No value, a null, or an empty collection. */
function isEmpty(node: Node | null): boolean {
  if (node === null) return true;
  if (isScalar(node)) return node.value === null;
  if (isMap(node) || isSeq(node)) return node.items.length === 0;
  return false;
}

function scalarValue(node: Node | null): unknown {
  return isScalar(node) ? node.value : node === null ? null : undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'a list or mapping';
  return value === null ? 'no value' : JSON.stringify(value);
}

/** An empty value has no position of its own worth showing; its key does. */
function valueOrKey(entry: MapEntry): Node {
  const value = entry.value;
  if (value === null || (isScalar(value) && value.value === null)) return entry.keyNode;
  return value;
}

function positionOf(ctx: FileContext, node: Node | number): { line: number; column: number } {
  const offset = typeof node === 'number' ? node : (node.range?.[0] ?? 0);
  const { line, col } = ctx.lines.linePos(offset);
  return { line, column: col };
}

function report(ctx: FileContext, at: Node | number, message: string): void {
  ctx.problems.push({ file: ctx.file, ...positionOf(ctx, at), message });
}

function positionIn(ctx: FileContext, node: Node): Position {
  return { file: ctx.file, ...positionOf(ctx, node) };
}

function didYouMean(value: unknown, candidates: readonly string[]): string {
  if (typeof value !== 'string') return '';
  let best: { candidate: string; distance: number } | null = null;
  for (const candidate of candidates) {
    const distance = editDistance(value.toLowerCase(), candidate.toLowerCase());
    if (distance <= SUGGESTION_DISTANCE && (best === null || distance < best.distance)) {
      best = { candidate, distance };
    }
  }
  return best === null ? '' : ` (did you mean "${best.candidate}"?)`;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/** SEARCHSYNC_CONFIG split on commas (relative to `cwd`), or `<cwd>/searchsync.yaml`. */
export function configPaths(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const listed = (env.SEARCHSYNC_CONFIG ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const paths = listed.length > 0 ? listed : [DEFAULT_CONFIG_FILE];
  return paths.map((entry) => path.resolve(cwd, entry));
}

/**
 * The files the paths stand for: a file as it is, a directory by its `*.yaml`/`*.yml` files
 * sorted by name (hidden ones skipped: editors leave them), a missing path not at all. Each file
 * once, so a file named both directly and through its directory is not its own duplicate.
 */
export function expandConfigPaths(paths: string[]): string[] {
  const problems: TableConfigProblem[] = [];
  const files = collectFiles(paths, problems);
  if (problems.length > 0) throw new TableConfigInvalidError(problems);
  return files;
}

function collectFiles(paths: string[], problems: TableConfigProblem[]): string[] {
  const files: string[] = [];
  for (const entry of paths) {
    for (const file of filesOf(entry, problems)) {
      if (!files.includes(file)) files.push(file);
    }
  }
  return files;
}

function filesOf(entry: string, problems: TableConfigProblem[]): string[] {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(entry);
  } catch (error) {
    if (isMissing(error)) return [];
    problems.push(unreadable(entry, error));
    return [];
  }
  if (stats.isFile()) return [entry];
  if (!stats.isDirectory()) {
    // Reading a FIFO or a device would block or never end.
    problems.push(notAFile(entry));
    return [];
  }
  try {
    return fs
      .readdirSync(entry, { withFileTypes: true })
      .filter((dirent) => !dirent.name.startsWith('.') && CONFIG_FILE_PATTERN.test(dirent.name))
      .filter((dirent) => dirent.isFile() || isFileLink(path.join(entry, dirent.name), dirent))
      .map((dirent) => dirent.name)
      .sort()
      .map((name) => path.join(entry, name));
  } catch (error) {
    problems.push(unreadable(entry, error));
    return [];
  }
}

function isFileLink(file: string, dirent: fs.Dirent): boolean {
  if (!dirent.isSymbolicLink()) return false;
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false; // a dangling link is a missing file
  }
}

function notAFile(file: string): TableConfigProblem {
  return {
    file,
    line: 0,
    column: 0,
    message:
      'is neither a file nor a directory — point SEARCHSYNC_CONFIG at YAML files or directories of them',
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function unreadable(file: string, error: unknown): TableConfigProblem {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return {
    file,
    line: 0,
    column: 0,
    message: `cannot be read (${reason}) — make it readable by this process, or remove it from SEARCHSYNC_CONFIG`,
  };
}

/** Reads and validates every configuration file; no file at all means no table is configured. */
export function loadSearchsyncConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): SearchsyncConfig {
  const problems: TableConfigProblem[] = [];
  const sources: { file: string; text: string }[] = [];
  for (const file of collectFiles(configPaths(env, cwd), problems)) {
    try {
      sources.push({ file, text: fs.readFileSync(file, 'utf8') });
    } catch (error) {
      if (!isMissing(error)) problems.push(unreadable(file, error));
    }
  }
  const config = collectConfig(sources, problems);
  if (problems.length > 0) throw new TableConfigInvalidError(problems);
  return config;
}

// ---------------------------------------------------------------------------------------------
// Watching
// ---------------------------------------------------------------------------------------------

export interface SearchsyncConfigWatcherOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How often the files are checked (default 2000). */
  intervalMs?: number;
  log?: (line: string) => void;
}

/**
 * Keeps the configuration current while an app runs. Polling, not fs.watch: it sees files
 * replaced by rename (editors, ConfigMap updates) and files that appear in a directory later,
 * the same way on every platform. A change is read once the files have stayed the same for one
 * interval.
 */
export class SearchsyncConfigWatcher {
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string;
  private readonly intervalMs: number;
  private readonly log: (line: string) => void;
  private readonly listeners = new Set<(config: SearchsyncConfig) => void>();
  private config: SearchsyncConfig;
  private rejected: string | null = null;
  /** What the files looked like when last read; a different value means they changed. */
  private signature: string;
  /** A change seen once; it is read when the next poll finds the files unchanged since. */
  private pending: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** Throws TableConfigInvalidError when the configuration is invalid at start-up. */
  constructor(options: SearchsyncConfigWatcherOptions = {}) {
    this.env = options.env ?? process.env;
    this.cwd = options.cwd ?? process.cwd();
    this.intervalMs = options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.log = options.log ?? ((line) => console.log(line));
    // Taken before reading, so a change made while reading is seen by the next poll.
    this.signature = this.filesSignature();
    this.config = loadSearchsyncConfig(this.env, this.cwd);
  }

  current(): SearchsyncConfig {
    return this.config;
  }

  /** The problem with the files as they are now (their last change was rejected), or null. */
  lastError(): string | null {
    return this.rejected;
  }

  /** Called with each valid new configuration; returns the function that unsubscribes. */
  onChange(listener: (config: SearchsyncConfig) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  private poll(): void {
    try {
      const signature = this.filesSignature();
      if (signature === this.signature) {
        this.pending = null;
        return;
      }
      // A file caught half-written (truncated, then filled) must not be applied: an empty file
      // is valid and would briefly lift every exclusion. Wait until the files hold still.
      if (signature !== this.pending) {
        this.pending = signature;
        return;
      }
      this.pending = null;
      this.signature = signature;
      this.reload();
    } catch (error) {
      this.log(`configuration check failed: ${(error as Error).message}`);
    }
  }

  private reload(): void {
    let config: SearchsyncConfig;
    try {
      config = loadSearchsyncConfig(this.env, this.cwd);
    } catch (error) {
      this.rejected = (error as Error).message;
      this.log(`configuration change rejected, keeping the last valid one: ${this.rejected}`);
      return;
    }
    this.config = config;
    this.rejected = null;
    this.log(`configuration reloaded from ${describeFiles(config.files)}`);
    this.notify(config);
  }

  private notify(config: SearchsyncConfig): void {
    for (const listener of this.listeners) {
      try {
        listener(config);
      } catch (error) {
        this.log(`configuration listener failed: ${(error as Error).message}`);
      }
    }
  }

  private filesSignature(): string {
    const problems: TableConfigProblem[] = [];
    const files = collectFiles(configPaths(this.env, this.cwd), problems);
    const parts = files.map((file) => `${file}\u0000${fileVersion(file)}`);
    for (const problem of problems) parts.push(`${problem.file}\u0000${problem.message}`);
    return parts.join('\n');
  }
}

function fileVersion(file: string): string {
  try {
    const stats = fs.statSync(file);
    return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
  } catch (error) {
    return `error:${(error as NodeJS.ErrnoException).code ?? 'unknown'}`;
  }
}

function describeFiles(files: string[]): string {
  return files.length > 0 ? files.join(', ') : 'no file (every table synced as it is)';
}

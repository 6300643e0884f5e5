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

/** Where each table was configured, across every file, to name both places of a duplicate. */
interface TableSections {
  tables: Map<string, TableSettings>;
  locations: Map<string, ConfigLocation>;
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
  const sections: TableSections = { tables: new Map(), locations: new Map() };
  for (const source of sources) readSource(source, sections, problems);
  return {
    files: sources.map((source) => source.file),
    tables: sections.tables,
    locations: sections.locations,
    // `views:` is still refused at validation (readSource); the planner comes first.
    views: new Map(),
  };
}

function readSource(
  source: { file: string; text: string },
  sections: TableSections,
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
    else checkViewsAbsent(ctx, entry);
  }
}

function checkViewsAbsent(ctx: FileContext, entry: MapEntry): void {
  if (isEmpty(entry.value)) return;
  report(ctx, entry.keyNode, 'views: not supported in this version (docs/configuration.md)');
}

function readTables(ctx: FileContext, tables: MapEntry, sections: TableSections): void {
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
  const parts = key.split('.');
  if (parts.length <= 2 && parts.every((part) => part.length > 0)) {
    return parts.length === 1 ? `${DEFAULT_SCHEMA}.${key}` : key;
  }
  report(
    ctx,
    keyNode,
    `tables: "${key}" is not a table name — write schema.table, or table for schema ` +
      `${DEFAULT_SCHEMA}`,
  );
  return null;
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
  const node = entry.value;
  if (!isSeq(node)) {
    report(
      ctx,
      valueOrKey(entry),
      `${where}: expected a list of column names — write [column, …] or one "- column" per line`,
    );
    return null;
  }
  const columns: string[] = [];
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
    columns.push(column);
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
      reportUnknownKey(ctx, where, keyNode, key, allowed);
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
): void {
  report(
    ctx,
    keyNode,
    `${where}: unknown key "${key}"${didYouMean(key, allowed)} — allowed: ${allowed.join(', ')}`,
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

/**
 * The connector's `column.exclude.list` leaves out two kinds of columns:
 * - the generated columns PostgreSQL does not replicate, so that every read Debezium makes agrees
 *   with its stream: the initial snapshot and the incremental snapshots (which would otherwise
 *   SELECT * — and fail "Column '…' not found in result set" on a table whose schema came from
 *   pgoutput — or, with a schema read over JDBC, carry the column while streamed changes do not);
 * - the columns `searchsync.yaml` excludes (`exclude`, or every column an `include` list does not
 *   name): they must never leave PostgreSQL, so not even Kafka holds them. Key columns are never
 *   excluded — they make the document id — and a configuration asking for it is reported.
 *
 * One owner: the admin's publication reconciler keeps the list current every pass; the admin's
 * connector apply, resync, the local stack and the docker-compose one-shot compute it with these
 * same functions. Entries the user put in the list are kept: the ones we manage are recorded in
 * MANAGED_EXCLUDE_KEY, so that a column that is no longer generated or configured (or a dropped
 * table) leaves the list again without touching the user's own entries.
 *
 * Framework-free on purpose (tools/stack and deploy/compose import it).
 */
import {
  excludedColumns as configuredExclusions,
  loadSearchsyncConfig,
  tableSettings,
  type SearchsyncConfig,
} from '@searchsync/config';
import { waitUntil } from '@searchsync/retry';
import type { PoolClient } from 'pg';

export const EXCLUDE_KEY = 'column.exclude.list';
/** The entries of EXCLUDE_KEY that searchsync manages (Debezium ignores unknown keys). */
export const MANAGED_EXCLUDE_KEY = 'searchsync.managed.column.exclude.list';

type Queryable = Pick<PoolClient, 'query'>;
export type Config = Record<string, string>;

/** Which connector and tables the exclusions are for. */
export interface ExclusionSettings {
  publication: string;
  schemas: string[];
}

export { STORED_GENERATED_REASON, VIRTUAL_GENERATED_REASON } from '@searchsync/change-events';

/** A column of a synced table as the exclusions need it. */
export interface SourceColumn {
  name: string;
  /** Part of the primary key. */
  key: boolean;
  /**
   * The kind of generated column the publication does not carry (`s` stored before PostgreSQL
   * 18 or without publish_generated_columns, `v` virtual), null when it is replicated.
   */
  unreplicated: 's' | 'v' | null;
}

/** A root table of the synced schemas (a partition's rows are published as its root's). */
export interface SourceTable {
  schema: string;
  table: string;
  /** In column order. */
  columns: SourceColumn[];
}

/** A column the connector leaves out, and why (for log lines and GET /v1/publication). */
export interface ExcludedColumn {
  schema: string;
  table: string;
  column: string;
  /** One or both: a generated column PostgreSQL does not replicate; searchsync.yaml excludes it. */
  causes: ('generated' | 'configured')[];
  /** The causes in words, e.g. `generated column; excluded by /app/searchsync.yaml:4`. */
  reason: string;
}

/** Something `searchsync.yaml` asks for that cannot be done, with the fix. */
export interface ExclusionProblem {
  /** `schema.table` */
  table: string;
  column: string;
  /** `key-column`: never excluded; `unknown-column`: no such column (a typo keeps a column in). */
  kind: 'key-column' | 'unknown-column';
  message: string;
}

export interface ExclusionPlan {
  /** In table and column order. */
  columns: ExcludedColumn[];
  problems: ExclusionProblem[];
}

/** True when the publication sends stored generated columns (PostgreSQL 18+, publish_generated_columns = stored). */
export async function publishesGeneratedColumns(
  db: Queryable,
  publication: string,
): Promise<boolean> {
  const { rows } = await db.query<{ version: number }>(
    "select current_setting('server_version_num')::int as version",
  );
  if ((rows[0]?.version ?? 0) < 180000) return false;
  const published = await db.query<{ stored: boolean }>(
    "select pubgencols::text = 's' as stored from pg_publication where pubname = $1",
    [publication],
  );
  return published.rows[0]?.stored ?? false;
}

/**
 * Every root table of the synced schemas with its columns, key and the generated columns the
 * publication does not carry. Tables kept out of the publication count too, so nothing changes
 * when they enter it.
 */
export async function sourceTables(
  db: Queryable,
  settings: ExclusionSettings,
): Promise<SourceTable[]> {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    column: string | null;
    generated: string | null;
    key: boolean;
  }>(
    `select n.nspname as schema, c.relname as table, a.attname as column,
            a.attgenerated::text as generated,
            coalesce(a.attnum = any(k.conkey), false) as key
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       left join pg_constraint k on k.conrelid = c.oid and k.contype = 'p'
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
      order by n.nspname, c.relname, a.attnum`,
    [settings.schemas],
  );
  const stored = rows.some((r) => r.generated === 's')
    ? await publishesGeneratedColumns(db, settings.publication)
    : false;
  const tables = new Map<string, SourceTable>();
  for (const row of rows) {
    const name = `${row.schema}.${row.table}`;
    let table = tables.get(name);
    if (!table) {
      table = { schema: row.schema, table: row.table, columns: [] };
      tables.set(name, table);
    }
    if (row.column === null) continue;
    table.columns.push({
      name: row.column,
      key: row.key,
      unreplicated: row.generated === 'v' ? 'v' : row.generated === 's' && !stored ? 's' : null,
    });
  }
  return [...tables.values()];
}

/** Where a table's section of searchsync.yaml is, for messages. */
function sectionOf(config: SearchsyncConfig, table: string): string {
  const location = config.locations.get(table);
  return location ? `${location.file}:${location.line}` : 'searchsync.yaml';
}

/**
 * What the connector must exclude: the generated columns PostgreSQL does not replicate, merged
 * with the columns the configuration excludes (`excludedColumns` of @searchsync/config: key
 * columns stay), one entry per column; and what of the configuration cannot be applied. Pure.
 */
export function planExclusions(tables: SourceTable[], config: SearchsyncConfig): ExclusionPlan {
  const columns: ExcludedColumn[] = [];
  const problems: ExclusionProblem[] = [];
  for (const table of tables) {
    const name = `${table.schema}.${table.table}`;
    const settings = tableSettings(config, table);
    const names = table.columns.map((c) => c.name);
    const keys = table.columns.filter((c) => c.key).map((c) => c.name);
    const configured = new Set(configuredExclusions(settings, names, keys));
    const configuredReason =
      settings.include === null
        ? `excluded by ${sectionOf(config, name)}`
        : `not in the include list of ${sectionOf(config, name)}`;
    for (const column of table.columns) {
      const causes: ExcludedColumn['causes'] = [];
      const reasons: string[] = [];
      if (column.unreplicated) {
        causes.push('generated');
        reasons.push(
          column.unreplicated === 'v'
            ? 'virtual generated column PostgreSQL never replicates'
            : 'generated column PostgreSQL does not replicate',
        );
      }
      if (configured.has(column.name)) {
        causes.push('configured');
        reasons.push(configuredReason);
      }
      if (causes.length > 0) {
        columns.push({
          schema: table.schema,
          table: table.table,
          column: column.name,
          causes,
          reason: reasons.join('; '),
        });
      }
    }
    for (const column of [...settings.exclude, ...(settings.include ?? [])]) {
      if (keys.includes(column) && settings.exclude.includes(column)) {
        problems.push({
          table: name,
          column,
          kind: 'key-column',
          message: `${sectionOf(config, name)}: ${name} exclude names ${column}, a primary-key column: key columns are always synced (they make the document id) — remove ${column} from exclude`,
        });
      } else if (!names.includes(column)) {
        const list = settings.exclude.includes(column) ? 'exclude' : 'include';
        problems.push({
          table: name,
          column,
          kind: 'unknown-column',
          message: `${sectionOf(config, name)}: ${name} ${list} names ${column}, which the table does not have — check the spelling (${names.join(', ')})`,
        });
      }
    }
  }
  return { columns, problems };
}

/** The prefixes (`schema\.table\.`) of the entries of these tables (see ensureColumnExclusions). */
export function tablePrefixes(tables: SourceTable[]): Set<string> {
  return new Set(tables.map((t) => excludeEntry({ schema: t.schema, table: t.table, column: '' })));
}

/** The plan for the synced tables as PostgreSQL has them now, with their entry prefixes. */
export async function currentExclusions(
  db: Queryable,
  settings: ExclusionSettings,
  config: SearchsyncConfig,
): Promise<ExclusionPlan & { tables: Set<string> }> {
  const tables = await sourceTables(db, settings);
  return { ...planExclusions(tables, config), tables: tablePrefixes(tables) };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\,]/g, '\\$&');

/** The list entry of one column: Debezium matches `schema.table.column` against each regex. */
export function excludeEntry(column: { schema: string; table: string; column: string }): string {
  return [column.schema, column.table, column.column].map(escapeRegex).join('\\.');
}

/** Splits a Debezium regex list on the commas that are not escaped (`\,` is a literal comma). */
export function splitExcludeList(value: string | undefined): string[] {
  const entries: string[] = [];
  let current = '';
  const text = value ?? '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length) {
      current += char + text[i + 1];
      i++;
    } else if (char === ',') {
      entries.push(current);
      current = '';
    } else current += char;
  }
  entries.push(current);
  return entries.map((e) => e.trim()).filter(Boolean);
}

/**
 * The config with EXCLUDE_KEY = the user's own entries (those not recorded as ours) followed by
 * the entries of `columns`, and MANAGED_EXCLUDE_KEY recording the latter. Keys are removed when
 * their list is empty. Pure; the input is not changed.
 */
export function withManagedExclusions(
  config: Config,
  columns: { schema: string; table: string; column: string }[],
): Config {
  return withManagedEntries(config, columns.map(excludeEntry));
}

/** withManagedExclusions with the entries given as they are (e.g. kept from another config). */
export function withManagedEntries(config: Config, entries: string[]): Config {
  const ours = new Set(splitExcludeList(config[MANAGED_EXCLUDE_KEY]));
  const user = splitExcludeList(config[EXCLUDE_KEY]).filter((entry) => !ours.has(entry));
  const managed = [...new Set(entries)];
  const list = [...user, ...managed.filter((entry) => !user.includes(entry))];
  const next: Config = { ...config };
  delete next[EXCLUDE_KEY];
  delete next[MANAGED_EXCLUDE_KEY];
  if (list.length > 0) next[EXCLUDE_KEY] = list.join(',');
  if (managed.length > 0) next[MANAGED_EXCLUDE_KEY] = managed.join(',');
  return next;
}

/**
 * A connector config as it is registered: with the generated columns PostgreSQL does not
 * replicate and the columns searchsync.yaml excludes in EXCLUDE_KEY, so that even the first
 * (initial) snapshot leaves them out. The admin's connector apply, the local stack and the
 * docker-compose one-shot use this. `tableConfig` defaults to the files SEARCHSYNC_CONFIG names
 * (read now; an invalid file throws TableConfigInvalidError). `log` hears each entry with its
 * reason, and each part of the configuration that cannot be applied.
 */
export async function withColumnExclusions(
  db: Queryable,
  settings: ExclusionSettings,
  config: Config,
  tableConfig: SearchsyncConfig = loadSearchsyncConfig(),
  log: (line: string) => void = () => undefined,
): Promise<Config> {
  const plan = planExclusions(await sourceTables(db, settings), tableConfig);
  for (const column of plan.columns)
    log(`${EXCLUDE_KEY}: ${excludeEntry(column)} (${column.reason})`);
  for (const problem of plan.problems) log(problem.message);
  return withManagedExclusions(config, plan.columns);
}

/**
 * True when both configs exclude the same columns and record the same ones as ours, in whatever
 * order (a different order alone is no reason to restart the task).
 */
export function sameExclusions(a: Config, b: Config): boolean {
  const same = (key: string) => {
    const left = [...new Set(splitExcludeList(a[key]))].sort();
    const right = [...new Set(splitExcludeList(b[key]))].sort();
    return left.length === right.length && left.every((entry, i) => entry === right[i]);
  };
  return same(EXCLUDE_KEY) && same(MANAGED_EXCLUDE_KEY);
}

/** The columns a connector config excludes through an entry of ours or one equal to it. */
export function excludedEntries(config: Config): Set<string> {
  return new Set(splitExcludeList(config[EXCLUDE_KEY]));
}

/** What one look at the connector found and did. */
export interface ExclusionOutcome {
  /** `applied`: the config was changed (the task restarted); `missing`: no such connector. */
  state: 'unchanged' | 'applied' | 'missing' | 'failed';
  /** Entries the running connector excludes now (empty when unknown). */
  excluded: Set<string>;
  error: string | null;
}

/** The part of the admin's connector backend these functions use. */
export interface ExclusionBackend {
  config(name: string): Promise<Config>;
  apply(name: string, config: Config): Promise<{ created: boolean }>;
  status(name: string): Promise<{ state: string; tasks: { state: string }[] }>;
}

/**
 * A config change restarts the connector's task asynchronously: wait to see it leave RUNNING
 * (or for a few seconds, when the restart was too quick to be seen), then until it runs again,
 * so that a signal written afterwards is read by the task with the new config.
 */
export async function waitForRestart(
  backend: Pick<ExclusionBackend, 'status'>,
  name: string,
  options: { settleMs?: number; timeoutMs?: number } = {},
): Promise<boolean> {
  const running = async () => {
    const view = await backend.status(name).catch(() => null);
    return (
      view?.state === 'RUNNING' &&
      view.tasks.length > 0 &&
      view.tasks.every((t) => t.state === 'RUNNING')
    );
  };
  await waitUntil(async () => !(await running()), options.settleMs ?? 5000, 250);
  return waitUntil(running, options.timeoutMs ?? 60_000, 500);
}

/** What a change of our entries adds and removes, each added entry with its reason. */
export function describeChange(
  before: ReadonlySet<string>,
  after: ReadonlySet<string>,
  columns: ExcludedColumn[],
): string {
  const reasons = new Map(columns.map((c) => [excludeEntry(c), c.reason]));
  const added = [...after]
    .filter((entry) => !before.has(entry))
    .map((entry) => `${entry} (${reasons.get(entry) ?? 'kept: its table is gone'})`);
  const removed = [...before].filter((entry) => !after.has(entry));
  const parts: string[] = [];
  if (added.length > 0) parts.push(`+ ${added.join(', ')}`);
  if (removed.length > 0)
    parts.push(
      `- ${removed.join(', ')} (no longer generated nor excluded by the configuration, or its table is gone)`,
    );
  return `${EXCLUDE_KEY} ${parts.join('; ')}`;
}

/** Entries of dropped tables kept (to spare a restart) before they are cleaned up anyway. */
const MAX_GONE_KEPT = 50;

// Reconciler passes and resyncs of one process change the config one at a time.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Brings the connector's exclusions to `columns` (keeping the user's entries), changing its
 * config only when they differ, and waits for the restarted task. Never throws.
 *
 * `tables` (tablePrefixes): when given, an entry of ours whose table is gone is kept
 * rather than removed — a dropped table then costs no task restart; the entry is harmless until
 * a table of that name appears again, and is then judged by that table's columns. Such entries
 * leave with the next change that restarts the task anyway, or once there are too many.
 */
export function ensureColumnExclusions(
  backend: ExclusionBackend,
  name: string,
  columns: ExcludedColumn[],
  log: (line: string) => void = () => undefined,
  tables?: ReadonlySet<string>,
): Promise<ExclusionOutcome> {
  const run = async (): Promise<ExclusionOutcome> => {
    let current: Config;
    try {
      current = await backend.config(name);
    } catch (error) {
      // ConnectNotFoundError (Kafka Connect and MSK Connect alike).
      if ((error as { statusCode?: number }).statusCode === 404)
        return { state: 'missing', excluded: new Set(), error: null };
      return { state: 'failed', excluded: new Set(), error: (error as Error).message };
    }
    const gone = tables
      ? splitExcludeList(current[MANAGED_EXCLUDE_KEY]).filter(
          (entry) => ![...tables].some((prefix) => entry.startsWith(prefix)),
        )
      : [];
    const wanted = columns.map(excludeEntry);
    if (gone.length <= MAX_GONE_KEPT) {
      const keeping = withManagedEntries(current, [...wanted, ...gone]);
      if (sameExclusions(current, keeping)) {
        return { state: 'unchanged', excluded: excludedEntries(current), error: null };
      }
    }
    const next = withManagedEntries(current, wanted);
    if (sameExclusions(current, next)) {
      return { state: 'unchanged', excluded: excludedEntries(current), error: null };
    }
    try {
      const before = new Set(splitExcludeList(current[MANAGED_EXCLUDE_KEY]));
      const after = new Set(splitExcludeList(next[MANAGED_EXCLUDE_KEY]));
      log(`connector ${name}: ${describeChange(before, after, columns)}; the task restarts`);
      await backend.apply(name, next);
    } catch (error) {
      return {
        state: 'failed',
        excluded: excludedEntries(current),
        error: (error as Error).message,
      };
    }
    if (!(await waitForRestart(backend, name))) {
      log(`connector ${name} not running 60 s after its ${EXCLUDE_KEY} changed`);
    }
    return { state: 'applied', excluded: excludedEntries(next), error: null };
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/**
 * The connector's `column.exclude.list` leaves out the generated columns PostgreSQL does not
 * replicate, so that every read Debezium makes agrees with its stream: the initial snapshot and
 * the incremental snapshots (which would otherwise SELECT * — and fail "Column '…' not found in
 * result set" on a table whose schema came from pgoutput — or, with a schema read over JDBC,
 * carry the column while streamed changes do not).
 *
 * One owner: the admin's publication reconciler keeps the list current every pass; the admin's
 * connector apply, resync, the local stack and the docker-compose one-shot compute it with these
 * same functions. Entries the user put in the list are kept: the ones we manage are recorded in
 * MANAGED_EXCLUDE_KEY, so that a column that is no longer generated (or a dropped table) leaves
 * the list again without touching the user's own entries.
 *
 * Framework-free on purpose (tools/stack and deploy/compose import it).
 */
import type { PoolClient } from 'pg';

export const EXCLUDE_KEY = 'column.exclude.list';
/** The entries of EXCLUDE_KEY that searchsync manages (Debezium ignores unknown keys). */
export const MANAGED_EXCLUDE_KEY = 'searchsync.managed.column.exclude.list';

type Queryable = Pick<PoolClient, 'query'>;
export type Config = Record<string, string>;

/** A column of a synced table that PostgreSQL's logical replication does not carry. */
export interface UnreplicatedColumn {
  schema: string;
  table: string;
  column: string;
  /** `s` stored, `v` virtual (PostgreSQL 18). */
  kind: 's' | 'v';
}

export const STORED_GENERATED_REASON =
  'generated column: PostgreSQL replicates generated columns only from version 18, with the publication option publish_generated_columns = stored';
export const VIRTUAL_GENERATED_REASON =
  'virtual generated column: PostgreSQL never replicates virtual generated columns';

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
 * The generated columns of every table of the synced schemas (root tables: a partition's rows are
 * published as its root's) that the publication does not carry, in table and column order.
 * Tables kept out of the publication count too, so nothing changes when they enter it.
 */
export async function unreplicatedGeneratedColumns(
  db: Queryable,
  settings: { publication: string; schemas: string[] },
): Promise<UnreplicatedColumn[]> {
  const { rows } = await db.query<{
    schema: string;
    table: string;
    column: string;
    kind: 's' | 'v';
  }>(
    `select n.nspname as schema, c.relname as table, a.attname as column, a.attgenerated::text as kind
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where a.attnum > 0 and not a.attisdropped and a.attgenerated <> ''
        and c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)
      order by n.nspname, c.relname, a.attnum`,
    [settings.schemas],
  );
  if (rows.length === 0) return [];
  const stored = await publishesGeneratedColumns(db, settings.publication);
  return rows.filter((r) => r.kind === 'v' || !stored);
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
 * A connector config as it is registered: with the generated columns of the synced tables that
 * PostgreSQL does not replicate excluded, so that even the first (initial) snapshot leaves them
 * out. The admin's connector apply, the local stack and the docker-compose one-shot use this.
 */
export async function withGeneratedColumnExclusions(
  db: Queryable,
  settings: { publication: string; schemas: string[] },
  config: Config,
): Promise<Config> {
  return withManagedExclusions(config, await unreplicatedGeneratedColumns(db, settings));
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const left = Date.now() + (options.settleMs ?? 5000);
  while (Date.now() < left && (await running())) await sleep(250);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (await running()) return true;
    await sleep(500);
  }
  return false;
}

/** Entries of dropped tables kept (to spare a restart) before they are cleaned up anyway. */
const MAX_GONE_KEPT = 50;

// Reconciler passes and resyncs of one process change the config one at a time.
let queue: Promise<unknown> = Promise.resolve();

/**
 * The prefixes (`schema\.table\.`) of the entries of every root table of the synced schemas:
 * an entry of ours matching none names a table that is gone.
 */
export async function existingTablePrefixes(
  db: Queryable,
  schemas: string[],
): Promise<Set<string>> {
  const { rows } = await db.query<{ schema: string; table: string }>(
    `select n.nspname as schema, c.relname as table
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any($1)`,
    [schemas],
  );
  return new Set(rows.map((r) => excludeEntry({ ...r, column: '' })));
}

/**
 * Brings the connector's exclusions to `columns` (keeping the user's entries), changing its
 * config only when they differ, and waits for the restarted task. Never throws.
 *
 * `tables` (existingTablePrefixes): when given, an entry of ours whose table is gone is kept
 * rather than removed — a dropped table then costs no task restart; the entry is harmless until
 * a table of that name appears again, and is then judged by that table's columns. Such entries
 * leave with the next change that restarts the task anyway, or once there are too many.
 */
export function ensureColumnExclusions(
  backend: ExclusionBackend,
  name: string,
  columns: UnreplicatedColumn[],
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
      const added = [...after].filter((e) => !before.has(e));
      const removed = [...before].filter((e) => !after.has(e));
      log(
        `connector ${name}: ${EXCLUDE_KEY} ${added.length ? `+ ${added.join(', ')}` : ''}${added.length && removed.length ? '; ' : ''}${removed.length ? `- ${removed.join(', ')}` : ''} (generated columns PostgreSQL does not replicate); the task restarts`,
      );
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

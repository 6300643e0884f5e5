/**
 * The publication Debezium reads is managed by us, as an explicit list of tables: only tables
 * PostgreSQL can replicate without refusing the application's UPDATE and DELETE are in it.
 *
 * Framework-free on purpose: the admin's reconciler, the local stack (tools/stack) and the
 * docker-compose one-shot (deploy/compose) all prepare the database through this one module.
 */
import { randomUUID } from 'node:crypto';
import {
  excludedColumns as configuredExclusions,
  tableSettings,
  type SearchsyncConfig,
} from '@searchsync/config';
import type { Pool, PoolClient } from 'pg';
import { excludeEntry, publishesGeneratedColumns } from './column-exclusions';

/** Debezium's bookkeeping schema; its signal and heartbeat tables are always published. */
export const CDC_SCHEMA = 'searchsync_cdc';
export const CDC_TABLES = ['signal', 'heartbeat'] as const;

/** Bumped whenever the SQL objects below change, so older installations are replaced. */
export const MANAGED_SQL_VERSION = 5;

export interface PublicationSettings {
  /** Publication name (the connector's `publication.name`). */
  publication: string;
  /** Synced schemas (SEARCHSYNC_SCHEMAS). */
  schemas: string[];
  /** Install the event trigger that keeps membership current inside the DDL's own transaction. */
  ddlTrigger: boolean;
}

/** Why a table is kept out of the publication. */
export type ExclusionReason =
  | 'no-replica-identity'
  | 'replica-identity-nothing'
  | 'replica-identity-index-missing'
  | 'partitions-without-replica-identity'
  | 'unlogged';

const EXCLUSION_REASONS: readonly string[] = [
  'no-replica-identity',
  'replica-identity-nothing',
  'replica-identity-index-missing',
  'partitions-without-replica-identity',
  'unlogged',
] satisfies ExclusionReason[];

/** One ordinary or partitioned (root) table of the synced schemas, as the catalogue says. */
export interface CandidateTable {
  relid: string;
  schema: string;
  table: string;
  /** Debezium's bookkeeping tables (signal, heartbeat): always published. */
  cdc: boolean;
  /** null: PostgreSQL accepts UPDATE/DELETE on it while published. */
  blocker: ExclusionReason | null;
  primaryKey: string[];
  /** `schema.table` of the partitions that block a partitioned table. */
  unsafePartitions: string[];
  /**
   * A partitioned table is published without ONLY: its partitions go through it. Every other
   * table is published with ONLY, since inheritance children never inherit its key.
   */
  partitioned: boolean;
  /** Listed in the publication by name (not through a schema). */
  listed: boolean;
  /** Every column, in column order (what an `include` list of searchsync.yaml leaves out). */
  columns: string[];
  /**
   * Its generated columns the publication does not carry (all of them before PostgreSQL 18):
   * the connector must exclude them before Debezium reads the table's rows (column-exclusions.ts).
   */
  generatedColumns: string[];
}

/** The publication as PostgreSQL has it. */
export interface PublicationState {
  exists: boolean;
  allTables: boolean;
  /** Schemas published as a whole (FOR TABLES IN SCHEMA, PostgreSQL 15+). */
  schemaMembers: string[];
  viaRoot: boolean;
  candidates: CandidateTable[];
  /** Listed relations that are not candidates: partitions, tables of other schemas. */
  strays: { relid: string; name: string; partitioned: boolean }[];
}

export interface Exclusion {
  table: string;
  reason: ExclusionReason;
  fix: string;
}

export type PlanAction = 'create' | 'recreate' | 'set' | 'alter';

export interface MembershipPlan {
  action: PlanAction;
  /** Every table the publication must hold afterwards (`schema.table`, quoted for SQL). */
  desired: CandidateTable[];
  /** Tables entering the publication. */
  add: CandidateTable[];
  /** Of those, the synced ones whose rows Debezium has not streamed: snapshot them. */
  snapshot: CandidateTable[];
  /** Quoted names leaving the publication. */
  drop: string[];
  /** Of those, the partitioned tables (dropped without ONLY, like they were added). */
  dropPartitioned: string[];
  setViaRoot: boolean;
  excluded: Exclusion[];
  /**
   * Tables that would enter with a snapshot while the connector does not exclude their
   * generated columns, or the columns searchsync.yaml excludes, yet: left out until a later pass
   * (after the exclusion is applied).
   */
  deferred: string[];
}

export interface TriggerStatus {
  state: 'installed' | 'disabled-by-config' | 'disabled-in-database' | 'unavailable';
  detail: string | null;
}

export interface ReconcileReport {
  publication: string;
  /** What the reconciler did to the publication on this pass. */
  action: PlanAction | 'none' | 'skipped';
  published: string[];
  added: string[];
  dropped: string[];
  excluded: Exclusion[];
  /**
   * Tables waiting for the connector to exclude their generated columns or the columns
   * searchsync.yaml excludes (see MembershipPlan).
   */
  deferred: string[];
  trigger: TriggerStatus;
}

type Queryable = Pick<PoolClient, 'query'>;

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
export const quoteLiteral = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const qualified = (schema: string, table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;
const label = (t: { schema: string; table: string }) => `${t.schema}.${t.table}`;

/** Names of the objects installed for one publication (several publications may coexist). */
export function managedNames(publication: string): {
  triggerFunction: string;
  /** On ddl_command_end. */
  eventTrigger: string;
  /** On ddl_command_start (ALTER TABLE … SET UNLOGGED). */
  startTrigger: string;
  /** On sql_drop (cascaded drops). */
  dropTrigger: string;
} {
  const slug = publication.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return {
    triggerFunction: `maintain_publication_${slug}`,
    eventTrigger: `searchsync_publication_${slug}`,
    startTrigger: `searchsync_publication_${slug}_start`,
    dropTrigger: `searchsync_publication_${slug}_drop`,
  };
}

/**
 * The one definition of "safe to publish", shared by the reconciler and the event trigger:
 * null when PostgreSQL accepts UPDATE and DELETE on the table while it is published, else why not.
 * A partitioned table is as safe as its least safe leaf partition (the check runs per leaf).
 */
export const BLOCKER_FUNCTION_SQL = `
create or replace function ${CDC_SCHEMA}.row_identity_blocker(rel oid) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select case
    when c.relpersistence <> 'p' then 'unlogged'
    when c.relreplident = 'f' then null
    when c.relreplident = 'd' then
      case when exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary)
           then null else 'no-replica-identity' end
    when c.relreplident = 'i' then
      case when exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident)
           then null else 'replica-identity-index-missing' end
    else 'replica-identity-nothing'
  end
  from pg_class c where c.oid = rel
$$;
create or replace function ${CDC_SCHEMA}.replication_blocker(rel oid) returns text
language sql stable
set search_path = pg_catalog, pg_temp
as $$
  select case
    when c.relkind <> 'p' then ${CDC_SCHEMA}.row_identity_blocker(c.oid)
    when c.relpersistence <> 'p' then 'unlogged'
    when exists (
      select 1 from pg_partition_tree(c.oid) t join pg_class l on l.oid = t.relid
       where t.isleaf and l.relkind = 'r' and ${CDC_SCHEMA}.row_identity_blocker(l.oid) is not null
    ) then 'partitions-without-replica-identity'
    else null
  end
  from pg_class c where c.oid = rel
$$;
comment on function ${CDC_SCHEMA}.replication_blocker(oid) is 'searchsync v${MANAGED_SQL_VERSION}';
`;

/** Published tables whose replica identity the trigger set to FULL because it could not drop them. */
export const FALLBACK_TABLE = 'identity_fallback';

/**
 * The tables searchsync.yaml excludes columns of, per publication, by name (a section may come
 * before its table): the event trigger never adds them, since it cannot know whether the
 * connector's running config excludes their columns yet; the reconciler adds them once it does
 * (see holdConfiguredTables and deferUncovered). Kept current by whoever holds the configuration.
 */
export const HELD_TABLE = 'held_table';

/**
 * The event triggers' one function (it branches on the event). It runs inside the user's DDL
 * transaction, so it must never make that DDL fail: every statement sits in an exception block
 * that only raises a WARNING, and every lock wait is short (`lock_timeout` 100 ms): ALTER
 * PUBLICATION locks the publication until commit, so a longer wait while the DDL holds its table
 * locks would queue migrations behind each other, deadlock them, or run into their
 * statement_timeout (a cancel is no error an exception block may swallow).
 *
 * - ddl_command_start (ALTER TABLE): PostgreSQL refuses SET UNLOGGED on a published table, and at
 *   ddl_command_end it is too late; the command is found in current_query() (the only view of it
 *   before it runs) and the table dropped from the publication first.
 * - ddl_command_end: removes published tables that can no longer be replicated safely — when the
 *   publication's lock is not free at once, it sets the table's replica identity to FULL instead
 *   (the DDL already holds the table's lock), so the next UPDATE still works; the admin's
 *   reconciler later drops it and restores the identity. It adds the tables this very command
 *   touched once they can be replicated — with a snapshot signal when they already hold rows —
 *   and leaves an add that would wait to the reconciler (which signals the snapshot), as it
 *   leaves every table of HELD_TABLE: an excluded column must not stream for even one row
 *   before the connector excludes it. Held back, a table is simply unpublished: its writes work.
 * - sql_drop: a cascaded drop (DROP DOMAIN/TYPE/EXTENSION/… CASCADE) may take a key column, a
 *   constraint or an index with it; the published tables are checked again.
 */
export function triggerFunctionSql(settings: PublicationSettings): string {
  const { triggerFunction } = managedNames(settings.publication);
  const schemas = `array[${settings.schemas.map(quoteLiteral).join(', ')}]::text[]`;
  const cdcTables = CDC_TABLES.map(quoteLiteral).join(', ');
  const ident = `(?:"(?:[^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)`;
  return `
create or replace function ${CDC_SCHEMA}.${triggerFunction}() returns event_trigger
language plpgsql security definer
set search_path = pg_catalog, pg_temp
set lock_timeout = '100ms'
as $searchsync$
declare
  pub constant text := ${quoteLiteral(settings.publication)};
  synced constant text[] := ${schemas};
  pub_id oid;
  r record;
  leaf record;
  touched oid[];
  has_rows boolean;
  pk name[];
  signal jsonb;
  stored_published boolean := false;
  q text;
  m text[];
  target text;
  target_id oid;
begin
  if tg_event = 'ddl_command_start' then
    -- Every ALTER TABLE passes here: the cheapest test first.
    q := current_query();
    if q is null or strpos(lower(q), 'unlogged') = 0 then
      return;
    end if;
    select p.oid into pub_id from pg_publication p where p.pubname = pub and not p.puballtables;
    if pub_id is null then
      return;
    end if;
    -- ALTER TABLE [IF EXISTS] [ONLY] name [*] …, SET UNLOGGED[, …] — within one statement.
    for m in select regexp_matches(q, '\\malter\\s+table\\s+([^;]*?)\\mset\\s+unlogged\\M', 'gi') loop
      target := regexp_replace(m[1], '^(if\\s+exists\\s+)?(only\\s+)?', '', 'i');
      target := (regexp_match(target, '^(${ident}(\\s*\\.\\s*${ident})?)'))[1];
      continue when target is null;
      begin
        -- Resolved as the command will resolve it (search_path); no lock taken.
        target_id := to_regclass(regexp_replace(target, '\\s*\\.\\s*', '.'));
        if target_id is not null and exists (
          select 1 from pg_publication_rel pr where pr.prpubid = pub_id and pr.prrelid = target_id
        ) then
          -- The DDL fails without this drop anyway: a longer wait costs nothing.
          perform set_config('lock_timeout', '2s', true);
          execute format('alter publication %I drop table only %s', pub, target_id::regclass);
          perform set_config('lock_timeout', '100ms', true);
        end if;
      exception when others then
        perform set_config('lock_timeout', '100ms', true);
        raise warning 'searchsync: % not dropped from publication % before SET UNLOGGED (%)', target, pub, sqlerrm;
      end;
    end loop;
    return;
  end if;

  if tg_event = 'sql_drop' then
    -- ALTER TABLE, DROP INDEX and DROP TABLE are seen at ddl_command_end.
    if tg_tag in ('ALTER TABLE', 'DROP INDEX', 'DROP TABLE') or not exists (
      select 1 from pg_event_trigger_dropped_objects() d
       where d.object_type in ('index', 'table column', 'table constraint')
    ) then
      return;
    end if;
  else
    -- The tables this command touched, partitions and indexes resolved to their root table;
    -- temporary tables are never published.
    select coalesce(array_agg(distinct root.oid), '{}') into touched
      from pg_event_trigger_ddl_commands() d
      join pg_class o on d.classid = 'pg_class'::regclass and o.oid = d.objid
      left join pg_index i on o.relkind in ('i', 'I') and i.indexrelid = o.oid
      join pg_class t on t.oid = coalesce(i.indrelid, o.oid)
      join pg_class root on root.oid = (case when t.relispartition then pg_partition_root(t.oid) else t.oid end)
     where root.relkind in ('r', 'p') and root.relpersistence <> 't';
    if cardinality(touched) = 0 and tg_tag <> 'DROP INDEX' then
      return;
    end if;
  end if;

  select p.oid into pub_id from pg_publication p where p.pubname = pub and not p.puballtables;
  -- Not (yet) an explicit list: the reconciler migrates it; nothing safe to do here.
  if pub_id is null or exists (select 1 from pg_publication_namespace s where s.pnpubid = pub_id) then
    return;
  end if;

  -- The user set the replica identity himself: a FULL set by us earlier is his now.
  if tg_tag = 'ALTER TABLE' and current_query() ~* 'replica\\s+identity' then
    delete from ${CDC_SCHEMA}.${FALLBACK_TABLE} f where f.relid = any (touched)
       or f.relid in (select t.relid from unnest(touched) u(root), pg_partition_tree(u.root) t);
  end if;

  -- A dropped index or a cascaded drop can make an untouched table unsafe: then look at all.
  for r in
    select pr.prrelid as relid, c.relkind, ${CDC_SCHEMA}.replication_blocker(c.oid) as blocker
      from pg_publication_rel pr
      join pg_class c on c.oid = pr.prrelid
      join pg_namespace n on n.oid = c.relnamespace
     where pr.prpubid = pub_id
       and (tg_tag = 'DROP INDEX' or tg_event = 'sql_drop' or pr.prrelid = any (touched))
       and not (n.nspname = ${quoteLiteral(CDC_SCHEMA)} and c.relname in (${cdcTables}))
       and (c.relispartition or not (n.nspname = any (synced))
            or ${CDC_SCHEMA}.replication_blocker(c.oid) is not null)
  loop
    begin
      execute format('alter publication %I drop table %s%s', pub,
                     case when r.relkind = 'p' then '' else 'only ' end, r.relid::regclass);
    exception when others then
      if r.blocker is null or r.blocker = 'unlogged' then
        -- Still replicable (a partition, a table of another schema): only extra rows flow.
        raise warning 'searchsync: % stays in publication % (%); the connector admin retries', r.relid::regclass, pub, sqlerrm;
        continue;
      end if;
      begin
        -- PostgreSQL accepts UPDATE/DELETE on a published table with REPLICA IDENTITY FULL; this
        -- transaction holds the table's lock already. The admin restores the identity.
        for leaf in
          select l.oid, l.relreplident
            from pg_class l
           where (l.oid = r.relid
                  or l.oid in (select t.relid from pg_partition_tree(r.relid) t where t.isleaf))
             and l.relkind = 'r' and l.relpersistence = 'p'
             and ${CDC_SCHEMA}.row_identity_blocker(l.oid) is not null
        loop
          insert into ${CDC_SCHEMA}.${FALLBACK_TABLE} (relid, previous)
               values (leaf.oid, leaf.relreplident) on conflict (relid) do nothing;
          execute format('alter table only %s replica identity full', leaf.oid::regclass);
        end loop;
        raise warning 'searchsync: % could not leave publication % (%): its replica identity is FULL until the connector admin drops it and restores the identity', r.relid::regclass, pub, sqlerrm;
      exception when others then
        raise warning 'searchsync: % stays in publication % (%); the connector admin retries', r.relid::regclass, pub, sqlerrm;
      end;
    end;
  end loop;

  if tg_event = 'sql_drop' then
    return;
  end if;

  -- PostgreSQL 18 publishes stored generated columns when the publication says so.
  if current_setting('server_version_num')::int >= 180000 then
    execute 'select pubgencols::text = ''s'' from pg_publication where oid = $1' into stored_published using pub_id;
  end if;

  for r in
    select root.oid as relid, root.relkind, n.nspname as schema_name, root.relname as table_name
      from pg_class root
      join pg_namespace n on n.oid = root.relnamespace
     where root.oid = any (touched) and not root.relispartition and n.nspname = any (synced)
       and not exists (select 1 from pg_publication_rel pr where pr.prpubid = pub_id and pr.prrelid = root.oid)
       -- searchsync.yaml excludes columns of it: the reconciler adds it once the connector
       -- excludes them (with a snapshot of the rows written meanwhile).
       and not exists (select 1 from ${CDC_SCHEMA}.${HELD_TABLE} h
                        where h.publication = pub and h.schema_name = n.nspname and h.table_name = root.relname)
       and ${CDC_SCHEMA}.replication_blocker(root.oid) is null
  loop
    begin
      -- This transaction holds the DDL's lock on the table: the check cannot race a writer.
      execute format('select exists (select from %I.%I)', r.schema_name, r.table_name) into has_rows;
      -- Its rows must be snapshotted, and Debezium's snapshot of a table whose generated columns
      -- it does not exclude fails (or disagrees with the stream): the admin's reconciler adds
      -- it once the connector's column.exclude.list has them, with the snapshot signal.
      if has_rows and exists (
        select 1 from pg_attribute a
         where a.attrelid = r.relid and a.attnum > 0 and not a.attisdropped
           and (a.attgenerated = 'v' or (a.attgenerated = 's' and not stored_published))
      ) then
        continue;
      end if;
      -- ONLY: inheritance children never inherit the key. A partitioned table is listed alone
      -- anyway (its partitions are published through it).
      execute format('alter publication %I add table %s%I.%I', pub,
                     case when r.relkind = 'p' then '' else 'only ' end, r.schema_name, r.table_name);
      if has_rows then
        select array_agg(a.attname order by k.ord) into pk
          from pg_index x
          cross join unnest(x.indkey) with ordinality k(attnum, ord)
          join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
         where x.indrelid = r.relid and x.indisprimary;
        signal := jsonb_build_object('data-collections', jsonb_build_array(r.schema_name || '.' || r.table_name), 'type', 'incremental');
        -- Debezium may still hold the key-less schema it read at start; a surrogate key lets
        -- its incremental snapshot chunk the table anyway (it re-reads the schema when it starts).
        if cardinality(pk) = 1 then
          signal := signal || jsonb_build_object('surrogate-key', pk[1]);
        end if;
        insert into ${CDC_SCHEMA}.signal (id, type, data)
             values ('publication-add-' || gen_random_uuid(), 'execute-snapshot', signal::text);
      end if;
    exception when others then
      -- Typically the publication's lock (another migration added a table and has not
      -- committed): the reconciler adds it within seconds, with a snapshot of its rows.
      raise warning 'searchsync: % not added to publication % (%); the connector admin adds it', r.table_name, pub, sqlerrm;
    end;
  end loop;
exception when others then
  raise warning 'searchsync: publication % not maintained (%); the connector admin retries', pub, sqlerrm;
end
$searchsync$;
comment on function ${CDC_SCHEMA}.${triggerFunction}() is ${quoteLiteral(triggerMarker(settings))};
`;
}

/** Identifies the installed trigger function's version and settings. */
export function triggerMarker(settings: PublicationSettings): string {
  return `searchsync v${MANAGED_SQL_VERSION} ${JSON.stringify({ schemas: settings.schemas })}`;
}

/** ALTER TABLE … SET UNLOGGED is refused on a published table: seen before it runs. */
export const START_TRIGGER_TAGS = ['ALTER TABLE'];

/** Commands after which membership may change. */
export const TRIGGER_TAGS = [
  'CREATE TABLE',
  'CREATE TABLE AS',
  'SELECT INTO',
  'ALTER TABLE',
  'DROP TABLE',
  'DROP INDEX',
  'CREATE SCHEMA',
];

const CDC_SETUP = [
  `create schema if not exists ${CDC_SCHEMA}`,
  `create table if not exists ${CDC_SCHEMA}.signal (id varchar(64) primary key, type varchar(32) not null, data varchar(2048))`,
  `create table if not exists ${CDC_SCHEMA}.heartbeat (id int primary key, ts timestamptz not null)`,
  // previous: pg_class.relreplident before the trigger set FULL.
  `create table if not exists ${CDC_SCHEMA}.${FALLBACK_TABLE} (relid oid primary key, previous "char" not null, at timestamptz not null default now())`,
  `create table if not exists ${CDC_SCHEMA}.${HELD_TABLE} (publication text not null, schema_name text not null, table_name text not null, reason text not null, at timestamptz not null default now(), primary key (publication, schema_name, table_name))`,
];
const CDC_OWN_TABLES = [...CDC_TABLES, FALLBACK_TABLE, HELD_TABLE];

/** Schema, signal and heartbeat tables, and the blocker functions (when missing or older). */
export async function ensureCdcObjects(db: Queryable): Promise<void> {
  const { rows } = await db.query<{ marker: string | null }>(
    `select obj_description(p.oid, 'pg_proc') as marker
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = $1 and p.proname = 'replication_blocker'`,
    [CDC_SCHEMA],
  );
  const current = rows[0]?.marker === `searchsync v${MANAGED_SQL_VERSION}`;
  const tables = await db.query(
    `select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = any($2) and c.relkind = 'r'`,
    [CDC_SCHEMA, CDC_OWN_TABLES],
  );
  if (current && tables.rowCount === CDC_OWN_TABLES.length) return;
  for (const statement of CDC_SETUP) await db.query(statement);
  if (!current) await db.query(BLOCKER_FUNCTION_SQL);
}

interface CandidateRow {
  relid: string;
  schema: string;
  table: string;
  cdc: boolean;
  blocker: string | null;
  primary_key: string[];
  unsafe_partitions: string[];
  partitioned: boolean;
  listed: boolean;
  columns: string[];
  generated: string[];
}

/** Reads the publication and every candidate table with its blocker. */
export async function inspectPublication(
  db: Queryable,
  settings: PublicationSettings,
): Promise<PublicationState> {
  const publication = await db.query<{ oid: string; puballtables: boolean; pubviaroot: boolean }>(
    'select oid::text, puballtables, pubviaroot from pg_publication where pubname = $1',
    [settings.publication],
  );
  const pub = publication.rows[0];
  const version = Number(
    (await db.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0].v,
  );
  // FOR TABLES IN SCHEMA (pg_publication_namespace) exists from PostgreSQL 15 on.
  const schemaMembers =
    pub && version >= 150000
      ? (
          await db.query<{ nspname: string }>(
            `select n.nspname from pg_publication_namespace s join pg_namespace n on n.oid = s.pnnspid
              where s.pnpubid = $1::oid order by 1`,
            [pub.oid],
          )
        ).rows.map((r) => r.nspname)
      : [];
  const { rows } = await db.query<CandidateRow>(
    `select c.oid::text as relid, n.nspname as schema, c.relname as table,
            (n.nspname = $3) as cdc,
            ${CDC_SCHEMA}.replication_blocker(c.oid) as blocker,
            coalesce((select array_agg(a.attname::text order by k.ord)
                        from pg_index x
                        cross join unnest(x.indkey) with ordinality k(attnum, ord)
                        join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                       where x.indrelid = c.oid and x.indisprimary), '{}') as primary_key,
            case when c.relkind = 'p' then
              coalesce((select array_agg(ln.nspname || '.' || l.relname order by l.relname)
                          from pg_partition_tree(c.oid) t
                          join pg_class l on l.oid = t.relid
                          join pg_namespace ln on ln.oid = l.relnamespace
                         where t.isleaf and l.relkind = 'r'
                           and ${CDC_SCHEMA}.row_identity_blocker(l.oid) is not null), '{}')
            else '{}' end as unsafe_partitions,
            (c.relkind = 'p') as partitioned,
            exists (select 1 from pg_publication_rel pr
                     where pr.prpubid = $4::oid and pr.prrelid = c.oid) as listed,
            coalesce((select array_agg(a.attname::text order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}') as columns,
            coalesce((select array_agg(a.attname::text order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                         and (a.attgenerated = 'v' or (a.attgenerated = 's' and not $5))), '{}') as generated
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and (n.nspname = any($1) or (n.nspname = $3 and c.relname = any($2)))
      order by n.nspname, c.relname`,
    [
      settings.schemas,
      [...CDC_TABLES],
      CDC_SCHEMA,
      pub?.oid ?? '0',
      await publishesGeneratedColumns(db, settings.publication),
    ],
  );
  const candidates: CandidateTable[] = rows.map((r) => ({
    relid: r.relid,
    schema: r.schema,
    table: r.table,
    cdc: r.cdc,
    blocker: toReason(r.blocker),
    primaryKey: r.primary_key,
    unsafePartitions: r.unsafe_partitions,
    partitioned: r.partitioned,
    listed: r.listed,
    columns: r.columns,
    generatedColumns: r.generated,
  }));
  const known = new Set(candidates.map((c) => c.relid));
  const listed = pub
    ? (
        await db.query<{ relid: string; schema: string; table: string; partitioned: boolean }>(
          `select c.oid::text as relid, n.nspname as schema, c.relname as table,
                  (c.relkind = 'p') as partitioned
             from pg_publication_rel pr
             join pg_class c on c.oid = pr.prrelid
             join pg_namespace n on n.oid = c.relnamespace
            where pr.prpubid = $1::oid`,
          [pub.oid],
        )
      ).rows
    : [];
  return {
    exists: Boolean(pub),
    allTables: pub?.puballtables ?? false,
    schemaMembers,
    viaRoot: pub?.pubviaroot ?? false,
    candidates,
    strays: listed
      .filter((r) => !known.has(r.relid))
      .map((r) => ({
        relid: r.relid,
        name: qualified(r.schema, r.table),
        partitioned: r.partitioned,
      })),
  };
}

function toReason(blocker: string | null): ExclusionReason | null {
  if (blocker === null) return null;
  // An unknown code (a newer function than this code) still keeps the table out.
  return (EXCLUSION_REASONS.includes(blocker) ? blocker : 'no-replica-identity') as ExclusionReason;
}

/** What to tell the user about a table kept out of the publication. */
export function exclusionFix(table: CandidateTable): string {
  const name = qualified(table.schema, table.table);
  const why =
    'kept out of the publication so that the application’s UPDATE and DELETE keep working (PostgreSQL refuses them on a published table without a replica identity)';
  const after = 'searchsync picks it up without a restart and reads its existing rows';
  switch (table.blocker) {
    case 'unlogged':
      return `unlogged, so not in the WAL and not replicable: alter table ${name} set logged; ${after}`;
    case 'partitions-without-replica-identity':
      return `${why}: partitions ${table.unsafePartitions.join(', ')} have neither a primary key nor a replica identity — add a primary key to ${name} (it reaches every partition), or set a replica identity on each of them; ${after}`;
    case 'replica-identity-nothing':
      return `${why}: its replica identity is NOTHING — add a primary key and alter table ${name} replica identity default, or alter table ${name} replica identity using index <unique index on NOT NULL columns>; ${after}`;
    case 'replica-identity-index-missing':
      return `${why}: the index of its replica identity is gone — alter table ${name} replica identity using index <unique index on NOT NULL columns>, or add a primary key and set replica identity default; ${after}`;
    case 'no-replica-identity':
    case null:
      return `${why}: add a primary key (alter table ${name} add primary key (<columns>)), or alter table ${name} replica identity using index <unique index on NOT NULL columns>; or opt in as it is with alter table ${name} replica identity full (whole rows are then logged) and give its documents an id with the connector's message.key.columns; ${after}`;
  }
}

/** The membership the publication must have, and how to get there. Pure. */
export function planMembership(state: PublicationState): MembershipPlan {
  const desired = state.candidates.filter((c) => c.cdc || c.blocker === null);
  const excluded = state.candidates
    .filter((c) => !c.cdc && c.blocker !== null)
    .map((c) => ({
      table: label(c),
      reason: c.blocker ?? 'no-replica-identity',
      fix: exclusionFix(c),
    }));
  const publishedNow = (c: CandidateTable) =>
    state.allTables || c.listed || state.schemaMembers.includes(c.schema);
  if (!state.exists) {
    // No stream reads a missing publication yet: the connector's initial snapshot covers the rows.
    return {
      action: 'create',
      desired,
      add: desired,
      snapshot: [],
      drop: [],
      dropPartitioned: [],
      setViaRoot: false,
      excluded,
      deferred: [],
    };
  }
  const add = desired.filter((c) => !publishedNow(c));
  const snapshot = add.filter((c) => !c.cdc);
  if (state.allTables) {
    return {
      action: 'recreate',
      desired,
      add,
      snapshot,
      drop: [],
      dropPartitioned: [],
      setViaRoot: false,
      excluded,
      deferred: [],
    };
  }
  const setViaRoot = !state.viaRoot;
  if (state.schemaMembers.length > 0) {
    return {
      action: 'set',
      desired,
      add,
      snapshot,
      drop: [],
      dropPartitioned: [],
      setViaRoot,
      excluded,
      deferred: [],
    };
  }
  const leaving = [
    ...state.candidates
      .filter((c) => c.listed && !c.cdc && c.blocker !== null)
      .map((c) => ({ name: qualified(c.schema, c.table), partitioned: c.partitioned })),
    ...state.strays,
  ];
  return {
    action: 'alter',
    desired,
    add,
    snapshot,
    drop: leaving.map((t) => t.name),
    dropPartitioned: leaving.filter((t) => t.partitioned).map((t) => t.name),
    setViaRoot,
    excluded,
    deferred: [],
  };
}

/** What decides whether a table entering the publication must wait (see deferUncovered). */
export interface HoldBack {
  /**
   * searchsync.yaml as the caller has it: a table whose columns it excludes waits until the
   * connector excludes them. Absent (a caller without the configuration): a table of `held`
   * always waits, for the admin's reconciler, which has it.
   */
  tableConfig?: SearchsyncConfig;
  /** `schema.table` of HELD_TABLE, as the database has it now. */
  held?: ReadonlySet<string>;
}

/** True when searchsync.yaml leaves a column of the table out (even one it does not have yet). */
export function configuresExclusions(
  config: SearchsyncConfig,
  table: { schema: string; table: string },
): boolean {
  const settings = tableSettings(config, table);
  return settings.exclude.length > 0 || settings.include !== null;
}

/**
 * The columns the connector must exclude before the table's rows may stream: its generated
 * columns the publication does not carry, and (with a configuration) the ones searchsync.yaml
 * excludes — key columns never (column-exclusions.ts excludes the same). Pure.
 */
export function columnsToExclude(table: CandidateTable, config?: SearchsyncConfig): string[] {
  const configured = config
    ? configuredExclusions(tableSettings(config, table), table.columns, table.primaryKey)
    : [];
  return [...new Set([...table.generatedColumns, ...configured])];
}

/**
 * Why the table must wait before it enters with a snapshot, or null when it may enter now:
 * the connector (`excluded`: the entries of its running column.exclude.list) does not exclude
 * all of columnsToExclude yet; or the database holds it back (HELD_TABLE) while the caller's
 * configuration does not say why (none given, or an older one than the admin wrote): the
 * configuration that held it decides, on a later pass. Pure.
 */
export function holdReason(
  table: CandidateTable,
  excluded: ReadonlySet<string>,
  hold: HoldBack = {},
): string | null {
  const missing = columnsToExclude(table, hold.tableConfig).filter(
    (column) => !excluded.has(excludeEntry({ schema: table.schema, table: table.table, column })),
  );
  if (missing.length > 0) return `the connector does not exclude ${missing.join(', ')} yet`;
  if (
    hold.held?.has(label(table)) &&
    (!hold.tableConfig || !configuresExclusions(hold.tableConfig, table))
  )
    return 'held for the connector admin, which applies searchsync.yaml';
  return null;
}

/**
 * Leaves out of the plan the tables that would be snapshotted while the connector does not
 * exclude all of their generated columns and configured exclusions (see holdReason). A
 * publication being created enters whole: no stream reads it yet, and the connector registered
 * with it is registered with its exclusions. Pure.
 */
export function deferUncovered(
  plan: MembershipPlan,
  excluded: ReadonlySet<string>,
  hold: HoldBack = {},
): MembershipPlan {
  const deferred = plan.snapshot.filter((t) => holdReason(t, excluded, hold) !== null);
  if (deferred.length === 0) return plan;
  const out = new Set(deferred.map((t) => t.relid));
  return {
    ...plan,
    desired: plan.desired.filter((t) => !out.has(t.relid)),
    add: plan.add.filter((t) => !out.has(t.relid)),
    snapshot: plan.snapshot.filter((t) => !out.has(t.relid)),
    deferred: [...plan.deferred, ...deferred.map(label)],
  };
}

/** The tables of HELD_TABLE for this configuration: every section that excludes a column. Pure. */
export function heldTables(
  config: SearchsyncConfig,
): { schema: string; table: string; reason: string }[] {
  const held: { schema: string; table: string; reason: string }[] = [];
  for (const name of [...config.tables.keys()].sort()) {
    const dot = name.indexOf('.');
    const table = { schema: name.slice(0, dot), table: name.slice(dot + 1) };
    if (!configuresExclusions(config, table)) continue;
    const location = config.locations.get(name);
    const where = location ? `${location.file}:${location.line}` : 'searchsync.yaml';
    held.push({ ...table, reason: `${where} excludes columns of it` });
  }
  return held;
}

/** The tables of HELD_TABLE for the publication, as `schema.table`. */
export async function readHeldTables(db: Queryable, publication: string): Promise<Set<string>> {
  const { rows } = await db.query<{ name: string }>(
    `select schema_name || '.' || table_name as name from ${CDC_SCHEMA}.${HELD_TABLE}
      where publication = $1`,
    [publication],
  );
  return new Set(rows.map((r) => r.name));
}

/** Writers of HELD_TABLE, one at a time (never skipped, unlike a reconcile pass). */
const HOLD_KEY = 'searchsync.publication.held';

/**
 * Makes HELD_TABLE of the publication the tables whose columns `config` excludes, so that the
 * DDL trigger leaves a table created from now on to the reconciler. Call it as soon as the
 * configuration changes, before the connector's exclusions are applied (that waits for a task
 * restart). Returns what entered and left, as `schema.table`.
 */
export async function holdConfiguredTables(
  pool: Pool,
  publication: string,
  config: SearchsyncConfig,
): Promise<{ held: string[]; released: string[] }> {
  const wanted = heldTables(config);
  const client = await pool.connect();
  try {
    await client.query('begin');
    // Only other writers of this small table are waited for (a reconcile pass uses another key).
    await client.query("set local lock_timeout = '10s'");
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [HOLD_KEY]);
    await ensureCdcObjects(client);
    const released = await client.query<{ name: string }>(
      `delete from ${CDC_SCHEMA}.${HELD_TABLE} h
        where h.publication = $1
          and (h.schema_name, h.table_name) not in (select * from unnest($2::text[], $3::text[]))
        returning h.schema_name || '.' || h.table_name as name`,
      [publication, wanted.map((t) => t.schema), wanted.map((t) => t.table)],
    );
    const held = await client.query<{ name: string; inserted: boolean }>(
      `insert into ${CDC_SCHEMA}.${HELD_TABLE} (publication, schema_name, table_name, reason)
       select $1, s, t, r from unnest($2::text[], $3::text[], $4::text[]) u(s, t, r)
       on conflict (publication, schema_name, table_name)
         do update set reason = excluded.reason
         where ${HELD_TABLE}.reason is distinct from excluded.reason
       returning schema_name || '.' || table_name as name, (xmax = 0) as inserted`,
      [
        publication,
        wanted.map((t) => t.schema),
        wanted.map((t) => t.table),
        wanted.map((t) => t.reason),
      ],
    );
    await client.query('commit');
    return {
      held: held.rows.filter((r) => r.inserted).map((r) => r.name),
      released: released.rows.map((r) => r.name),
    };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** True when applying the plan would change nothing. */
export function planIsNoop(plan: MembershipPlan): boolean {
  return (
    plan.action === 'alter' && plan.add.length === 0 && plan.drop.length === 0 && !plan.setViaRoot
  );
}

/** An `execute-snapshot` signal (incremental) for one table entering the publication. */
export function snapshotSignal(table: CandidateTable): { id: string; type: string; data: string } {
  const data: Record<string, unknown> = {
    'data-collections': [label(table)],
    type: 'incremental',
  };
  if (table.primaryKey.length === 1) data['surrogate-key'] = table.primaryKey[0];
  return {
    id: `publication-add-${randomUUID()}`,
    type: 'execute-snapshot',
    data: JSON.stringify(data),
  };
}

/**
 * A table as the publication lists it: ONLY, because an inheritance child never inherits the
 * parent's key (without ONLY it would be published too, and its UPDATE refused); a partitioned
 * table without it, its partitions being published through it.
 */
function publishedName(c: CandidateTable): string {
  return `${c.partitioned ? '' : 'only '}${qualified(c.schema, c.table)}`;
}

/** The statements that apply a plan, in order (one transaction). Pure. */
export function planStatements(plan: MembershipPlan, publication: string): string[] {
  const pub = quoteIdent(publication);
  const list = plan.desired.map(publishedName).join(', ');
  const dropped = (name: string) => (plan.dropPartitioned.includes(name) ? name : `only ${name}`);
  const statements: string[] = [];
  switch (plan.action) {
    case 'create':
      statements.push(
        `create publication ${pub} for table ${list} with (publish_via_partition_root = true)`,
      );
      break;
    case 'recreate':
      statements.push(
        `drop publication ${pub}`,
        `create publication ${pub} for table ${list} with (publish_via_partition_root = true)`,
      );
      break;
    case 'set':
      // One statement replaces the schema membership by the list: a table in both is never out.
      statements.push(`alter publication ${pub} set table ${list}`);
      break;
    case 'alter':
      for (const name of plan.drop)
        statements.push(`alter publication ${pub} drop table ${dropped(name)}`);
      for (const c of plan.add)
        statements.push(`alter publication ${pub} add table ${publishedName(c)}`);
      break;
  }
  if (plan.setViaRoot)
    statements.push(`alter publication ${pub} set (publish_via_partition_root = true)`);
  return statements;
}

/** Holds off a second admin replica (or the stack setup) working on the same publication. */
const ADVISORY_KEY = 'searchsync.publication';

async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T | null> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ locked: boolean }>(
      'select pg_try_advisory_xact_lock(hashtext($1)) as locked',
      [ADVISORY_KEY],
    );
    if (!rows[0].locked) {
      await client.query('rollback');
      return null;
    }
    // Never queue behind (and so in front of) the application's own locks for long.
    await client.query("set local lock_timeout = '3s'");
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Installs (or refreshes) the event trigger; reports why when the database does not allow it. */
export async function ensureDdlTrigger(
  db: Queryable,
  settings: PublicationSettings,
): Promise<TriggerStatus> {
  const names = managedNames(settings.publication);
  // Runs inside the reconciler's transaction: a refusal must not abort the membership work.
  await db.query('savepoint searchsync_trigger');
  const attempt = async (
    work: () => Promise<TriggerStatus>,
    refused: (error: Error) => TriggerStatus,
  ) => {
    try {
      const status = await work();
      await db.query('release savepoint searchsync_trigger');
      return status;
    } catch (error) {
      await db.query('rollback to savepoint searchsync_trigger');
      return refused(error as Error);
    }
  };
  if (!settings.ddlTrigger) {
    return attempt(
      async () => {
        for (const trigger of [names.eventTrigger, names.startTrigger, names.dropTrigger])
          await db.query(`drop event trigger if exists ${quoteIdent(trigger)}`);
        return { state: 'disabled-by-config', detail: DISABLED_DETAIL };
      },
      () => ({ state: 'disabled-by-config', detail: DISABLED_DETAIL }),
    );
  }
  return attempt(
    async () => {
      const { rows } = await db.query<{
        marker: string | null;
        enabled: string | null;
        start: string | null;
        drop: string | null;
      }>(
        `select (select obj_description(p.oid, 'pg_proc')
                   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                  where n.nspname = $1 and p.proname = $2) as marker,
                (select e.evtenabled::text from pg_event_trigger e where e.evtname = $3) as enabled,
                (select e.evtenabled::text from pg_event_trigger e where e.evtname = $4) as start,
                (select e.evtenabled::text from pg_event_trigger e where e.evtname = $5) as drop`,
        [
          CDC_SCHEMA,
          names.triggerFunction,
          names.eventTrigger,
          names.startTrigger,
          names.dropTrigger,
        ],
      );
      const { marker, enabled, start, drop } = rows[0];
      if (enabled === 'D') {
        return {
          state: 'disabled-in-database',
          detail: `event trigger ${names.eventTrigger} is disabled (alter event trigger … enable to turn it on); the reconciler alone keeps membership current`,
        };
      }
      const current = marker === triggerMarker(settings);
      if (current && enabled !== null && start !== null && drop !== null) {
        return { state: 'installed', detail: null };
      }
      if (!current) await db.query(triggerFunctionSql(settings));
      const fn = `${CDC_SCHEMA}.${quoteIdent(names.triggerFunction)}()`;
      if (enabled === null) {
        await db.query(
          `create event trigger ${quoteIdent(names.eventTrigger)} on ddl_command_end
             when tag in (${TRIGGER_TAGS.map(quoteLiteral).join(', ')})
             execute function ${fn}`,
        );
      }
      if (start === null) {
        await db.query(
          `create event trigger ${quoteIdent(names.startTrigger)} on ddl_command_start
             when tag in (${START_TRIGGER_TAGS.map(quoteLiteral).join(', ')})
             execute function ${fn}`,
        );
      }
      // No tag filter: any DROP … CASCADE may take a key with it.
      if (drop === null) {
        await db.query(
          `create event trigger ${quoteIdent(names.dropTrigger)} on sql_drop execute function ${fn}`,
        );
      }
      return { state: 'installed', detail: null };
    },
    // Event triggers need a superuser (rds_superuser / cloudsqlsuperuser on managed services).
    (error) => ({
      state: 'unavailable',
      detail: `event trigger not installed (${error.message}); the reconciler alone keeps membership current: a new table waits for its next pass and is then snapshotted`,
    }),
  );
}

const DISABLED_DETAIL =
  'ADMIN_PUBLICATION_DDL_TRIGGER=false: the reconciler alone keeps membership current';

/**
 * One pass: Debezium's tables and functions, the publication's membership (created, migrated
 * from a schema or all-tables publication, or corrected), snapshot signals for tables that
 * enter with rows, and the event trigger. Returns null when another process holds the pass.
 */
export async function reconcilePublication(
  pool: Pool,
  settings: PublicationSettings,
  log: (line: string) => void = () => undefined,
  options: {
    /**
     * The entries of the connector's column.exclude.list: a table entering with a snapshot
     * waits until they cover its generated columns (and its configured exclusions). Empty when
     * unknown (no connector yet): such tables are then left to the admin's reconciler.
     */
    excludedColumns: ReadonlySet<string>;
    /**
     * searchsync.yaml, the same the exclusions were computed from: a table whose columns it
     * excludes waits until the connector excludes them. Without it, the tables HELD_TABLE holds
     * wait for the admin. HELD_TABLE itself is written by holdConfiguredTables.
     */
    tableConfig?: SearchsyncConfig;
  } = { excludedColumns: new Set() },
): Promise<ReconcileReport | null> {
  return inTransaction(pool, async (client) => {
    await ensureCdcObjects(client);
    await restoreFallbackIdentities(client, log);
    const state = await inspectPublication(client, settings);
    const hold: HoldBack = {
      tableConfig: options.tableConfig,
      held: await readHeldTables(client, settings.publication),
    };
    let plan = deferUncovered(planMembership(state), options.excludedColumns, hold);
    const noop = planIsNoop(plan);
    if (!noop) {
      for (const statement of planStatements(plan, settings.publication))
        await client.query(statement);
      plan = await dropRaced(
        client,
        plan,
        settings.publication,
        log,
        options.excludedColumns,
        hold,
      );
      // Rows of a table that enters now were never streamed; its signal commits with the
      // membership, so Debezium reads the table after it is published (nothing falls between).
      for (const table of plan.snapshot) {
        const signal = snapshotSignal(table);
        await client.query(
          `insert into ${CDC_SCHEMA}.signal (id, type, data) values ($1, $2, $3)`,
          [signal.id, signal.type, signal.data],
        );
      }
      log(
        `publication ${settings.publication}: ${plan.action}${plan.add.length ? `, added ${plan.add.map(label).join(', ')}` : ''}${plan.drop.length ? `, dropped ${plan.drop.join(', ')}` : ''}`,
      );
    }
    if (plan.deferred.length > 0) {
      log(
        `publication ${settings.publication}: ${plan.deferred.join(', ')} wait for the connector to exclude their generated columns and the columns searchsync.yaml excludes before they enter with a snapshot`,
      );
    }
    const trigger = await ensureDdlTrigger(client, settings);
    return {
      publication: settings.publication,
      action: noop ? 'none' : plan.action,
      published: plan.desired.map(label),
      added: noop ? [] : plan.add.map(label),
      dropped: noop ? [] : plan.drop,
      excluded: plan.excluded,
      deferred: plan.deferred,
      trigger,
    };
  });
}

/**
 * The tables the plan brought in were inspected before their locks were taken: a key dropped in
 * between (its DDL committed while our ADD waited for the table) would leave a keyless table
 * published, and a column added in between (to a table in `include` mode) would stream before
 * the connector excludes it. Checked again now that ADD holds each table's lock until commit
 * (no DDL can change it any more), and dropped — the latter until a later pass.
 */
async function dropRaced(
  client: Queryable,
  plan: MembershipPlan,
  publication: string,
  log: (line: string) => void,
  excluded: ReadonlySet<string>,
  hold: HoldBack,
): Promise<MembershipPlan> {
  const entering = (plan.action === 'alter' ? plan.add : plan.desired).filter((t) => !t.cdc);
  if (entering.length === 0) return plan;
  const { rows } = await client.query<{
    relid: string;
    blocker: string | null;
    columns: string[];
    primary_key: string[];
    generated: string[];
  }>(
    `select r.relid::text as relid, ${CDC_SCHEMA}.replication_blocker(r.relid) as blocker,
            coalesce((select array_agg(a.attname::text order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = r.relid and a.attnum > 0 and not a.attisdropped), '{}') as columns,
            coalesce((select array_agg(a.attname::text order by k.ord)
                        from pg_index x
                        cross join unnest(x.indkey) with ordinality k(attnum, ord)
                        join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
                       where x.indrelid = r.relid and x.indisprimary), '{}') as primary_key,
            coalesce((select array_agg(a.attname::text order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = r.relid and a.attnum > 0 and not a.attisdropped
                         and (a.attgenerated = 'v' or (a.attgenerated = 's' and not $2))), '{}') as generated
       from unnest($1::oid[]) r(relid)`,
    [entering.map((t) => t.relid), await publishesGeneratedColumns(client, publication)],
  );
  const now = new Map(rows.map((r) => [r.relid, r]));
  const snapshotted = new Set(plan.snapshot.map((t) => t.relid));
  const raced: CandidateTable[] = [];
  const uncovered: CandidateTable[] = [];
  for (const table of entering) {
    const row = now.get(table.relid);
    if (!row || row.blocker !== null) {
      raced.push(table);
      continue;
    }
    if (!snapshotted.has(table.relid)) continue;
    const fresh: CandidateTable = {
      ...table,
      columns: row.columns,
      primaryKey: row.primary_key,
      generatedColumns: row.generated,
    };
    if (holdReason(fresh, excluded, hold) !== null) uncovered.push(table);
  }
  const out = [...raced, ...uncovered];
  if (out.length === 0) return plan;
  for (const table of out)
    await client.query(
      `alter publication ${quoteIdent(publication)} drop table ${publishedName(table)}`,
    );
  if (raced.length > 0)
    log(
      `publication ${publication}: ${raced.map(label).join(', ')} lost their replica identity while being added; dropped again`,
    );
  if (uncovered.length > 0)
    log(
      `publication ${publication}: ${uncovered.map(label).join(', ')} changed columns while being added; dropped again until the connector excludes them`,
    );
  const gone = new Set(out.map((t) => t.relid));
  const keep = (t: CandidateTable) => !gone.has(t.relid);
  return {
    ...plan,
    desired: plan.desired.filter(keep),
    add: plan.add.filter(keep),
    snapshot: plan.snapshot.filter(keep),
    deferred: [...plan.deferred, ...uncovered.map(label)],
  };
}

/**
 * The event trigger sets REPLICA IDENTITY FULL on a table it could not drop from the
 * publication (its lock was taken) so that the application's UPDATE keeps working. Restores the
 * identity the table had, so it leaves the publication on this pass (the trigger drops it, or
 * the plan does); a table whose identity the user has set since is his.
 */
async function restoreFallbackIdentities(
  client: Queryable,
  log: (line: string) => void,
): Promise<void> {
  const { rows } = await client.query<{
    relid: string;
    name: string | null;
    previous: string;
    now: string | null;
  }>(
    `select f.relid::text, c.oid::regclass::text as name, f.previous::text, c.relreplident::text as now
       from ${CDC_SCHEMA}.${FALLBACK_TABLE} f left join pg_class c on c.oid = f.relid`,
  );
  for (const row of rows) {
    if (row.now !== 'f' || row.name === null) {
      await client.query(`delete from ${CDC_SCHEMA}.${FALLBACK_TABLE} where relid = $1::oid`, [
        row.relid,
      ]);
      continue;
    }
    const identity = row.previous === 'n' ? 'nothing' : 'default';
    await client.query('savepoint searchsync_identity');
    try {
      // Its writers queue behind this lock: never for long.
      await client.query("set local lock_timeout = '100ms'");
      await client.query(`alter table only ${row.name} replica identity ${identity}`);
      const after = await client.query<{ now: string }>(
        'select relreplident::text as now from pg_class where oid = $1::oid',
        [row.relid],
      );
      // The trigger could not drop it either and set FULL again: try on a later pass.
      if (after.rows[0]?.now === 'f') throw new Error('still published without a key');
      await client.query(`delete from ${CDC_SCHEMA}.${FALLBACK_TABLE} where relid = $1::oid`, [
        row.relid,
      ]);
      await client.query('release savepoint searchsync_identity');
      log(`${row.name}: replica identity ${identity} restored (the DDL trigger had set FULL)`);
    } catch (error) {
      await client.query('rollback to savepoint searchsync_identity');
      log(`${row.name}: replica identity not restored yet (${(error as Error).message})`);
    }
  }
  await client.query("set local lock_timeout = '3s'");
}

/** The same pass without changing anything (ADMIN_PUBLICATION_MANAGED=false). */
export async function describePublication(
  pool: Pool,
  settings: PublicationSettings,
): Promise<ReconcileReport> {
  await ensureCdcObjects(pool);
  const state = await inspectPublication(pool, settings);
  const plan = planMembership(state);
  return {
    publication: settings.publication,
    action: 'skipped',
    published: state.candidates
      .filter((c) => state.allTables || c.listed || state.schemaMembers.includes(c.schema))
      .map(label),
    added: [],
    dropped: [],
    excluded: plan.excluded,
    deferred: [],
    trigger: { state: 'disabled-by-config', detail: 'ADMIN_PUBLICATION_MANAGED=false' },
  };
}

/** Sends the snapshot signal for one table again (its primary key read afresh). */
export async function sendSnapshotSignal(
  db: Queryable,
  table: { schema: string; table: string },
): Promise<string> {
  const { rows } = await db.query<{ column: string }>(
    `select a.attname::text as column
       from pg_index x
       cross join unnest(x.indkey) with ordinality k(attnum, ord)
       join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
      where x.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass and x.indisprimary
      order by k.ord`,
    [table.schema, table.table],
  );
  const signal = snapshotSignal({
    relid: '0',
    schema: table.schema,
    table: table.table,
    cdc: false,
    blocker: null,
    primaryKey: rows.map((r) => r.column),
    unsafePartitions: [],
    partitioned: false,
    listed: true,
    columns: [],
    generatedColumns: [],
  });
  await db.query(`insert into ${CDC_SCHEMA}.signal (id, type, data) values ($1, $2, $3)`, [
    signal.id,
    signal.type,
    signal.data,
  ]);
  return signal.id;
}

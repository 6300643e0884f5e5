import { EMPTY_SEARCHSYNC_CONFIG, parseSearchsyncConfig } from '@searchsync/config';
import {
  columnsToExclude,
  deferUncovered,
  exclusionFix,
  heldTables,
  holdReason,
  managedNames,
  MANAGED_SQL_VERSION,
  planIsNoop,
  planMembership,
  planStatements,
  snapshotSignal,
  triggerFunctionSql,
  type CandidateTable,
  type PublicationState,
} from './publication-manager';
// Recorded from PostgreSQL 15 by inspectPublication() over a scratch schema holding each case:
// keyed, keyless, CREATE TABLE AS, REPLICA IDENTITY NOTHING, a dropped replica identity index,
// an unlogged table, partitioned tables with keyed and keyless partitions, and a partition listed
// by name (a stray) — as an explicit list (h4_pub), a schema publication and no publication.
import states from './fixtures/publication-states.json';

type RecordedState = Omit<PublicationState, 'candidates' | 'strays'> & {
  candidates: Omit<CandidateTable, 'generatedColumns' | 'partitioned' | 'columns'>[];
  strays: { relid: string; name: string }[];
};
// Recorded before inspectPublication() read generated columns, relkind and columns: none of
// those tables has a generated column; p (partition p1) and q (partition q1) are the
// partitioned ones; the key columns stand in for the columns (tests give more where needed).
const PARTITIONED = new Set(['p', 'q']);
const withoutGenerated = (state: RecordedState): PublicationState => ({
  ...state,
  candidates: state.candidates.map((c) => ({
    ...c,
    generatedColumns: [],
    partitioned: PARTITIONED.has(c.table),
    columns: c.primaryKey,
  })),
  strays: state.strays.map((s) => ({ ...s, partitioned: false })),
});
const raw = states as unknown as Record<
  'h4_pub' | 'h4_pub_schema' | 'h4_pub_missing',
  RecordedState
>;
const recorded = {
  h4_pub: withoutGenerated(raw.h4_pub),
  h4_pub_schema: withoutGenerated(raw.h4_pub_schema),
  h4_pub_missing: withoutGenerated(raw.h4_pub_missing),
};
const names = (tables: { schema: string; table: string }[]) =>
  tables.map((t) => `${t.schema}.${t.table}`);

describe('planMembership', () => {
  it('keeps out every table PostgreSQL would refuse UPDATE/DELETE on, with its reason', () => {
    const plan = planMembership(recorded.h4_pub);
    expect(plan.excluded.map((e) => [e.table, e.reason])).toEqual([
      ['h4scratch.b', 'no-replica-identity'],
      ['h4scratch.ctas', 'no-replica-identity'],
      ['h4scratch.n1', 'replica-identity-nothing'],
      ['h4scratch.pp2', 'no-replica-identity'],
      ['h4scratch.q', 'partitions-without-replica-identity'],
      ['h4scratch.ri', 'replica-identity-index-missing'],
      ['h4scratch.ul', 'unlogged'],
    ]);
    // k1 has REPLICA IDENTITY FULL and no key: the user opted in, writes are safe.
    expect(names(plan.desired)).toContain('h4scratch.k1');
    expect(names(plan.desired)).toEqual(
      expect.arrayContaining(['searchsync_cdc.signal', 'searchsync_cdc.heartbeat']),
    );
  });

  it('corrects an explicit list: adds what became safe (with a snapshot), drops partitions listed by name', () => {
    const plan = planMembership(recorded.h4_pub);
    expect(plan.action).toBe('alter');
    expect(names(plan.add)).toEqual(['h4scratch.w1']);
    expect(names(plan.snapshot)).toEqual(['h4scratch.w1']);
    expect(plan.drop).toEqual(['"h4scratch"."p1"']);
    expect(planStatements(plan, 'h4_pub')).toEqual([
      'alter publication "h4_pub" drop table only "h4scratch"."p1"',
      'alter publication "h4_pub" add table only "h4scratch"."w1"',
    ]);
  });

  it('migrates a FOR TABLES IN SCHEMA publication in one statement, without snapshots of tables it already published', () => {
    const plan = planMembership(recorded.h4_pub_schema);
    expect(plan.action).toBe('set');
    // Debezium's own tables were not in the schema publication: they enter, never snapshotted.
    expect(names(plan.add)).toEqual(['searchsync_cdc.heartbeat', 'searchsync_cdc.signal']);
    expect(plan.snapshot).toEqual([]);
    const statements = planStatements(plan, 'h4_pub_schema');
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^alter publication "h4_pub_schema" set table /);
    expect(statements[0]).toContain('only "h4scratch"."a"');
    expect(statements[0]).toContain('"searchsync_cdc"."signal"');
    expect(statements[0]).not.toContain('"h4scratch"."b"');
    expect(statements[1]).toBe(
      'alter publication "h4_pub_schema" set (publish_via_partition_root = true)',
    );
  });

  it('creates a missing publication with the list and no snapshot signals (the initial snapshot reads them)', () => {
    const plan = planMembership(recorded.h4_pub_missing);
    expect(plan.action).toBe('create');
    expect(plan.snapshot).toEqual([]);
    expect(planStatements(plan, 'p')[0]).toMatch(
      /^create publication "p" for table .*"h4scratch"\."t1".* with \(publish_via_partition_root = true\)$/,
    );
  });

  it('replaces an all-tables publication by drop and create in the same transaction', () => {
    const plan = planMembership({ ...recorded.h4_pub_missing, exists: true, allTables: true });
    expect(plan.action).toBe('recreate');
    expect(plan.add).toEqual([]);
    const statements = planStatements(plan, 'p');
    expect(statements[0]).toBe('drop publication "p"');
    expect(statements[1]).toMatch(/^create publication "p" for table /);
  });

  it('lists every table with ONLY (inheritance children never inherit the key), a partitioned table without it', () => {
    const created = planStatements(planMembership(recorded.h4_pub_missing), 'p')[0];
    expect(created).toContain('only "h4scratch"."a"');
    expect(created).toContain('only "searchsync_cdc"."signal"');
    // publish_via_partition_root publishes partitions through the partitioned parent.
    expect(created).toMatch(/, "h4scratch"\."p",/);
    expect(created).not.toContain('only "h4scratch"."p",');
    const q = recorded.h4_pub.candidates.find((c) => c.table === 'q')!;
    const leaving: PublicationState = {
      ...recorded.h4_pub,
      strays: [],
      candidates: recorded.h4_pub.candidates.map((c) =>
        c.table === 'q' || c.table === 'b' ? { ...c, listed: true } : c,
      ),
    };
    const plan = planMembership(leaving);
    expect(plan.dropPartitioned).toEqual([`"h4scratch"."${q.table}"`]);
    expect(planStatements(plan, 'h4_pub')).toEqual(
      expect.arrayContaining([
        'alter publication "h4_pub" drop table only "h4scratch"."b"',
        'alter publication "h4_pub" drop table "h4scratch"."q"',
      ]),
    );
  });

  it('does nothing when the list is right', () => {
    const state = recorded.h4_pub;
    const settled: PublicationState = {
      ...state,
      strays: [],
      candidates: state.candidates.map((c) => ({ ...c, listed: c.cdc || c.blocker === null })),
    };
    expect(planIsNoop(planMembership(settled))).toBe(true);
  });
});

describe('deferUncovered', () => {
  const withGenerated = (state: PublicationState, table: string, columns: string[]) => ({
    ...state,
    candidates: state.candidates.map((c) =>
      c.table === table ? { ...c, generatedColumns: columns } : c,
    ),
  });

  it('holds back a table entering with a snapshot until the connector excludes its generated columns', () => {
    const plan = planMembership(withGenerated(recorded.h4_pub, 'w1', ['total']));
    const held = deferUncovered(plan, new Set(['other\\.t\\.c']));
    expect(held.deferred).toEqual(['h4scratch.w1']);
    expect(names(held.add)).toEqual([]);
    expect(names(held.snapshot)).toEqual([]);
    expect(names(held.desired)).not.toContain('h4scratch.w1');
    // The stray partition is still dropped on this pass.
    expect(planStatements(held, 'h4_pub')).toEqual([
      'alter publication "h4_pub" drop table only "h4scratch"."p1"',
    ]);
    const covered = deferUncovered(plan, new Set(['h4scratch\\.w1\\.total']));
    expect(covered.deferred).toEqual([]);
    expect(names(covered.snapshot)).toEqual(['h4scratch.w1']);
  });

  it('never holds back tables without generated columns, or a publication being created', () => {
    expect(deferUncovered(planMembership(recorded.h4_pub), new Set()).deferred).toEqual([]);
    const created = planMembership(withGenerated(recorded.h4_pub_missing, 'w1', ['total']));
    expect(deferUncovered(created, new Set()).deferred).toEqual([]);
  });
});

describe('configured exclusions hold a table back', () => {
  const config = parseSearchsyncConfig([
    {
      file: '/etc/searchsync/searchsync.yaml',
      text: [
        'tables:',
        '  h4scratch.w1:',
        '    exclude: [email, id]',
        '  h4scratch.u2:',
        '    include: [name]',
        '  h4scratch.t1:',
        '    fields:',
        '      name: { type: keyword }',
        '  h4scratch.later:',
        '    exclude: [secret]',
      ].join('\n'),
    },
  ]);
  // w1 (key id) enters with a snapshot in the recorded state.
  const withColumns = (state: PublicationState, table: string, columns: string[]) => ({
    ...state,
    candidates: state.candidates.map((c) => (c.table === table ? { ...c, columns } : c)),
  });
  const state = withColumns(recorded.h4_pub, 'w1', ['id', 'email', 'name']);
  const w1 = state.candidates.find((c) => c.table === 'w1')!;
  const entry = (column: string) => `h4scratch\\.w1\\.${column}`;

  it('records every table whose section excludes a column, existing or not, with where', () => {
    expect(heldTables(config)).toEqual([
      {
        schema: 'h4scratch',
        table: 'later',
        reason: '/etc/searchsync/searchsync.yaml:9 excludes columns of it',
      },
      {
        schema: 'h4scratch',
        table: 'u2',
        reason: '/etc/searchsync/searchsync.yaml:4 excludes columns of it',
      },
      {
        schema: 'h4scratch',
        table: 'w1',
        reason: '/etc/searchsync/searchsync.yaml:2 excludes columns of it',
      },
    ]);
    expect(heldTables(EMPTY_SEARCHSYNC_CONFIG)).toEqual([]);
  });

  it('needs the configured columns excluded, never a key column, next to the generated ones', () => {
    expect(columnsToExclude(w1, config)).toEqual(['email']);
    expect(columnsToExclude({ ...w1, generatedColumns: ['total'] }, config)).toEqual([
      'total',
      'email',
    ]);
    const u2 = { ...w1, table: 'u2', columns: ['v', 'name', 'notes', 'ssn'], primaryKey: ['v'] };
    expect(columnsToExclude(u2, config)).toEqual(['notes', 'ssn']);
    expect(columnsToExclude(w1)).toEqual([]);
  });

  it('lets the table in only once the running connector excludes its columns', () => {
    const plan = planMembership(state);
    const waiting = deferUncovered(plan, new Set(), { tableConfig: config });
    expect(waiting.deferred).toEqual(['h4scratch.w1']);
    expect(names(waiting.add)).toEqual([]);
    expect(names(waiting.desired)).not.toContain('h4scratch.w1');
    expect(holdReason(w1, new Set(), { tableConfig: config })).toBe(
      'the connector does not exclude email yet',
    );
    const admitted = deferUncovered(plan, new Set([entry('email')]), {
      tableConfig: config,
      held: new Set(['h4scratch.w1']),
    });
    expect(admitted.deferred).toEqual([]);
    // It enters with a snapshot: the rows written while it was held back are read then.
    expect(names(admitted.snapshot)).toEqual(['h4scratch.w1']);
  });

  it('keeps a held table waiting for the admin when the caller has no configuration', () => {
    const plan = planMembership(state);
    const held = new Set(['h4scratch.w1']);
    expect(deferUncovered(plan, new Set([entry('email')]), { held }).deferred).toEqual([
      'h4scratch.w1',
    ]);
    expect(holdReason(w1, new Set(), { held })).toBe(
      'held for the connector admin, which applies searchsync.yaml',
    );
    // Neither configured nor held: nothing to wait for.
    expect(deferUncovered(plan, new Set()).deferred).toEqual([]);
  });

  it('keeps a table held by a newer configuration than the pass has', () => {
    const older = parseSearchsyncConfig([{ file: 'old.yaml', text: 'tables: {}' }]);
    const plan = planMembership(state);
    const waiting = deferUncovered(plan, new Set(), {
      tableConfig: older,
      held: new Set(['h4scratch.w1']),
    });
    expect(waiting.deferred).toEqual(['h4scratch.w1']);
  });

  it('never holds back a publication being created: the connector registered with it excludes them', () => {
    const created = planMembership(withColumns(recorded.h4_pub_missing, 'w1', ['id', 'email']));
    expect(
      deferUncovered(created, new Set(), { tableConfig: config, held: new Set(['h4scratch.w1']) })
        .deferred,
    ).toEqual([]);
  });
});

describe('exclusionFix', () => {
  const table = recorded.h4_pub.candidates.find((c) => c.table === 'b')!;

  it('names the fix, the opt-in and why the table is out', () => {
    const fix = exclusionFix(table);
    expect(fix).toContain('alter table "h4scratch"."b" add primary key (<columns>)');
    expect(fix).toContain('replica identity using index');
    expect(fix).toContain('alter table "h4scratch"."b" replica identity full');
    expect(fix).toContain('message.key.columns');
    expect(fix).toMatch(/UPDATE and DELETE keep working/);
    expect(fix).toMatch(/without a restart/);
  });

  it('lists the partitions that block a partitioned table', () => {
    const q = recorded.h4_pub.candidates.find((c) => c.table === 'q')!;
    expect(exclusionFix(q)).toContain('partitions h4scratch.q1');
  });

  it('says how to make an unlogged table replicable', () => {
    const ul = recorded.h4_pub.candidates.find((c) => c.table === 'ul')!;
    expect(exclusionFix(ul)).toContain('alter table "h4scratch"."ul" set logged');
  });
});

describe('snapshotSignal', () => {
  it('is an incremental execute-snapshot with a surrogate key for a one-column key', () => {
    const u2 = recorded.h4_pub.candidates.find((c) => c.table === 'u2')!;
    const signal = snapshotSignal(u2);
    expect(signal.id).toMatch(/^publication-add-[0-9a-f-]{36}$/);
    expect(signal.type).toBe('execute-snapshot');
    expect(JSON.parse(signal.data)).toEqual({
      'data-collections': ['h4scratch.u2'],
      type: 'incremental',
      'surrogate-key': 'v',
    });
  });

  it('has no surrogate key for a composite key', () => {
    const p = recorded.h4_pub.candidates.find((c) => c.table === 'p')!;
    expect(p.primaryKey).toEqual(['id', 'k']);
    expect(JSON.parse(snapshotSignal(p).data)).not.toHaveProperty('surrogate-key');
  });
});

describe('triggerFunctionSql', () => {
  it('bakes in the publication and schemas as literals, quoted', () => {
    const sql = triggerFunctionSql({
      publication: "pub'x",
      schemas: ['public', "o'dd"],
      ddlTrigger: true,
    });
    expect(sql).toContain("pub constant text := 'pub''x';");
    expect(sql).toContain("synced constant text[] := array['public', 'o''dd']::text[];");
    expect(sql).toContain(`searchsync_cdc.${managedNames("pub'x").triggerFunction}()`);
  });

  it('can never fail the DDL: every statement is guarded and the whole body too', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    const handlers = sql.split('exception when others then').slice(1);
    expect(handlers).toHaveLength(5);
    // Each handler only warns (and goes on): none re-raises.
    for (const handler of handlers)
      expect(handler.slice(0, handler.indexOf('end;'))).toContain('raise warning');
    expect(sql).not.toMatch(/raise exception/);
    // Far below any realistic statement_timeout and below deadlock_timeout (1 s): the trigger
    // never queues the DDL behind another migration holding the publication's lock.
    expect(sql).toContain("set lock_timeout = '100ms'");
    expect(sql).toContain('security definer');
  });

  it('drops a published table before ALTER TABLE … SET UNLOGGED, found in current_query()', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    const start = sql.slice(sql.indexOf("if tg_event = 'ddl_command_start'"));
    // The cheap test comes before any catalogue read.
    expect(start.indexOf("strpos(lower(q), 'unlogged') = 0")).toBeLessThan(
      start.indexOf('from pg_publication'),
    );
    expect(start).toContain(String.raw`'\malter\s+table\s+([^;]*?)\mset\s+unlogged\M', 'gi'`);
    expect(start).toContain('to_regclass(');
    expect(start).toContain("execute format('alter publication %I drop table only %s'");
  });

  it('sets REPLICA IDENTITY FULL (and records it) when a table losing its key cannot leave at once', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    const drop = sql.indexOf("'alter publication %I drop table %s%s'");
    const fallback = sql.indexOf("'alter table only %s replica identity full'");
    expect(drop).toBeGreaterThan(0);
    expect(fallback).toBeGreaterThan(drop);
    expect(sql.slice(drop, fallback)).toContain('insert into searchsync_cdc.identity_fallback');
  });

  it('re-checks published tables after a cascaded drop of an index, column or constraint', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    expect(sql).toContain("d.object_type in ('index', 'table column', 'table constraint')");
    expect(sql).toContain("tg_event = 'sql_drop' or pr.prrelid = any (touched)");
  });

  it('leaves temporary tables at once and adds with ONLY except partitioned tables', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    expect(sql).toContain("root.relpersistence <> 't'");
    expect(sql.indexOf('if cardinality(touched) = 0')).toBeLessThan(
      sql.indexOf(
        'select p.oid into pub_id from pg_publication p where p.pubname = pub and not p.puballtables;\n  -- Not',
      ),
    );
    expect(sql).toContain("'alter publication %I add table %s%I.%I'");
    expect(sql).toContain("case when r.relkind = 'p' then '' else 'only ' end");
  });

  it('never adds a table searchsync.yaml excludes columns of (held_table): the reconciler does', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    const loop = sql.slice(sql.indexOf('select root.oid as relid, root.relkind'));
    const held = loop.indexOf('from searchsync_cdc.held_table h');
    expect(held).toBeGreaterThan(0);
    expect(loop).toContain(
      'where h.publication = pub and h.schema_name = n.nspname and h.table_name = root.relname',
    );
    // In the selection of the tables to add: a held table is neither added nor signalled.
    expect(held).toBeLessThan(loop.indexOf('loop'));
    expect(sql).toContain(`searchsync v${MANAGED_SQL_VERSION} `);
    expect(MANAGED_SQL_VERSION).toBe(5);
  });

  it('leaves a table holding rows with unreplicated generated columns to the reconciler', () => {
    const sql = triggerFunctionSql({ publication: 'p', schemas: ['public'], ddlTrigger: true });
    const skip = sql.indexOf(
      "a.attgenerated = 'v' or (a.attgenerated = 's' and not stored_published)",
    );
    expect(skip).toBeGreaterThan(0);
    // Checked before the table is added, so it is neither added nor signalled.
    expect(skip).toBeLessThan(sql.indexOf("execute format('alter publication %I add table"));
  });
});

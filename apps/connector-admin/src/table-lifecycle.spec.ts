import type { ConnectorBackend } from '@searchsync/connect-client';
import type { AdminConfig } from './admin-config';
import type { Infrastructure } from './infrastructure.service';
import type { PipelineService } from './pipeline.service';
import { TableLifecycleService } from './table-lifecycle.service';
import {
  aliasesInUse,
  massMissingReason,
  missingTables,
  observeTables,
  overdue,
  ownTables,
  waitingFor,
  type DropWatch,
  type IndexedTableRef,
} from './table-lifecycle';

const ref = (schema: string, table: string): IndexedTableRef => ({
  schema,
  table,
  alias: `searchsync.${schema}.${table}`.toLowerCase(),
});

const indexed = [ref('public', 'kept'), ref('public', 'gone'), ref('other', 'elsewhere')];

describe('ownTables', () => {
  const mapping = (alias: string, meta: Record<string, unknown>) => ({ alias, meta });

  it("keeps an index whose alias is the prefix's alias of its own _meta table", () => {
    expect(
      ownTables('searchsync', [
        mapping('searchsync.public.orders', { schema: 'public', table: 'Orders' }),
      ]),
    ).toEqual([{ schema: 'public', table: 'Orders', alias: 'searchsync.public.orders' }]);
  });

  it("skips another deployment's indices matched by the prefix wildcard (a dotted prefix)", () => {
    // GET searchsync.* also lists searchsync.staging.*: its _meta names staging's own table.
    expect(
      ownTables('searchsync', [
        mapping('searchsync.staging.public.orders', { schema: 'public', table: 'orders' }),
        mapping('searchsync.staging.public', { schema: 'staging', table: 'public' }),
      ]),
    ).toEqual([{ schema: 'staging', table: 'public', alias: 'searchsync.staging.public' }]);
  });

  it('skips a mapping whose _meta is not a table (a view, or no schema/table)', () => {
    expect(
      ownTables('searchsync', [
        mapping('searchsync.public.film_search', {
          schema: 'public',
          table: 'film_search',
          kind: 'view',
        }),
        mapping('searchsync.public.v', { schema: 'public', table: 'v', view: { root: 'x' } }),
        mapping('searchsync.public.t', { schema: 'public' }),
        mapping('searchsync.public.u', { schema: 'public', table: 42 }),
      ]),
    ).toEqual([]);
  });

  it('lists an alias once when several indices carry it (a rebuild in progress)', () => {
    const meta = { schema: 'public', table: 't' };
    expect(
      ownTables('searchsync', [
        mapping('searchsync.public.t', meta),
        mapping('searchsync.public.t', meta),
      ]),
    ).toHaveLength(1);
  });
});

describe('missingTables', () => {
  it('only judges the synced schemas', () => {
    const gone = missingTables(indexed, new Set(['public.kept']), new Set(), ['public']);
    expect(gone.map((t) => t.table)).toEqual(['gone']);
  });

  it('never reports an alias that an existing table maps to ("Orders" vs orders)', () => {
    const orders = { schema: 'public', table: 'orders', alias: 'searchsync.public.orders' };
    const present = [{ schema: 'public', table: 'Orders' }];
    const inUse = aliasesInUse('searchsync', present);
    expect(missingTables([orders], new Set(['public.Orders']), inUse, ['public'])).toEqual([]);
  });

  it('never reports an alias a dotted name of another schema maps to', () => {
    // Table "b.c" of schema a and table c of schema "a.b" are both searchsync.a.b.c.
    const dotted = { schema: 'a', table: 'b.c', alias: 'searchsync.a.b.c' };
    const inUse = aliasesInUse('searchsync', [{ schema: 'a.b', table: 'c' }]);
    expect(missingTables([dotted], new Set(['a.b.c']), inUse, ['a'])).toEqual([]);
  });
});

describe('massMissingReason', () => {
  const many = Array.from({ length: 30 }, (_, i) => ref('public', `t${i}`));
  const perSchema = new Map([['public', 26]]);

  it('lets drops through, many at once too (a migration)', () => {
    expect(massMissingReason(many.slice(0, 1), many, perSchema, ['public'])).toBeNull();
    expect(massMissingReason(many.slice(0, 12), many, perSchema, ['public'])).toBeNull();
  });

  it('refuses when PostgreSQL has no table in the schema (empty database, restore, no rows)', () => {
    expect(massMissingReason(many.slice(0, 1), many, new Map(), ['public'])).toMatch(
      /no table at all in schema public/,
    );
  });

  it('refuses when every indexed table of a schema is missing', () => {
    const tables = [...many, ref('sales', 'a'), ref('sales', 'b')];
    const present = new Map([
      ['public', 30],
      ['sales', 4],
    ]);
    expect(massMissingReason(tables.slice(30), tables, present, ['public', 'sales'])).toMatch(
      /every indexed table of schema sales/,
    );
  });

  it('has nothing to say when nothing is missing', () => {
    expect(massMissingReason([], many, new Map(), ['public'])).toBeNull();
  });
});

describe('observeTables', () => {
  const gone = [ref('public', 'gone')];

  it('watches a missing table, and makes it a candidate only on the second look', () => {
    const first = observeTables(new Map(), gone, 1000, '0/10');
    expect(first.candidates).toEqual([]);
    expect([...first.watches.keys()]).toEqual(['searchsync.public.gone']);
    const second = observeTables(first.watches, gone, 11_000, '0/20');
    expect(second.candidates).toEqual([{ ...gone[0], since: 1000, lsn: '0/10' }]);
  });

  it('forgets the watch when the table is back (dropped and created again between two looks)', () => {
    const first = observeTables(new Map(), gone, 1, '0/1');
    const again = observeTables(first.watches, [], 2, null);
    expect(again.watches.size).toBe(0);
    expect(again.candidates).toEqual([]);
  });
});

describe('waitingFor', () => {
  const watch: DropWatch = { ...ref('public', 'gone'), since: 0, lsn: '0/10' };

  it('may remove once the slot is past the drop and the topic is consumed to its end', () => {
    expect(waitingFor(watch, { slotPastDrop: true, topicLag: 0 })).toEqual([]);
  });

  it('waits for the slot (behind, or not in this database) and for the topic', () => {
    expect(waitingFor(watch, { slotPastDrop: false, topicLag: 0 })).toEqual([
      'the replication slot to confirm WAL past 0/10',
    ]);
    expect(waitingFor(watch, { slotPastDrop: null, topicLag: 0 })).toHaveLength(1);
    expect(waitingFor(watch, { slotPastDrop: true, topicLag: 3 })).toEqual([
      "the indexer to consume 3 record(s) of the table's topic",
    ]);
  });

  it('counts a topic that cannot be found as not settled', () => {
    expect(waitingFor(watch, { slotPastDrop: true, topicLag: null })).toEqual([
      "the table's topic (not found)",
    ]);
  });

  it('never removes without a WAL position, and time alone never suffices', () => {
    const noLsn = { ...watch, lsn: null };
    expect(waitingFor(noLsn, { slotPastDrop: true, topicLag: 0 })).toHaveLength(1);
    // Long past the grace period: reported as overdue, still waiting.
    expect(overdue(watch, 10_000_000, 120_000)).toBe(true);
    expect(waitingFor(watch, { slotPastDrop: false, topicLag: null })).toHaveLength(2);
  });

  it('reports a watch as overdue only after the grace period', () => {
    expect(overdue(watch, 119_999, 120_000)).toBe(false);
    expect(overdue(watch, 120_000, 120_000)).toBe(true);
  });
});

/**
 * The service against recorded answers of PostgreSQL, the connector's config, the engine and
 * Kafka: what a pass refuses, and that it deletes only on evidence.
 */
describe('TableLifecycleService pass', () => {
  interface World {
    database: string;
    recovery: boolean;
    connector: Record<string, string> | Error;
    slots: { slot_name: string; database: string; confirmed: number }[];
    tables: { schema: string; table: string }[];
    mappings: { alias: string; meta: Record<string, unknown> }[];
    lag: Map<string, number | null>;
    wal: number;
  }
  const lsn = (n: number) => `0/${n.toString(16).toUpperCase()}`;
  const fromLsn = (s: string) => parseInt(s.split('/')[1], 16);

  const tables = (names: string[]) => names.map((table) => ({ schema: 'public', table }));
  const world = (): World => ({
    database: 'app',
    recovery: false,
    connector: { 'database.dbname': 'app', 'slot.name': 'searchsync_slot' },
    slots: [{ slot_name: 'searchsync_slot', database: 'app', confirmed: 40 }],
    tables: tables(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']),
    mappings: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'gone'].map((t) => ({
      alias: `searchsync.public.${t}`,
      meta: { schema: 'public', table: t },
    })),
    lag: new Map([['searchsync.public.gone', 0]]),
    wal: 50,
  });

  const service = (w: World) => {
    const deleted: string[] = [];
    const pool = {
      query: (sql: string, params: unknown[] = []) => {
        if (sql.includes('pg_is_in_recovery')) {
          return { rows: [{ database: w.database, recovery: w.recovery }] };
        }
        if (sql.includes('confirmed_flush_lsn')) {
          const slot = w.slots.find((s) => s.slot_name === params[1] && s.database === w.database);
          return { rows: slot ? [{ past: slot.confirmed >= fromLsn(params[0] as string) }] : [] };
        }
        if (sql.includes('pg_replication_slots')) {
          return { rows: w.slots.filter((s) => s.slot_name === params[0]) };
        }
        if (sql.includes('pg_current_wal_lsn')) return { rows: [{ lsn: lsn(w.wal) }] };
        if (sql.includes('pg_class')) return { rows: w.tables };
        throw new Error(`unexpected query ${sql}`);
      },
    };
    const engine = {
      listTableMappings: () => Promise.resolve(w.mappings),
      deleteTableIndices: (alias: string) => {
        deleted.push(alias);
        return Promise.resolve(1);
      },
    };
    const backend = {
      config: () =>
        w.connector instanceof Error ? Promise.reject(w.connector) : Promise.resolve(w.connector),
    };
    const pipeline = {
      kafkaLag: (topics: string[]) =>
        Promise.resolve(new Map(topics.map((t) => [t, w.lag.get(t) ?? null]))),
    };
    const config = {
      ADMIN_DROPPED_TABLE_CLEANUP: true,
      ADMIN_DROPPED_TABLE_GRACE_MS: 120_000,
      ADMIN_RECONCILE_INTERVAL_MS: 10_000,
      ADMIN_CONNECTOR_NAME: 'searchsync-postgres',
      SEARCHSYNC_SCHEMAS: ['public'],
      SEARCHSYNC_INDEX_PREFIX: 'searchsync',
      SEARCHSYNC_TOPIC_PREFIX: 'searchsync',
    };
    const lifecycle = new TableLifecycleService(
      config as unknown as AdminConfig,
      backend as unknown as ConnectorBackend,
      { pool, engine } as unknown as Infrastructure,
      pipeline as unknown as PipelineService,
    );
    return { lifecycle, deleted };
  };

  /** Two passes (a table must be missing twice), the Debezium slot advancing in between. */
  const twoPasses = async (w: World) => {
    const s = service(w);
    await s.lifecycle.sweep();
    w.slots = w.slots.map((slot) => ({ ...slot, confirmed: w.wal + 10 }));
    const second = await s.lifecycle.sweep();
    return { ...s, second };
  };

  it('removes a dropped table once the slot is past the drop and its topic is consumed', async () => {
    const { deleted, second } = await twoPasses(world());
    expect(deleted).toEqual(['searchsync.public.gone']);
    expect(second?.refused).toBeNull();
  });

  it('keeps the index while the slot has not confirmed WAL past the drop', async () => {
    const w = world();
    const s = service(w);
    await s.lifecycle.sweep();
    const second = await s.lifecycle.sweep();
    expect(s.deleted).toEqual([]);
    expect(second?.pending[0].waitingFor).toEqual([
      'the replication slot to confirm WAL past 0/32',
    ]);
  });

  it('keeps the index while the topic cannot be found', async () => {
    const w = world();
    w.lag = new Map();
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.pending[0].waitingFor).toEqual(["the table's topic (not found)"]);
  });

  it('refuses when DATABASE_URL is not the database the connector streams', async () => {
    const w = world();
    w.database = 'postgres';
    w.tables = [];
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/names database postgres, but connector .* streams app/);
  });

  it("refuses when the slot belongs to another database (the connector's dbname unreadable)", async () => {
    const w = world();
    w.connector = {
      'database.dbname': '${file:/secrets/pg:dbname}',
      'slot.name': 'searchsync_slot',
    };
    w.slots = [{ slot_name: 'searchsync_slot', database: 'other', confirmed: 1000 }];
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/slot searchsync_slot belongs to database other, not app/);
  });

  it('refuses when the slot is not on this server', async () => {
    const w = world();
    w.slots = [];
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/slot searchsync_slot is not on this server/);
  });

  it("refuses when the connector's config cannot be read", async () => {
    const w = world();
    w.connector = new Error('connect refused');
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/unreadable \(connect refused\)/);
  });

  it('refuses on a standby', async () => {
    const w = world();
    w.recovery = true;
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/standby/);
  });

  it('refuses, and reports the tables, when the catalogue returns no rows', async () => {
    const w = world();
    w.tables = [];
    const { lifecycle, deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.refused).toMatch(/no table at all in schema public/);
    expect(second?.refusedTables).toHaveLength(11);
    expect(lifecycle.status().lastPass?.refused).toBe(second?.refused);
  });

  it('never deletes an alias a present table uses ("Orders" while orders is indexed)', async () => {
    const w = world();
    w.tables = [...w.tables, { schema: 'public', table: 'Gone' }];
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.pending).toEqual([]);
  });

  it("never deletes another deployment's index under a dotted prefix", async () => {
    const w = world();
    w.mappings = [
      ...w.mappings.filter((m) => m.alias !== 'searchsync.public.gone'),
      { alias: 'searchsync.staging.public.gone', meta: { schema: 'public', table: 'gone' } },
    ];
    w.lag = new Map([['searchsync.public.gone', 0]]);
    const { deleted, second } = await twoPasses(w);
    expect(deleted).toEqual([]);
    expect(second?.pending).toEqual([]);
  });
});

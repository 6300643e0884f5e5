import type { Client } from 'pg';
import { admin, search } from './support/admin';
import { apiGet, database, eventually, uniqueTable } from './support/stack';

interface SearchBody {
  total: number;
  hits: { id: string; source: Record<string, unknown> }[];
}

interface PublicationBody {
  report: {
    publication: string;
    published: string[];
    excluded: { table: string; reason: string; fix: string }[];
    trigger: { state: string; detail: string | null };
  } | null;
}

interface IndexBody {
  mappings?: { _meta?: { searchsync?: { table?: string } } };
}

interface PipelineBody {
  tablesWithoutPrimaryKey: { table: string; fix: string }[];
}

const PUBLICATION = process.env.SEARCHSYNC_PUBLICATION ?? 'searchsync_pub';

/**
 * Publication membership and the table lifecycle, against the real stack: searchsync never
 * breaks the application's writes on a table without a key, brings such a table in (with its
 * rows) once it has one, and forgets a table that is dropped.
 */
describe('table lifecycle: keyless tables, keys added later, dropped tables', () => {
  let db: Client;

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    await db.end();
  });

  const published = async (table: string): Promise<boolean> =>
    (
      await db.query(
        'select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3',
        [PUBLICATION, 'public', table],
      )
    ).rowCount === 1;

  const searchAll = (table: string) => apiGet<SearchBody>(`/v1/tables/${table}/search?size=100`);

  it('the publication is an explicit list kept by the admin, with its DDL trigger', async () => {
    const pub = await db.query<{ puballtables: boolean; pubviaroot: boolean; schemas: string }>(
      `select p.puballtables, p.pubviaroot,
              (select count(*) from pg_publication_namespace s where s.pnpubid = p.oid)::text as schemas
         from pg_publication p where p.pubname = $1`,
      [PUBLICATION],
    );
    expect(pub.rows[0]).toEqual({ puballtables: false, pubviaroot: true, schemas: '0' });
    const status = await eventually(
      () => admin<PublicationBody>('GET', '/v1/publication'),
      (r) => r.body.report !== null,
      { what: 'a first reconciliation pass' },
    );
    expect(status.body.report?.trigger.state).toBe('installed');
    expect(status.body.report?.published).toEqual(
      expect.arrayContaining(['searchsync_cdc.signal', 'searchsync_cdc.heartbeat']),
    );
  });

  it('a keyless table: the application writes, it is reported with the fix, and a key added later brings it in with its rows', async () => {
    const table = uniqueTable('keyless');
    await db.query(`create table ${table} (code text not null, name text, n int)`);
    // The application's own writes, while searchsync runs: none may be refused.
    await db.query(
      `insert into ${table} select 'c' || g, 'name ' || g, g from generate_series(1, 20) g`,
    );
    await expect(
      db.query(`update ${table} set name = 'renamed' where n <= 5`),
    ).resolves.toMatchObject({
      rowCount: 5,
    });
    await expect(db.query(`delete from ${table} where n > 15`)).resolves.toMatchObject({
      rowCount: 5,
    });
    expect(await published(table)).toBe(false);

    const pipeline = await eventually(
      () => admin<PipelineBody>('GET', '/v1/pipeline'),
      (r) => r.body.tablesWithoutPrimaryKey?.some((t) => t.table === `public.${table}`),
      { what: `${table} listed without a primary key in /v1/pipeline` },
    );
    const listed = pipeline.body.tablesWithoutPrimaryKey.find((t) => t.table === `public.${table}`);
    expect(listed?.fix).toMatch(/primary key/);

    const publication = await eventually(
      () => admin<PublicationBody>('GET', '/v1/publication'),
      (r) => Boolean(r.body.report?.excluded.some((e) => e.table === `public.${table}`)),
      { what: `${table} reported as kept out of the publication` },
    );
    const excluded = publication.body.report?.excluded.find((e) => e.table === `public.${table}`);
    expect(excluded?.reason).toBe('no-replica-identity');
    expect(excluded?.fix).toMatch(/add primary key/);
    expect(excluded?.fix).toMatch(/replica identity full/);
    expect(excluded?.fix).toMatch(/UPDATE and DELETE keep working/);

    // The fix, as a user applies it: no restart of anything.
    await db.query(`alter table ${table} add primary key (code)`);
    expect(await published(table)).toBe(true);
    const indexed = await eventually(
      () => searchAll(table),
      (r) => r.status === 200 && r.body.total === 15,
      { what: `the 15 rows ${table} held before its key was added`, timeoutMs: 90_000 },
    );
    const c3 = indexed.body.hits.find((h) => h.id === 'c3');
    expect(c3?.source).toEqual({ code: 'c3', name: 'renamed', n: 3 });

    // And it streams from then on.
    await db.query(`update ${table} set name = 'streamed' where code = 'c7'`);
    await db.query(`delete from ${table} where code = 'c8'`);
    const streamed = await eventually(
      () => searchAll(table),
      (r) =>
        r.body.total === 14 &&
        r.body.hits.some((h) => h.id === 'c7' && h.source.name === 'streamed'),
      { what: `${table} changes after the key streamed` },
    );
    expect(streamed.body.hits.map((h) => h.id)).not.toContain('c8');
  });

  it('a table created with its key and filled in the same transaction is published from its first row', async () => {
    const table = uniqueTable('sametx');
    await db.query('begin');
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} select g, 'row ' || g from generate_series(1, 10) g`);
    await db.query('commit');
    expect(await published(table)).toBe(true);
    await eventually(
      () => searchAll(table),
      (r) => r.status === 200 && r.body.total === 10,
      { what: `the 10 rows of ${table}` },
    );
  });

  it('a published table that loses its key leaves the publication, and its writes still succeed', async () => {
    const table = uniqueTable('losekey');
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (1, 'one'), (2, 'two')`);
    expect(await published(table)).toBe(true);
    await db.query(`alter table ${table} drop constraint ${table}_pkey`);
    expect(await published(table)).toBe(false);
    await expect(db.query(`update ${table} set label = 'uno' where id = 1`)).resolves.toMatchObject(
      {
        rowCount: 1,
      },
    );
    await expect(db.query(`delete from ${table} where id = 2`)).resolves.toMatchObject({
      rowCount: 1,
    });
    await db.query(`drop table ${table}`);
  });

  it('a keyless table opted in with REPLICA IDENTITY FULL is published, and its writes succeed', async () => {
    const table = uniqueTable('optin');
    await db.query(`create table ${table} (label text)`);
    expect(await published(table)).toBe(false);
    await db.query(`alter table ${table} replica identity full`);
    expect(await published(table)).toBe(true);
    await db.query(`insert into ${table} values ('a')`);
    await expect(db.query(`update ${table} set label = 'b'`)).resolves.toMatchObject({
      rowCount: 1,
    });
    await expect(db.query(`delete from ${table}`)).resolves.toMatchObject({ rowCount: 1 });
    await db.query(`drop table ${table}`);
  });

  it('DROP TABLE: its documents leave search and the table leaves GET /v1/tables within 60 s', async () => {
    const table = uniqueTable('dropped');
    const alias = `searchsync.public.${table}`;
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} select g, 'doomed ' || g from generate_series(1, 25) g`);
    await eventually(
      () => searchAll(table),
      (r) => r.status === 200 && r.body.total === 25,
      { what: `the 25 rows of ${table}` },
    );
    const listedBefore = await apiGet<{ table: string }[]>('/v1/tables');
    expect(listedBefore.body.map((t) => t.table)).toContain(table);

    await db.query(`drop table ${table}`);
    const droppedAt = Date.now();
    await eventually(
      () => apiGet<{ table: string }[]>('/v1/tables'),
      (r) => r.status === 200 && !r.body.map((t) => t.table).includes(table),
      { what: `${table} gone from GET /v1/tables`, timeoutMs: 60_000 },
    );
    // Straight to the engine: no document of the table is left anywhere under its alias.
    const count = (await search('GET', `/${alias}*/_count`)) as { count?: number };
    expect(count.count ?? 0).toBe(0);
    expect((await searchAll(table)).status).toBe(404);
    expect(Date.now() - droppedAt).toBeLessThan(60_000);
  });

  it('a dropped table never takes the index of a table that still exists under the same (lower-cased) alias', async () => {
    const shared = uniqueTable('sharedalias');
    const quoted = shared.replace('e2e_', 'E2E_');
    const control = uniqueTable('dropcontrol');
    const alias = `searchsync.public.${shared}`;
    try {
      // Both map to one alias; the lower-case table's rows must outlive the other's drop. The
      // quoted table comes first, so the index's _meta names it: the one that goes missing.
      await db.query(`create table "${quoted}" (id int primary key, label text)`);
      await db.query(`insert into "${quoted}" values (100, 'dropped')`);
      await eventually(
        async () => (await search('GET', `/${alias}`)) as Record<string, IndexBody>,
        (r) => Object.values(r).some((i) => i.mappings?._meta?.searchsync?.table === quoted),
        { what: `the index of "${quoted}" created under ${alias}` },
      );
      await db.query(`create table ${shared} (id int primary key, label text)`);
      await db.query(`insert into ${shared} select g, 'kept ' || g from generate_series(1, 5) g`);
      await db.query(`create table ${control} (id int primary key, label text)`);
      await db.query(`insert into ${control} values (1, 'control')`);
      await eventually(
        async () => ({
          shared: ((await search('GET', `/${alias}/_count`)) as { count?: number }).count,
          control: (await searchAll(control)).body.total,
        }),
        (c) => c.shared === 6 && c.control === 1,
        { what: `the rows of ${shared}, "${quoted}" and ${control} indexed` },
      );
      await db.query(`drop table "${quoted}", ${control}`);
      // The control proves the evidence arrived: the pass that may remove it may remove the other.
      await eventually(
        () => apiGet<{ table: string }[]>('/v1/tables'),
        (r) => r.status === 200 && !r.body.map((t) => t.table).includes(control),
        { what: `${control} gone from GET /v1/tables`, timeoutMs: 60_000 },
      );
      await admin('POST', '/v1/publication/reconcile');
      await admin('POST', '/v1/publication/reconcile');
      const count = (await search('GET', `/${alias}/_count`)) as { count?: number };
      // The engine itself: the API resolves a shared alias by its _meta table, the dropped one.
      expect(count.count).toBeGreaterThanOrEqual(5);
    } finally {
      await db.query(`drop table if exists ${shared}, "${quoted}", ${control}`);
    }
  });

  it('a migration dropping several tables at once: every one leaves search', async () => {
    const tables = [1, 2, 3, 4, 5].map((n) => uniqueTable(`massdrop${n}`));
    try {
      for (const table of tables) {
        await db.query(`create table ${table} (id int primary key, label text)`);
        await db.query(`insert into ${table} values (1, 'gone')`);
      }
      for (const table of tables) {
        await eventually(
          () => searchAll(table),
          (r) => r.status === 200 && r.body.total === 1,
          { what: `${table} indexed` },
        );
      }
      await db.query(`drop table ${tables.join(', ')}`);
      for (const table of tables) {
        await eventually(
          () => searchAll(table),
          (r) => r.status === 404,
          { what: `${table} gone from search`, timeoutMs: 60_000 },
        );
      }
    } finally {
      await db.query(`drop table if exists ${tables.join(', ')}`);
    }
  });

  it('a table created again after its index was removed is synced again, under its own index', async () => {
    const table = uniqueTable('reborn');
    const alias = `searchsync.public.${table}`;
    try {
      await db.query(`create table ${table} (id int primary key, label text)`);
      await db.query(`insert into ${table} values (1, 'first life')`);
      await eventually(
        () => searchAll(table),
        (r) => r.status === 200 && r.body.total === 1,
        { what: `${table} indexed` },
      );
      await db.query(`drop table ${table}`);
      await eventually(
        () => apiGet<{ table: string }[]>('/v1/tables'),
        (r) => r.status === 200 && !r.body.map((t) => t.table).includes(table),
        { what: `${table} gone from GET /v1/tables` },
      );
      await db.query(`create table ${table} (id int primary key, label text)`);
      await db.query(`insert into ${table} values (2, 'second life')`);
      const reborn = await eventually(
        () => searchAll(table),
        (r) => r.status === 200 && r.body.total === 1,
        { what: `the new ${table}'s row searchable` },
      );
      expect(reborn.body.hits.map((h) => h.id)).toEqual(['2']);
    } finally {
      await db.query(`drop table if exists ${table}`);
      // Should the documents have landed in an index the engine created by itself under the
      // alias's name, leave no such stray behind.
      await search('DELETE', `/${alias}`).catch(() => undefined);
    }
  });

  it('a table dropped and created again under the same name keeps being synced', async () => {
    const table = uniqueTable('recreated');
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (1, 'first life')`);
    await eventually(
      () => searchAll(table),
      (r) => r.status === 200 && r.body.total === 1,
      { what: `${table} indexed` },
    );
    await db.query('begin');
    await db.query(`drop table ${table}`);
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (2, 'second life')`);
    await db.query('commit');
    expect(await published(table)).toBe(true);
    // Two reconciler passes see it present: its index is kept.
    await admin('POST', '/v1/publication/reconcile');
    await admin('POST', '/v1/publication/reconcile');
    const kept = await eventually(
      () => searchAll(table),
      (r) => r.status === 200 && r.body.hits.some((h) => h.id === '2'),
      { what: `the recreated ${table}'s row` },
    );
    expect(kept.status).toBe(200);
  });
});

/**
 * DDL the application runs while searchsync holds (or another migration holds) the publication:
 * each case reproduces a way our event triggers or reconciler could break the application's
 * DDL or its next UPDATE, and checks that they do not.
 */
describe('table lifecycle: DDL never fails and never leaves a keyless table published', () => {
  let db: Client;
  const others: Client[] = [];

  beforeAll(async () => {
    db = await database();
  });

  afterAll(async () => {
    for (const client of others) await client.end().catch(() => undefined);
    await db.end();
  });

  const session = async (): Promise<Client> => {
    const client = await database();
    others.push(client);
    return client;
  };

  const published = async (table: string): Promise<boolean> =>
    (
      await db.query(
        'select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3',
        [PUBLICATION, 'public', table],
      )
    ).rowCount === 1;

  /**
   * Holds the publication's lock the way a concurrent migration does (ALTER PUBLICATION keeps it
   * until commit), through a table of our own. Returns the release.
   */
  const holdPublicationLock = async (): Promise<() => Promise<void>> => {
    const table = uniqueTable('publock');
    await db.query(`create table ${table} (id int primary key)`);
    expect(await published(table)).toBe(true);
    const holder = await session();
    await holder.query('begin');
    await holder.query(`alter publication ${PUBLICATION} drop table only ${table}`);
    return async () => {
      await holder.query('rollback');
      await db.query(`drop table ${table}`);
    };
  };

  const replicaIdentity = async (table: string): Promise<string> =>
    (
      await db.query<{ r: string }>(
        "select relreplident::text as r from pg_class where oid = ('public.' || $1)::regclass",
        [table],
      )
    ).rows[0].r;

  it('ALTER TABLE … SET UNLOGGED on a published table succeeds: the table leaves first, and SET LOGGED brings it back', async () => {
    const table = uniqueTable('unlogged');
    await db.query(`create table ${table} (id int primary key, label text)`);
    expect(await published(table)).toBe(true);
    await expect(
      db.query(`ALTER TABLE IF EXISTS public."${table}" SET UNLOGGED`),
    ).resolves.toBeTruthy();
    expect(await published(table)).toBe(false);
    await db.query(`alter table ${table} set logged`);
    expect(await published(table)).toBe(true);
    await db.query(`drop table ${table}`);
  });

  it('an inheritance child is never published with its parent (it has no key): its UPDATE succeeds', async () => {
    const parent = uniqueTable('inhparent');
    const child = `${parent}_child`;
    try {
      await db.query(`create table ${parent} (id int primary key, label text)`);
      await db.query(`create table ${child} (extra int) inherits (${parent})`);
      await db.query(`insert into ${child} values (1, 'one', 1)`);
      expect(await published(parent)).toBe(true);
      expect(await published(child)).toBe(false);
      await expect(db.query(`update ${child} set label = 'uno'`)).resolves.toMatchObject({
        rowCount: 1,
      });
      // The reconciler agrees: a pass leaves the child out.
      await admin('POST', '/v1/publication/reconcile');
      expect(await published(child)).toBe(false);
      await expect(db.query(`delete from ${child}`)).resolves.toMatchObject({ rowCount: 1 });
    } finally {
      await db.query(`drop table if exists ${child}, ${parent}`);
    }
  });

  it('a key dropped while another transaction holds the publication: the DDL succeeds, the next UPDATE too, and the reconciler takes the table out', async () => {
    const table = uniqueTable('lockedrop');
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (1, 'one'), (2, 'two')`);
    expect(await published(table)).toBe(true);
    const release = await holdPublicationLock();
    try {
      await db.query("set statement_timeout = '1s'");
      await expect(
        db.query(`alter table ${table} drop constraint ${table}_pkey`),
      ).resolves.toBeTruthy();
      await expect(
        db.query(`update ${table} set label = 'uno' where id = 1`),
      ).resolves.toMatchObject({
        rowCount: 1,
      });
    } finally {
      await db.query('reset statement_timeout');
      await release();
    }
    // It stayed published with REPLICA IDENTITY FULL meanwhile; the reconciler restores it.
    await eventually(
      async () => ({ published: await published(table), identity: await replicaIdentity(table) }),
      (s) => !s.published && s.identity === 'd',
      { what: `${table} out of the publication with its replica identity restored` },
    );
    await expect(db.query(`delete from ${table} where id = 2`)).resolves.toMatchObject({
      rowCount: 1,
    });
    await db.query(`drop table ${table}`);
  });

  it('a table created under statement_timeout while the publication is held: created at once, and its rows reach search once the reconciler adds it', async () => {
    const table = uniqueTable('lockedadd');
    const release = await holdPublicationLock();
    try {
      await db.query("set statement_timeout = '1s'");
      await expect(
        db.query(`create table ${table} (id int primary key, label text)`),
      ).resolves.toBeTruthy();
      await db.query(`insert into ${table} select g, 'early ' || g from generate_series(1, 12) g`);
      expect(await published(table)).toBe(false);
    } finally {
      await db.query('reset statement_timeout');
      await release();
    }
    await eventually(() => published(table), Boolean, {
      what: `${table} added by the reconciler`,
    });
    // The rows written before it was published come with the reconciler's snapshot.
    await eventually(
      () => apiGet<SearchBody>(`/v1/tables/${table}/search?size=100`),
      (r) => r.status === 200 && r.body.total === 12,
      { what: `the 12 rows ${table} held before it was published`, timeoutMs: 120_000 },
    );
    await db.query(`drop table ${table}`);
  });

  it('a key dropped while the reconciler is adding the table: the pass drops it again', async () => {
    const table = uniqueTable('race');
    // Created while the publication is held, so the trigger leaves it to the reconciler.
    const release = await holdPublicationLock();
    await db.query(`create table ${table} (id int primary key, label text)`);
    const migration = await session();
    await migration.query('begin');
    await migration.query(`alter table ${table} drop constraint ${table}_pkey`);
    await release();
    // Every pass now sees the key (the drop is not committed) and waits for the table's lock.
    const pass = admin('POST', '/v1/publication/reconcile');
    await eventually(
      async () =>
        (
          await db.query(
            `select 1 from pg_locks where relation = ('public.' || $1)::regclass and not granted`,
            [table],
          )
        ).rowCount ?? 0,
      (waiting) => waiting > 0,
      { what: `a reconciler pass waiting for ${table}`, timeoutMs: 30_000 },
    );
    await migration.query('commit');
    await pass;
    await admin('POST', '/v1/publication/reconcile');
    expect(await published(table)).toBe(false);
    await expect(db.query(`insert into ${table} values (1, 'one')`)).resolves.toBeTruthy();
    await expect(db.query(`update ${table} set label = 'uno'`)).resolves.toMatchObject({
      rowCount: 1,
    });
    await db.query(`drop table ${table}`);
  });

  it('DROP DOMAIN … CASCADE that takes the key column: the table leaves the publication and its UPDATE succeeds', async () => {
    const table = uniqueTable('cascade');
    const domain = `${table}_id`;
    try {
      await db.query(`create domain ${domain} as int`);
      await db.query(`create table ${table} (id ${domain} primary key, code int, label text)`);
      await db.query(`insert into ${table} values (1, 1, 'one')`);
      expect(await published(table)).toBe(true);
      await db.query(`drop domain ${domain} cascade`);
      expect(await published(table)).toBe(false);
      await expect(db.query(`update ${table} set label = 'uno'`)).resolves.toMatchObject({
        rowCount: 1,
      });
    } finally {
      await db.query(`drop table if exists ${table}`);
      await db.query(`drop domain if exists ${domain} cascade`);
    }
  });
});

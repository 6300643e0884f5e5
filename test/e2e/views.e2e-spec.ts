import { isDeepStrictEqual } from 'node:util';
import { parseSearchsyncConfig } from '@searchsync/config';
import { VIEW_REFS_FIELD } from '@searchsync/document-views';
import { TIEBREAK_FIELD, viewIndexNames, type JsonObject } from '@searchsync/search-engine';
import { sleep } from '@searchsync/retry';
import { Kafka, logLevel } from 'kafkajs';
import type { Client } from 'pg';
import {
  ACCEPTANCE_TABLES,
  acceptanceChanges,
  acceptanceConfig,
  acceptanceNames,
  acceptanceYaml,
  dropTablesSql,
  expectedDocuments,
  orderView,
  schemaSql,
  type AcceptanceTables,
  type ExpectedDocument,
} from '../medium/views-support/acceptance-schema';
import { admin, holdPart, releasePart, search } from './support/admin';
import { stackApi } from './support/api-client';
import { apiGet, database, eventually, uniqueTable } from './support/stack';
import { removeTableConfig, writeTableConfig } from './support/table-config';

const indexPrefix = process.env.SEARCHSYNC_INDEX_PREFIX ?? 'searchsync';
const topicPrefix = process.env.SEARCHSYNC_TOPIC_PREFIX ?? 'searchsync';
const metricsUrl = `http://127.0.0.1:${process.env.INDEXER_METRICS_PORT ?? 3002}/metrics`;
const kafka = new Kafka({
  clientId: 'e2e-views',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});

interface Hit {
  _id: string;
  _source: JsonObject;
}
interface SearchAnswer {
  _scroll_id?: string;
  hits?: { hits: Hit[] };
  error?: unknown;
}

/** Every document of a view index, `_id` → `_source` (without the engine's tie-break copy). */
async function viewDocuments(alias: string): Promise<Record<string, JsonObject>> {
  const refreshed = (await search('POST', `/${alias}/_refresh`)) as SearchAnswer;
  if (refreshed.error) throw new Error(`${alias}: ${JSON.stringify(refreshed.error)}`);
  // A scroll, not size=10000: the fan-out view holds more than the engines' result window.
  let page = (await search('POST', `/${alias}/_search?scroll=1m`, {
    size: 5000,
    sort: ['_doc'],
  })) as SearchAnswer;
  const documents: Record<string, JsonObject> = {};
  const scrollIds = new Set<string>();
  try {
    for (;;) {
      if (page.error || !page.hits) throw new Error(`${alias}: ${JSON.stringify(page.error)}`);
      if (page._scroll_id) scrollIds.add(page._scroll_id);
      if (page.hits.hits.length === 0) break;
      for (const hit of page.hits.hits) {
        const source = { ...hit._source };
        delete source[TIEBREAK_FIELD];
        documents[hit._id] = source;
      }
      page = (await search('POST', '/_search/scroll', {
        scroll: '1m',
        scroll_id: page._scroll_id,
      })) as SearchAnswer;
    }
  } finally {
    if (scrollIds.size > 0)
      await search('DELETE', '/_search/scroll', { scroll_id: [...scrollIds] });
  }
  return documents;
}

/** expectedDocuments as the view index should hold them: the document with its refs field. */
function asIndexed(expected: Map<string, ExpectedDocument>): Record<string, JsonObject> {
  return Object.fromEntries(
    [...expected].map(([id, { document, refs }]) => [id, { ...document, [VIEW_REFS_FIELD]: refs }]),
  );
}

/** What differs between two sets of documents, small enough to read in a failure. */
function difference(actual: Record<string, JsonObject>, expected: Record<string, JsonObject>) {
  const missing = Object.keys(expected).filter((id) => !Object.hasOwn(actual, id));
  const extra = Object.keys(actual).filter((id) => !Object.hasOwn(expected, id));
  const differing = Object.keys(expected).filter(
    (id) => Object.hasOwn(actual, id) && !isDeepStrictEqual(actual[id], expected[id]),
  );
  return {
    missing: missing.slice(0, 20),
    extra: extra.slice(0, 20),
    differing: differing.length,
    first: differing.slice(0, 3).map((id) => ({ id, actual: actual[id], expected: expected[id] })),
  };
}

const NO_DIFFERENCE = { missing: [], extra: [], differing: 0, first: [] };

/**
 * Waits until the view index holds exactly `expected` — every root, nothing else, each document
 * and its refs equal — and fails with what still differs.
 */
async function expectViewToHold(
  alias: string,
  expected: Map<string, ExpectedDocument>,
  { what, timeoutMs }: { what: string; timeoutMs: number },
): Promise<void> {
  const wanted = asIndexed(expected);
  const seen: { latest?: Record<string, JsonObject> } = {};
  try {
    await eventually(
      async () => {
        seen.latest = await viewDocuments(alias);
        return isDeepStrictEqual(seen.latest, wanted);
      },
      (equal) => equal,
      { what, timeoutMs },
    );
  } catch (error) {
    if (!seen.latest) throw error;
    expect({ what, ...difference(seen.latest, wanted) }).toEqual({ what, ...NO_DIFFERENCE });
  }
}

/** The sum of a metric's samples whose labels include `labels`; null when there is none. */
function metricSum(text: string, name: string, labels: Record<string, string>): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const given = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => given[k] === v))
      sum = (sum ?? 0) + Number(sample[3]);
  }
  return sum;
}

const indexerMetrics = async () => (await fetch(metricsUrl)).text();

/** The view counters the indexer exposes, for one view. */
async function viewCounters(view: string) {
  const text = await indexerMetrics();
  const counter = (name: string) => metricSum(text, name, { view }) ?? 0;
  return {
    roots: counter('searchsync_indexer_view_refresh_roots_total'),
    written: counter('searchsync_indexer_view_documents_written_total'),
    bulks: counter('searchsync_indexer_view_bulk_writes_total'),
  };
}

/** A nested query on one embedded row of `lines`: its product's name and its own qty. */
const oneLine = (name: string, qty: number) => ({
  query: {
    nested: {
      path: 'lines',
      query: {
        bool: { must: [{ match: { 'lines.product.name': name } }, { term: { 'lines.qty': qty } }] },
      },
    },
  },
});

/** The same two conditions on the document as a whole, as flattened object fields read them. */
const anyLines = (name: string, qty: number) => ({
  query: {
    bool: { must: [{ match: { 'lines.product.name': name } }, { term: { 'lines.qty': qty } }] },
  },
});

async function hitIds(index: string, body: unknown): Promise<string[]> {
  const answer = (await search('POST', `/${index}/_search`, { size: 100, ...(body as object) })) as
    SearchAnswer | undefined;
  if (!answer?.hits) throw new Error(`${index}: ${JSON.stringify(answer?.error)}`);
  return answer.hits.hits.map((hit) => hit._id).sort();
}

/** Documents of a view whose `lines.product.tags.label` matches `label`, counted by the engine. */
async function countWithTag(alias: string, label: string): Promise<number> {
  const answer = (await search('POST', `/${alias}/_count`, {
    query: {
      nested: {
        path: 'lines',
        query: {
          nested: {
            path: 'lines.product.tags',
            query: { match: { 'lines.product.tags.label': label } },
          },
        },
      },
    },
  })) as { count?: number; error?: unknown };
  if (answer.count === undefined) throw new Error(`${alias}: ${JSON.stringify(answer.error)}`);
  return answer.count;
}

/** Drops `location` (where a view was read from) to compare a parsed view with orderView. */
const withoutLocations = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'location' ? undefined : v)));

/**
 * Document views on the running stack (issue #11): the acceptance schema of the medium tier
 * (test/medium/views-support), its tables in schema public under a prefix of this run (Debezium
 * captures only public), and a view over them in `.stack/config.d`. The indexer builds the view
 * from PostgreSQL, then keeps it current from the tables' change events: after every change of
 * every table, the view index must hold exactly the documents plain per-table SELECTs joined in
 * the test give — every root, each document and its refs. Then a 10,000-root fan-out, the
 * nested semantics of embedded arrays, and a replay of the whole history.
 */
describe('document views (real stack)', () => {
  const base = uniqueTable('views');
  const main: AcceptanceTables = { schema: 'public', prefix: `${base}_` };
  // Tables and a view of their own for the fan-out: 10,000 documents compared after each of the
  // changes of the main view would make every step slow.
  const fan: AcceptanceTables = { schema: 'public', prefix: `${base}_fan_` };
  const mainView = `${base}_order_search`;
  const fanView = `${base}_fan_order_search`;
  const mainAlias = viewIndexNames(indexPrefix, mainView).alias;
  const fanAlias = viewIndexNames(indexPrefix, fanView).alias;
  const configFiles = [base, `${base}_fan`];
  const groupId = process.env.INDEXER_GROUP_ID ?? 'searchsync-indexer';
  const topicsOf = (where: AcceptanceTables) =>
    ACCEPTANCE_TABLES.map(
      (table) => `${topicPrefix}.${where.schema}.${acceptanceNames(where).name(table)}`,
    );
  let db: Client;

  /** Rows per table in PostgreSQL and documents per table index, until they agree. */
  async function tablesIndexed(where: AcceptanceTables) {
    const names = acceptanceNames(where);
    const counts: Record<string, [number, number | null]> = {};
    for (const table of ACCEPTANCE_TABLES) {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from ${names.sql[table]}`,
      );
      const indexed = (await search('GET', `/${indexPrefix}.${names.qualified(table)}/_count`)) as {
        count?: number;
      };
      counts[table] = [rows[0].n, indexed.count ?? null];
    }
    return counts;
  }

  /** The consumer lag of each topic, as the indexer reports it (absent: not reported yet). */
  async function lagOf(topics: string[]): Promise<Record<string, number | null>> {
    const text = await indexerMetrics();
    return Object.fromEntries(
      topics.map((topic) => [
        topic,
        metricSum(text, 'searchsync_indexer_consumer_lag', { topic }) ?? null,
      ]),
    );
  }

  const caughtUp = (lags: Record<string, number | null>) =>
    Object.values(lags).every((lag) => lag === 0);

  beforeAll(async () => {
    db = await database();
    await db.query(schemaSql(main));
    await db.query(schemaSql(fan));
    // The view is read from PostgreSQL, but kept current from the tables' topics: they exist
    // once the tables' own documents are indexed.
    for (const where of [main, fan]) {
      await eventually(
        () => tablesIndexed(where),
        (counts) => Object.values(counts).every(([rows, documents]) => rows === documents),
        { what: `the ${where.prefix}* tables indexed`, timeoutMs: 180_000 },
      );
    }

    const fileText = (yaml: { tables: string; views: string }) => `${yaml.tables}${yaml.views}`;
    const files = [
      { file: configFiles[0], text: fileText(acceptanceYaml(main, mainView)) },
      { file: configFiles[1], text: fileText(acceptanceYaml(fan, fanView)) },
    ];
    // The files hold the view the medium tier plans, and the same exclusion: checked here so
    // that a slip in the YAML fails at once, not as a view that never shows up.
    const parsed = parseSearchsyncConfig(files);
    for (const [where, view] of [
      [main, mainView],
      [fan, fanView],
    ] as const) {
      expect(withoutLocations(parsed.views.get(view))).toEqual(
        withoutLocations(orderView(where, view)),
      );
      const orders = acceptanceNames(where).qualified('orders');
      expect(parsed.tables.get(orders)).toEqual(acceptanceConfig(where).tables.get(orders));
    }
    for (const { file, text } of files) writeTableConfig(file, text);

    // The initial build: the indexer reloads the configuration, plans the views, creates their
    // indices and fills them from PostgreSQL.
    await expectViewToHold(mainAlias, await expectedDocuments(db, main), {
      what: `the initial build of ${mainView}`,
      timeoutMs: 300_000,
    });
    await expectViewToHold(fanAlias, await expectedDocuments(db, fan), {
      what: `the initial build of ${fanView}`,
      timeoutMs: 120_000,
    });
  }, 900_000);

  afterAll(async () => {
    // The exclusions go too: the admin takes a dropped table's columns out of the connector's
    // column.exclude.list whether its section stays or not.
    for (const name of configFiles) removeTableConfig(name);
    if (db) {
      await db.query(dropTablesSql(main));
      await db.query(dropTablesSql(fan));
      await db.end();
    }
    // The indexer keeps the index of a view no longer configured (as it keeps a dropped table's):
    // this run's are deleted once a configuration without them is in force — the admin reloads
    // the files as the indexer does — so that nothing writes to them again.
    await eventually(
      () => admin<{ views?: { view: string }[] }>('GET', '/v1/pipeline'),
      (r) =>
        r.status === 200 && !(r.body.views ?? []).some((v) => [mainView, fanView].includes(v.view)),
      { what: 'the views out of the configuration in force', timeoutMs: 60_000 },
    );
    for (const alias of [mainAlias, fanAlias]) {
      const indices = (await search('GET', `/_alias/${alias}`)) as Record<string, unknown>;
      for (const index of Object.keys(indices).filter((name) => name.startsWith(`${alias}.`)))
        await search('DELETE', `/${index}`);
    }
  }, 120_000);

  it('maps one-to-many and many-to-many relations as nested, many-to-one as objects', async () => {
    const answer = (await search('GET', `/${mainAlias}/_mapping`)) as Record<
      string,
      { mappings: { properties: Record<string, JsonObject> } }
    >;
    const properties = Object.values(answer)[0]?.mappings.properties ?? {};
    const kind = (mapping: JsonObject | undefined) =>
      mapping === undefined ? 'absent' : ((mapping.type as string | undefined) ?? 'object');
    const lines = properties.lines as { properties?: Record<string, JsonObject> } | undefined;
    const product = lines?.properties?.product as
      { properties?: Record<string, JsonObject> } | undefined;
    expect({
      customer: kind(properties.customer),
      lines: kind(properties.lines),
      'lines.product': kind(lines?.properties?.product),
      'lines.product.tags': kind(product?.properties?.tags),
      refs: kind(properties[VIEW_REFS_FIELD]),
      'orders.secret': kind(properties.secret),
      'products.internal': kind(product?.properties?.internal),
    }).toEqual({
      customer: 'object',
      lines: 'nested',
      'lines.product': 'object',
      'lines.product.tags': 'nested',
      refs: 'keyword',
      'orders.secret': 'absent',
      'products.internal': 'absent',
    });
  });

  it('matches a condition on two fields of one line only when one line meets both', async () => {
    // Order 100: line 1 a Lamp × 2, line 2 a Desk × 1. Order 103: line 1 a Lamp × 1.
    const documents = await viewDocuments(mainAlias);
    expect(
      Object.fromEntries(
        ['100', '103'].map((id) => [
          id,
          (documents[id]?.lines as JsonObject[] | undefined)?.map((line) => [
            (line.product as JsonObject | null)?.name,
            line.qty,
          ]),
        ]),
      ),
    ).toEqual({
      '100': [
        ['Lamp', 2],
        ['Desk', 1],
      ],
      '103': [['Lamp', 1]],
    });
    expect(await hitIds(mainAlias, oneLine('Lamp', 1))).toEqual(['103']);
    expect(await hitIds(mainAlias, oneLine('Lamp', 2))).toEqual(['100']);
    expect(await hitIds(mainAlias, oneLine('Desk', 1))).toEqual(['100']);
    // Nested rows are documents of their own: the fields are not on the order itself.
    expect(await hitIds(mainAlias, anyLines('Lamp', 1))).toEqual([]);

    // The query API serves the view like a table, with the same per-line semantics.
    const apiIds = async (query: string) => {
      const response = await apiGet<{ hits: { id: string }[] }>(
        `/v1/tables/${mainView}/search?${query}&sort=id:asc`,
      );
      expect(response.status).toBe(200);
      return response.body.hits.map((hit) => hit.id);
    };
    const lampAnd = (qty: number) => `filter=lines.product.name:eq:Lamp&filter=lines.qty:eq:${qty}`;
    expect(await apiIds(lampAnd(1))).toEqual(['103']);
    expect(await apiIds(lampAnd(2))).toEqual(['100']);
    expect(await apiIds('q=desk')).toEqual(['100']);
    // Buckets count orders: 100, 102 and 103 each have a line of one.
    const aggregated = await stackApi<{ aggregations: Record<string, { buckets: unknown[] }> }>(
      `/v1/tables/${mainView}/search`,
      { body: { size: 0, aggregations: [{ name: 'qty', type: 'terms', field: 'lines.qty' }] } },
    );
    expect(aggregated.body.aggregations.qty.buckets).toEqual([
      { key: 1, count: 3 },
      { key: 2, count: 1 },
      { key: 5, count: 1 },
    ]);

    // The same documents with `lines` mapped as plain objects: the arrays are flattened, so
    // 'Lamp' (line 1) and qty 1 (line 2) together match order 100 — what nested prevents.
    const flat = `${base}_flat`;
    const created = (await search('PUT', `/${flat}`, {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        dynamic: false,
        properties: {
          lines: {
            properties: {
              qty: { type: 'integer' },
              product: { properties: { name: { type: 'text' } } },
            },
          },
        },
      },
    })) as { acknowledged?: boolean };
    expect(created.acknowledged).toBe(true);
    try {
      for (const [id, source] of Object.entries(documents))
        await search('PUT', `/${flat}/_doc/${encodeURIComponent(id)}?refresh=true`, source);
      expect(await hitIds(flat, anyLines('Lamp', 1))).toEqual(['100', '103']);
    } finally {
      await search('DELETE', `/${flat}`);
    }
  });

  for (const [name, sql] of acceptanceChanges(main)) {
    it(`after ${name}, holds exactly the documents the tables give`, async () => {
      await db.query(sql);
      await expectViewToHold(mainAlias, await expectedDocuments(db, main), {
        what: `${mainView} after ${name}`,
        timeoutMs: 180_000,
      });
    }, 240_000);
  }

  it('verifies clean after every change: each root row’s document is the one PostgreSQL computes', async () => {
    const result = await admin<{
      rows: number;
      documents: number;
      missingTotal: number;
      extraTotal: number;
      mismatchedTotal: number;
    }>('POST', `/v1/tables/${mainView}/verify`);
    expect(result.status).toBe(200);
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from ${acceptanceNames(main).sql.orders}`,
    );
    expect(result.body).toMatchObject({
      rows: rows[0].n,
      documents: rows[0].n,
      missingTotal: 0,
      extraTotal: 0,
      mismatchedTotal: 0,
    });
  });

  it('refreshes all 10,000 orders sharing a tag after one UPDATE of the tag', async () => {
    const { sql: t } = acceptanceNames(fan);
    const seededAt = Date.now();
    await db.query(`
      insert into ${t.tags} values (999, 'shared');
      insert into ${t.products}
        select md5(i::text)::uuid, 'p' || i, i / 100.0, null, null, null
          from generate_series(1, 10000) i;
      insert into ${t.product_tags} select md5(i::text)::uuid, 999 from generate_series(1, 10000) i;
      insert into ${t.orders}
        select 10000 + i, 1, 10, 'bulk', null, i, null, null, null from generate_series(1, 10000) i;
      insert into ${t.order_lines}
        select 10000 + i, 1, md5(i::text)::uuid, 1 from generate_series(1, 10000) i;
      analyze ${t.orders}, ${t.order_lines}, ${t.products}, ${t.product_tags}, ${t.tags};
    `);
    await expectViewToHold(fanAlias, await expectedDocuments(db, fan), {
      what: `the 10,000 new orders in ${fanView}`,
      timeoutMs: 600_000,
    });
    const seeded = Date.now() - seededAt;
    // Every seeding batch refreshed and committed: the counters below count the UPDATE alone.
    await eventually(() => lagOf(topicsOf(fan)), caughtUp, {
      what: `the ${fan.prefix}* topics consumed`,
      timeoutMs: 300_000,
    });
    expect(await countWithTag(fanAlias, 'shared')).toBe(10_000);
    const before = await viewCounters(fanView);

    await db.query(`update ${t.tags} set label = 'renamed' where id = 999`);
    const updatedAt = Date.now();
    await eventually(
      async () => {
        await search('POST', `/${fanAlias}/_refresh`);
        return {
          renamed: await countWithTag(fanAlias, 'renamed'),
          shared: await countWithTag(fanAlias, 'shared'),
        };
      },
      (counts) => counts.renamed === 10_000 && counts.shared === 0,
      { what: `10,000 documents of ${fanView} with the renamed tag`, timeoutMs: 600_000 },
    );
    const took = Date.now() - updatedAt;
    await eventually(() => lagOf(topicsOf(fan)), caughtUp, {
      what: `the UPDATE's batch committed`,
      timeoutMs: 120_000,
    });
    const after = await viewCounters(fanView);
    const delta = {
      roots: after.roots - before.roots,
      written: after.written - before.written,
      bulks: after.bulks - before.bulks,
    };
    console.log(
      `view fan-out (real stack): one UPDATE of a tag shared by 10,000 orders, all 10,000 view ` +
        `documents current in ${took} ms; refreshed roots ${delta.roots}, documents written ` +
        `${delta.written}, bulk writes ${delta.bulks} (seeding: ${seeded} ms until the view held them)`,
    );
    expect(delta.roots).toBeGreaterThanOrEqual(10_000);
    expect(delta.written).toBeGreaterThanOrEqual(10_000);
    expect(delta.bulks).toBeGreaterThanOrEqual(1);
    // Every document, not only its tag: nothing else changed in the 10,000 rewrites.
    await expectViewToHold(fanAlias, await expectedDocuments(db, fan), {
      what: `${fanView} after the rename`,
      timeoutMs: 60_000,
    });
  }, 1_800_000);

  it('swaps in a new generation when its definition changes, answering searches throughout', async () => {
    const expected = await expectedDocuments(db, main);
    let reading = true;
    let reads = 0;
    const errors: string[] = [];
    const reader = (async () => {
      while (reading) {
        const answer = await apiGet<{ total?: number }>(`/v1/tables/${mainView}/search?size=1`);
        reads += 1;
        // Complete at every instant: never the old generation emptied, nor the new one filling.
        if (answer.status !== 200 || answer.body.total !== expected.size)
          errors.push(`${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
        await sleep(50);
      }
    })();
    try {
      // A field setting of a table the view draws on: a new mapping, the same documents.
      const yaml = acceptanceYaml(main, mainView);
      writeTableConfig(
        configFiles[0],
        `${yaml.tables}    fields:\n      status: { type: keyword }\n${yaml.views}`,
      );
      await eventually(
        async () => Object.keys((await search('GET', `/_alias/${mainAlias}`)) as object),
        (indices) => indices.length === 1 && indices[0] === `${mainAlias}.v2`,
        { what: `${mainAlias} on its second generation alone`, timeoutMs: 180_000 },
      );
      await expectViewToHold(mainAlias, expected, {
        what: `${mainView} after the swap`,
        timeoutMs: 60_000,
      });
      const mapping = (await search('GET', `/${mainAlias}/_mapping`)) as Record<
        string,
        { mappings: { properties: { status?: { type?: string } } } }
      >;
      expect(Object.values(mapping)[0]?.mappings.properties.status?.type).toBe('keyword');
      // A change after the swap reaches the new generation.
      const { sql: t } = acceptanceNames(main);
      await db.query(
        `update ${t.orders} set status = 'after the swap' where id = (select min(id) from ${t.orders})`,
      );
      await expectViewToHold(mainAlias, await expectedDocuments(db, main), {
        what: `${mainView} following changes after the swap`,
        timeoutMs: 60_000,
      });
    } finally {
      reading = false;
      await reader;
    }
    expect(errors).toEqual([]);
    expect(reads).toBeGreaterThan(10);
  }, 300_000);

  it('rebuilds a view on request, into a new generation swapped in when full', async () => {
    const started = await admin<{ id: string; state: string; generation: number }>(
      'POST',
      `/v1/tables/${mainView}/rebuild`,
    );
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ state: 'filling', generation: 3 });
    const again = await admin<{ message: string }>('POST', `/v1/tables/${mainView}/rebuild`);
    expect(again.status).toBe(409);
    const done = await eventually(
      () =>
        admin<{ id: string; state: string; index: string }>(
          'GET',
          `/v1/tables/${mainView}/rebuild`,
        ),
      (r) => r.status === 200 && r.body.state === 'completed',
      { what: `the requested rebuild of ${mainView}`, timeoutMs: 120_000 },
    );
    expect(done.body).toMatchObject({ id: started.body.id, index: `${mainAlias}.v3` });
    await expectViewToHold(mainAlias, await expectedDocuments(db, main), {
      what: `${mainView} after the requested rebuild`,
      timeoutMs: 60_000,
    });
    expect(Object.keys((await search('GET', `/_alias/${mainAlias}`)) as object)).toEqual([
      `${mainAlias}.v3`,
    ]);
  }, 200_000);

  it('holds exactly the same documents after the whole history of its tables is replayed', async () => {
    const expected = await expectedDocuments(db, main);
    await expectViewToHold(mainAlias, expected, { what: 'the view before', timeoutMs: 60_000 });
    const topics = topicsOf(main);
    await holdPart('indexer');
    try {
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      try {
        // The view's topics only: resetting every topic of a long-lived stack replays them all.
        for (const topic of topics)
          await kafkaAdmin.resetOffsets({ groupId, topic, earliest: true });
      } finally {
        await kafkaAdmin.disconnect();
      }
    } finally {
      await releasePart('indexer');
    }
    const names = acceptanceNames(main);
    await eventually(
      async () => {
        const text = await indexerMetrics();
        const lags = await lagOf(topics);
        // The restarted indexer's counters start at 0: events of our tables prove it replayed.
        const replayed = ACCEPTANCE_TABLES.map(
          (table) =>
            metricSum(text, 'searchsync_indexer_events_consumed_total', {
              table: names.qualified(table),
            }) ?? 0,
        );
        return { lags, replayed };
      },
      ({ lags, replayed }) => caughtUp(lags) && replayed.every((n) => n > 0),
      { what: 'the replay of the view tables consumed and committed', timeoutMs: 300_000 },
    );
    // Offsets are committed after the view documents of a batch are written: no waiting here.
    const after = await viewDocuments(mainAlias);
    expect(difference(after, asIndexed(expected))).toEqual(NO_DIFFERENCE);
  }, 600_000);
});

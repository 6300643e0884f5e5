import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import fc from 'fast-check';
import { ElasticsearchEngine } from './elasticsearch-engine';
import { LOWERCASE_NORMALIZER } from './engine-common';
import {
  elasticsearchDialect,
  openSearchDialect,
  TIEBREAK_FIELD,
  VIEW_REFS_FIELD,
} from './engine-dialect';
import { OpenSearchEngine } from './opensearch-engine';
import type { SearchEngine } from './search-engine';
import { tableIndexNames } from './table-index';
import {
  ensureViewIndex,
  idPageBody,
  viewConfigFingerprint,
  viewIndexBody,
  viewIndexNames,
  viewIndexPattern,
  ViewNameInvalidError,
  viewsFromIndices,
} from './view-index';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Answer = { status?: number; body?: unknown };

/** An engine at the HTTP level: answers per request, records what was sent. */
function fakeEngine(handler: (req: Recorded) => Answer | undefined, product?: string) {
  const recorded: Recorded[] = [];
  let server: Server | undefined;
  return {
    recorded,
    /** What was sent besides the connection's own probes (GET /, plugins). */
    sent: (pattern: RegExp = /./) =>
      recorded.filter(
        (r) =>
          r.url !== '/' &&
          !r.url.startsWith('/_cat/plugins') &&
          pattern.test(`${r.method} ${r.url}`),
      ),
    start: () =>
      new Promise<string>((resolve) => {
        server = createServer((req, res) => {
          let body = '';
          req.on('data', (chunk: Buffer) => (body += chunk.toString()));
          req.on('end', () => {
            const entry = {
              method: req.method ?? '',
              url: req.url ?? '',
              headers: req.headers,
              body,
            };
            recorded.push(entry);
            const answer = handler(entry) ?? {
              status: 404,
              body: { error: { type: 'resource_not_found_exception', reason: 'no handler' } },
            };
            res.writeHead(answer.status ?? 200, {
              'content-type': 'application/json',
              ...(product ? { 'x-elastic-product': product } : {}),
            });
            res.end(req.method === 'HEAD' ? undefined : JSON.stringify(answer.body ?? {}));
          });
        });
        // Port 0: any free port, never one of the stack's.
        server.listen(0, '127.0.0.1', () => {
          resolve(`http://127.0.0.1:${(server?.address() as { port: number }).port}`);
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server) resolve();
        else server.close(() => resolve());
        server?.closeAllConnections();
      }),
  };
}

const OPENSEARCH_ROOT = { version: { distribution: 'opensearch', number: '2.19.6' } };
const ES_ROOT = { version: { number: '9.5.3', build_flavor: 'default' } };

/** Both engines, each as its adapter connects to it (OpenSearch with the k-NN plugin). */
const ENGINES = [
  {
    name: 'OpenSearch',
    product: undefined,
    root: OPENSEARCH_ROOT,
    create: (url: string): SearchEngine => new OpenSearchEngine(url),
  },
  {
    name: 'Elasticsearch',
    product: 'Elasticsearch',
    root: ES_ROOT,
    create: (url: string): SearchEngine => new ElasticsearchEngine(url),
  },
] as const;

/** Runs `body` against a fake of the engine answering with `handler`, then stops both. */
async function withEngine(
  kind: (typeof ENGINES)[number],
  handler: (req: Recorded) => Answer | undefined,
  body: (engine: SearchEngine, fake: ReturnType<typeof fakeEngine>) => Promise<void>,
): Promise<void> {
  const fake = fakeEngine((req) => {
    if (req.url === '/') return { body: kind.root };
    if (req.url.startsWith('/_cat/plugins')) return { body: [{ component: 'opensearch-knn' }] };
    return handler(req);
  }, kind.product);
  const engine = kind.create(await fake.start());
  try {
    await body(engine, fake);
  } finally {
    await engine.close();
    await fake.stop();
  }
}

async function collect(pages: AsyncIterable<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const page of pages) out.push(page);
  return out;
}

const json = (body: string): Record<string, unknown> => JSON.parse(body) as Record<string, unknown>;

describe('view index names', () => {
  it('are <prefix>-view.<name> and .v<N>, lowercase', () => {
    expect(viewIndexNames('searchsync', 'order_search')).toEqual({
      view: 'order_search',
      alias: 'searchsync-view.order_search',
      index: 'searchsync-view.order_search.v1',
    });
    expect(viewIndexNames('Staging', 'v', 12).index).toBe('staging-view.v.v12');
    expect(viewIndexPattern('searchsync')).toBe('searchsync-view.*');
  });

  it('refuse a name the configuration would not admit', () => {
    for (const name of ['', 'Orders', 'a.b', '1a', 'a-b', 'a.v1'])
      expect(() => viewIndexNames('searchsync', name)).toThrow(ViewNameInvalidError);
  });

  /** A glob of `*` only, as the engine matches index patterns. */
  const matches = (pattern: string, name: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(name);

  it("never equal a table's alias or index, nor match its listing, whatever the names", () => {
    const prefix = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/);
    // Any PostgreSQL identifier, quoted ones too: dots, dashes, `v1`, upper case, unicode.
    const identifier = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom('v1', 'v2', 'view', '-view', 'a.v1', 'order_search', 'Order_Search'),
    );
    const view = fc.oneof(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
      fc.constantFrom('v1', 'view', 'order_search'),
    );
    const generation = fc.integer({ min: 1, max: 10_000 });
    fc.assert(
      fc.property(
        prefix,
        identifier,
        identifier,
        view,
        generation,
        generation,
        (p, schema, table, name, tg, vg) => {
          const t = tableIndexNames(p, { schema, table }, tg);
          const v = viewIndexNames(p, name, vg);
          const tableNames = [t.alias, t.index, `${t.index}.building`];
          const viewNames = [v.alias, v.index, `${v.index}.building`];
          for (const tn of tableNames) for (const vn of viewNames) expect(tn).not.toBe(vn);
          // The tables' listing (`<prefix>.*`) never reaches a view, nor the views' a table.
          for (const vn of viewNames) expect(matches(`${p}.*`, vn)).toBe(false);
          for (const tn of tableNames) expect(matches(viewIndexPattern(p), tn)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('of different views or generations never equal one another', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
        fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 1, max: 99 }),
        (a, b, ga, gb) => {
          fc.pre(a !== b || ga !== gb);
          const x = viewIndexNames('p', a, ga);
          const y = viewIndexNames('p', b, gb);
          expect(x.index).not.toBe(y.index);
          expect(x.index).not.toBe(y.alias);
          if (a !== b) expect(x.alias).not.toBe(y.alias);
        },
      ),
    );
  });
});

describe('viewConfigFingerprint', () => {
  it('is the same whatever the key order, and differs when a value does', () => {
    const a = viewConfigFingerprint({ x: { type: 'keyword' }, y: [1, { b: 2, a: 1 }] });
    const b = viewConfigFingerprint({ y: [1, { a: 1, b: 2 }], x: { type: 'keyword' } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(viewConfigFingerprint({ x: { type: 'text' }, y: [1, { a: 1, b: 2 }] })).not.toBe(a);
    // Array order is meaning (composite keys in key order).
    expect(viewConfigFingerprint(['a', 'b'])).not.toBe(viewConfigFingerprint(['b', 'a']));
  });
});

/** A view mapping as document-views' viewMapping gives it (engine-neutral, OpenSearch terms). */
const MAPPING = {
  id: { type: 'long' },
  placed_at: { type: 'date', format: 'strict_date_optional_time||epoch_millis' },
  customer: {
    type: 'object',
    properties: { id: { type: 'keyword', normalizer: LOWERCASE_NORMALIZER } },
  },
  lines: {
    type: 'nested',
    properties: {
      order_id: { type: 'long' },
      shipped: { type: 'date', format: 'strict_date_optional_time||epoch_millis' },
      attrs: { type: 'flat_object' },
    },
  },
  [VIEW_REFS_FIELD]: { type: 'keyword' },
};

const NAMES = viewIndexNames('searchsync', 'order_search');

describe('viewIndexBody', () => {
  it("has the table indices' settings, the alias, and _meta naming the view", () => {
    const body = viewIndexBody(openSearchDialect(), NAMES, MAPPING, { config: 'abc' });
    expect(body).toMatchObject({
      settings: {
        number_of_shards: 1,
        'index.mapping.ignore_malformed': true,
        analysis: { normalizer: { [LOWERCASE_NORMALIZER]: { type: 'custom' } } },
      },
      aliases: { 'searchsync-view.order_search': {} },
      mappings: {
        dynamic: false,
        _meta: { searchsync: { view: 'order_search', config: 'abc' } },
        properties: {
          lines: { type: 'nested', properties: { attrs: { type: 'flat_object' } } },
          [VIEW_REFS_FIELD]: { type: 'keyword' },
          [TIEBREAK_FIELD]: { type: 'keyword', index: false, doc_values: true },
        },
      },
    });
    // The refs stay in _source (verify compares them); the tie-break field does not.
    const source = (body.mappings as { _source: { excludes: string[] } })._source;
    expect(source.excludes).toContain(TIEBREAK_FIELD);
    expect(source.excludes).not.toContain(VIEW_REFS_FIELD);
  });

  it('names the view from its names, not from meta', () => {
    const body = viewIndexBody(openSearchDialect(), NAMES, MAPPING, { view: 'other' });
    expect(body.mappings).toMatchObject({ _meta: { searchsync: { view: 'order_search' } } });
  });

  it('adds the refs field when the mapping lacks it, and configured settings', () => {
    const body = viewIndexBody(
      openSearchDialect(),
      NAMES,
      { id: { type: 'long' } },
      {},
      { index: { shards: 3, refresh: '-1' } },
    );
    expect(body).toMatchObject({
      settings: { number_of_shards: 3, refresh_interval: '-1' },
      mappings: { properties: { [VIEW_REFS_FIELD]: { type: 'keyword' } } },
    });
  });

  it("translates nested levels into each engine's terms", () => {
    const os = viewIndexBody(openSearchDialect({ knn: true }), NAMES, MAPPING, {});
    const es = viewIndexBody(elasticsearchDialect({ version: '9.5.3' }), NAMES, MAPPING, {});
    expect(os.settings).toMatchObject({ 'index.knn': true });
    expect(es.settings).toMatchObject({ 'index.mapping.exclude_source_vectors': false });
    const esLines = (es.mappings as { properties: Record<string, { properties: object }> })
      .properties.lines.properties;
    expect(esLines).toMatchObject({
      attrs: { type: 'flattened' },
      shipped: { format: expect.stringContaining('uuuu-MM-dd') as unknown },
    });
    const osLines = (os.mappings as { properties: Record<string, { properties: object }> })
      .properties.lines.properties;
    expect(osLines).toMatchObject({
      shipped: { format: 'strict_date_optional_time||epoch_millis' },
    });
  });
});

describe('viewsFromIndices', () => {
  it("lists live views by their _meta, not tables' indices or generations being built", () => {
    const views = viewsFromIndices({
      'searchsync-view.b.v1': {
        aliases: { 'searchsync-view.b': {} },
        mappings: {
          _meta: { searchsync: { view: 'b', config: 'x' } } as never,
          properties: {
            id: { type: 'long' },
            [VIEW_REFS_FIELD]: { type: 'keyword' },
            [TIEBREAK_FIELD]: { type: 'keyword' },
          },
        },
      },
      'searchsync-view.b.v2': {
        aliases: { 'searchsync-view.b.v2.building': {} },
        mappings: { _meta: { searchsync: { view: 'b' } } as never },
      },
      'searchsync-view.a.v3': {
        aliases: { 'searchsync-view.a': {} },
        mappings: { _meta: { searchsync: { view: 'a' } } as never },
      },
      'searchsync-view.x.v1': {
        aliases: { 'searchsync-view.x': {} },
        mappings: { _meta: { searchsync: { schema: 'public', table: 'x' } } },
      },
    });
    expect(views.map((v) => [v.view, v.alias, v.index])).toEqual([
      ['a', 'searchsync-view.a', 'searchsync-view.a.v3'],
      ['b', 'searchsync-view.b', 'searchsync-view.b.v1'],
    ]);
    expect(views[1].fields.map((f) => f.name)).toEqual(['id']);
    expect(views[1].meta).toEqual({ view: 'b', config: 'x' });
  });
});

describe('idPageBody', () => {
  it('pages by search_after on the tie-break field, ids only, at most 10,000', () => {
    expect(idPageBody({ terms: { f: ['a'] } }, 500)).toEqual({
      size: 500,
      _source: false,
      track_total_hits: false,
      query: { bool: { filter: [{ terms: { f: ['a'] } }] } },
      sort: [{ [TIEBREAK_FIELD]: { order: 'asc' } }],
    });
    expect(idPageBody({ match_all: {} }, 50_000, ['k'])).toMatchObject({
      size: 10_000,
      search_after: ['k'],
    });
    expect(idPageBody({ match_all: {} }, 0).size).toBe(1);
  });
});

describe.each(ENGINES)('view requests on $name', (kind) => {
  const alias = NAMES.alias;

  it('ensureViewIndex creates the index with its alias and fingerprint once', async () => {
    let created = false;
    await withEngine(
      kind,
      (req) => {
        if (req.method === 'HEAD') return { status: created ? 200 : 404 };
        if (req.method === 'PUT') {
          created = true;
          return { body: { acknowledged: true } };
        }
        return undefined;
      },
      async (engine, fake) => {
        await expect(ensureViewIndex(engine, NAMES, MAPPING)).resolves.toBe(true);
        await expect(ensureViewIndex(engine, NAMES, MAPPING)).resolves.toBe(false);
        const puts = fake.sent(/^PUT /);
        expect(puts.map((r) => r.url)).toEqual(['/searchsync-view.order_search.v1']);
        expect(fake.sent(/^HEAD /).map((r) => r.url)).toEqual([
          '/searchsync-view.order_search',
          '/searchsync-view.order_search',
        ]);
        const body = json(puts[0].body);
        expect(body).toMatchObject({
          aliases: { [alias]: {} },
          mappings: {
            _meta: {
              searchsync: { view: 'order_search', config: viewConfigFingerprint(MAPPING) },
            },
            properties: {
              lines: {
                type: 'nested',
                properties: {
                  attrs: { type: kind.name === 'OpenSearch' ? 'flat_object' : 'flattened' },
                },
              },
            },
          },
          settings:
            kind.name === 'OpenSearch'
              ? { 'index.knn': true }
              : { 'index.mapping.exclude_source_vectors': false },
        });
        if (kind.name === 'Elasticsearch')
          expect(puts[0].headers['content-type']).toBe('application/json');
      },
    );
  });

  it('ensureViewIndex keeps a given fingerprint, and takes a replica creating it first', async () => {
    await withEngine(
      kind,
      (req) => {
        if (req.method === 'HEAD') return { status: 404 };
        if (req.method === 'PUT')
          return {
            status: 400,
            body: {
              error: {
                type: 'resource_already_exists_exception',
                reason: `index [${NAMES.index}] already exists`,
              },
              status: 400,
            },
          };
        return undefined;
      },
      async (engine, fake) => {
        await expect(ensureViewIndex(engine, NAMES, MAPPING, { config: 'cfg1' })).resolves.toBe(
          false,
        );
        expect(json(fake.sent(/^PUT /)[0].body)).toMatchObject({
          mappings: { _meta: { searchsync: { view: 'order_search', config: 'cfg1' } } },
        });
      },
    );
  });

  it('ensureViewIndex fails on any other refusal', async () => {
    await withEngine(
      kind,
      (req) => {
        if (req.method === 'HEAD') return { status: 404 };
        if (req.method === 'PUT')
          return {
            status: 400,
            body: { error: { type: 'mapper_parsing_exception', reason: 'bad' }, status: 400 },
          };
        return undefined;
      },
      async (engine) => {
        await expect(ensureViewIndex(engine, NAMES, MAPPING)).rejects.toMatchObject({
          statusCode: 400,
        });
      },
    );
  });

  it('idsWithTerms pages by search_after until a short page', async () => {
    const pages = [
      [
        { _id: '["1"]', sort: ['["1"]'] },
        { _id: '["2"]', sort: ['["2"]'] },
      ],
      [{ _id: '["3"]', sort: ['["3"]'] }],
    ];
    await withEngine(
      kind,
      (req) => {
        if (req.method === 'POST' && req.url.startsWith(`/${alias}/_search`)) {
          const after = json(req.body).search_after;
          return { body: { hits: { hits: after ? pages[1] : pages[0] } } };
        }
        return undefined;
      },
      async (engine, fake) => {
        const refs = ['public.orders:["1"]', 'public.customers:["7"]'];
        expect(await collect(engine.idsWithTerms(alias, VIEW_REFS_FIELD, refs, 2))).toEqual([
          ['["1"]', '["2"]'],
          ['["3"]'],
        ]);
        const searches = fake.sent(/_search/);
        expect(searches).toHaveLength(2);
        const url = new URL(searches[0].url, 'http://x');
        expect(url.pathname).toBe(`/${alias}/_search`);
        expect(url.searchParams.get('filter_path')).toBe('hits.hits._id,hits.hits.sort');
        expect(json(searches[0].body)).toEqual({
          size: 2,
          _source: false,
          track_total_hits: false,
          query: { bool: { filter: [{ terms: { [VIEW_REFS_FIELD]: refs } }] } },
          sort: [{ [TIEBREAK_FIELD]: { order: 'asc' } }],
        });
        expect(json(searches[1].body)).toMatchObject({ search_after: ['["2"]'] });
      },
    );
  });

  it('idsWithTerms of no values asks nothing; an empty answer (filter_path drops it) ends', async () => {
    await withEngine(
      kind,
      (req) => (req.url.includes('/_search') ? { body: {} } : undefined),
      async (engine, fake) => {
        expect(await collect(engine.idsWithTerms(alias, VIEW_REFS_FIELD, []))).toEqual([]);
        expect(fake.sent()).toHaveLength(0);
        expect(await collect(engine.idsWithTerms(alias, VIEW_REFS_FIELD, ['a']))).toEqual([]);
        expect(json(fake.sent(/_search/)[0].body)).toMatchObject({ size: 1000 });
      },
    );
  });

  it('idsWithPrefix sends a prefix query; a full last page asks once more', async () => {
    await withEngine(
      kind,
      (req) => {
        if (!req.url.startsWith(`/${alias}/_search`)) return undefined;
        const after = json(req.body).search_after;
        return {
          body: after ? {} : { hits: { hits: [{ _id: 'a', sort: ['a'] }] } },
        };
      },
      async (engine, fake) => {
        expect(
          await collect(engine.idsWithPrefix(alias, VIEW_REFS_FIELD, 'public.order_lines:', 1)),
        ).toEqual([['a']]);
        const bodies = fake.sent(/_search/).map((r) => json(r.body));
        expect(bodies[0]).toMatchObject({
          query: {
            bool: { filter: [{ prefix: { [VIEW_REFS_FIELD]: { value: 'public.order_lines:' } } }] },
          },
        });
        expect(bodies[1]).toMatchObject({ search_after: ['a'] });
      },
    );
  });

  it('id lookups on a missing alias fail, not answer nothing', async () => {
    await withEngine(
      kind,
      (req) =>
        req.url.includes('/_search')
          ? {
              status: 404,
              body: {
                error: { type: 'index_not_found_exception', reason: 'no such index' },
                status: 404,
              },
            }
          : undefined,
      async (engine) => {
        await expect(
          collect(engine.idsWithTerms(alias, VIEW_REFS_FIELD, ['x'])),
        ).rejects.toMatchObject({ statusCode: 404 });
      },
    );
  });

  it('refresh posts _refresh to the alias', async () => {
    await withEngine(
      kind,
      (req) => (req.url.endsWith('/_refresh') ? { body: { _shards: {} } } : undefined),
      async (engine, fake) => {
        await engine.refresh(alias);
        expect(fake.sent().map((r) => `${r.method} ${r.url}`)).toEqual([
          'POST /searchsync-view.order_search/_refresh',
        ]);
      },
    );
  });

  it('listViews reads <prefix>-view.*; table listings leave view indices out', async () => {
    const viewIndex = {
      aliases: { [alias]: {} },
      mappings: { _meta: { searchsync: { view: 'order_search' } }, properties: {} },
    };
    const tableIndex = {
      aliases: { 'searchsync-view.public.t': {} },
      mappings: { _meta: { searchsync: { schema: 'public', table: 't' } }, properties: {} },
    };
    await withEngine(
      kind,
      (req) => {
        if (req.method !== 'GET') return undefined;
        // Another deployment's prefix `searchsync-view` lists our views with its tables.
        return { body: { [NAMES.index]: viewIndex, 'searchsync-view.public.t.v1': tableIndex } };
      },
      async (engine, fake) => {
        expect((await engine.listViews('searchsync')).map((v) => v.view)).toEqual(['order_search']);
        expect((await engine.listTableMappings('searchsync-view')).map((t) => t.table)).toEqual([
          't',
        ]);
        const urls = fake.sent().map((r) => new URL(r.url, 'http://x'));
        expect(urls[0].pathname).toBe('/searchsync-view.*');
        expect(urls[0].searchParams.get('allow_no_indices')).toBe('true');
      },
    );
  });
});

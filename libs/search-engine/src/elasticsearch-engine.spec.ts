import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSearchEngine, detectDistribution } from './create-search-engine';
import { ElasticsearchEngine } from './elasticsearch-engine';
import { elasticsearchDialect, TIEBREAK_FIELD, translateMapping } from './engine-dialect';
import type { SearchEngine } from './search-engine';
import { VECTOR_FIELD_PREFIX, vectorFieldOf } from './vector-fields';
import {
  SearchEngineNotFoundError,
  SearchEngineRequestError,
  SearchEngineUnavailableError,
} from './search-engine.errors';

/**
 * No Elasticsearch server can run here: this stands in for one at the HTTP level, answering
 * like Elasticsearch 9 (with its product header) and recording what the adapter sent.
 */
interface Recorded {
  method: string;
  url: string;
  body: string;
}

type Handler = (req: Recorded) => { status?: number; body: unknown } | undefined;

function fakeServer(handler: Handler, product = 'Elasticsearch') {
  const recorded: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', body };
      recorded.push(entry);
      const answer = handler(entry) ?? { status: 404, body: { error: { type: 'not_found' } } };
      res.writeHead(answer.status ?? 200, {
        'content-type': 'application/json',
        ...(product ? { 'x-elastic-product': product } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(answer.body));
    });
  });
  return {
    recorded,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          const address = server.address() as { port: number };
          resolve(`http://127.0.0.1:${address.port}`);
        }),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const ROOT = {
  version: { number: '9.1.0', build_flavor: 'default' },
  tagline: 'You Know, for Search',
};

describe('detectDistribution', () => {
  it('tells OpenSearch from Elasticsearch by the product header, else GET /', () => {
    expect(
      detectDistribution({
        status: 200,
        body: { version: { distribution: 'opensearch', number: '2.19.6' } },
      }),
    ).toBe('opensearch');
    expect(detectDistribution({ status: 200, product: 'Elasticsearch', body: ROOT })).toBe(
      'elasticsearch',
    );
    // A node without rest-root: 405 to GET /, but the header says what it is.
    expect(detectDistribution({ status: 405, product: 'Elasticsearch', body: undefined })).toBe(
      'elasticsearch',
    );
    // Elasticsearch before 7.14 had no header.
    expect(detectDistribution({ status: 200, body: ROOT })).toBe('elasticsearch');
    expect(detectDistribution({ status: 405, body: undefined })).toBeUndefined();
    expect(detectDistribution({ status: 401, body: { error: 'x' } })).toBeUndefined();
  });
});

describe('ElasticsearchEngine', () => {
  const server = fakeServer((req) => {
    if (req.method === 'GET' && req.url === '/') return { body: ROOT };
    if (req.url.startsWith('/searchsync.public.products/_search'))
      return {
        body: {
          took: 2,
          timed_out: false,
          hits: {
            total: { value: 1, relation: 'eq' },
            hits: [
              {
                _index: 'searchsync.public.products.v1',
                _id: '7',
                _score: 1.5,
                _source: { id: 7 },
                sort: [1.5, '7'],
              },
            ],
          },
          aggregations: { n: { value: 3 } },
        },
      };
    if (req.url.startsWith('/searchsync.*'))
      return {
        body: {
          'searchsync.public.products.v1': {
            aliases: { 'searchsync.public.products': {} },
            mappings: {
              _meta: { searchsync: { schema: 'public', table: 'products' } },
              properties: { id: { type: 'long' } },
            },
          },
          'searchsync.other.v1': { aliases: {}, mappings: {} },
        },
      };
    if (req.method === 'GET' && req.url === '/searchsync.public.products/_mapping')
      return {
        body: {
          'searchsync.public.products.v1': {
            mappings: {
              _meta: { searchsync: { schema: 'public', table: 'products' }, owner: 'ops' },
              properties: { id: { type: 'long' } },
            },
          },
        },
      };
    if (req.method === 'PUT' && req.url === '/searchsync.public.products.v1/_mapping')
      return { body: { acknowledged: true } };
    if (req.url === '/searchsync.public.never/_mapping')
      return {
        status: 404,
        body: { error: { type: 'index_not_found_exception', reason: 'no such index' } },
      };
    if (req.method === 'HEAD' && req.url === '/searchsync.public.new')
      return { status: 404, body: {} };
    if (req.method === 'PUT' && req.url === '/searchsync.public.new.v1')
      return { body: { acknowledged: true } };
    if (req.url === '/_bulk')
      return {
        body: {
          items: [
            { index: { status: 201 } },
            { delete: { status: 404 } },
            { index: { status: 409, error: { reason: 'v' } } },
          ],
        },
      };
    if (req.url === '/searchsync.public.gone/_doc/7')
      return {
        status: 404,
        body: {
          error: {
            root_cause: [{ type: 'index_not_found_exception', reason: 'no such index' }],
            type: 'index_not_found_exception',
            reason: 'no such index [searchsync.public.gone]',
          },
          status: 404,
        },
      };
    if (req.url === '/searchsync.public.products/_doc/missing')
      return { status: 404, body: { found: false } };
    if (req.url === '/searchsync.public.products/_doc/7')
      return { body: { found: true, _source: { id: 7 } } };
    if (req.method === 'GET' && req.url === '/_alias/searchsync.public.gone')
      return {
        body: {
          'searchsync.public.gone.v1': { aliases: { 'searchsync.public.gone': {} } },
          'searchsync.public.gone.v2': { aliases: { 'searchsync.public.gone': {} } },
        },
      };
    if (
      req.method === 'DELETE' &&
      req.url === '/searchsync.public.gone.v1,searchsync.public.gone.v2'
    )
      return { body: { acknowledged: true } };
    if (req.url === '/_alias/searchsync.public.never')
      return {
        status: 404,
        body: { error: 'alias [searchsync.public.never] missing', status: 404 },
      };
    if (req.url.startsWith('/busy/'))
      return { status: 503, body: { error: { type: 'unavailable', reason: 'busy' } } };
    if (req.url.startsWith('/bad/_search'))
      return {
        status: 400,
        body: { error: { root_cause: [{ type: 'parsing_exception', reason: 'nope' }] } },
      };
    return undefined;
  });
  let url = '';
  let engine: SearchEngine;

  beforeAll(async () => {
    url = await server.start();
    engine = await createSearchEngine(url);
  });

  afterAll(async () => {
    await engine.close();
    await server.stop();
  });

  it('reports the server', async () => {
    await expect(engine.info()).resolves.toEqual({
      distribution: 'elasticsearch',
      version: '9.1.0',
    });
  });

  it('searches with the shared DSL on our alias only and parses the page', async () => {
    const page = await engine.searchPage({
      indices: ['searchsync.public.products'],
      filters: [],
      sort: [{ field: '_score', order: 'desc' }],
      size: 2,
      trackTotalHitsUpTo: 100,
      aggregations: [{ name: 'n', type: 'cardinality', field: 'id' }],
    });
    const sent = server.recorded.find((r) =>
      r.url.startsWith('/searchsync.public.products/_search'),
    );
    expect(sent?.url).toContain('expand_wildcards=none');
    expect(JSON.parse(sent?.body ?? '{}')).toMatchObject({
      size: 2,
      sort: [
        { _score: { order: 'desc' } },
        { [TIEBREAK_FIELD]: { order: 'asc', unmapped_type: 'keyword' } },
      ],
    });
    expect(page).toMatchObject({
      total: 1,
      hits: [{ id: '7', index: 'searchsync.public.products', score: 1.5, sort: [1.5, '7'] }],
      aggregations: { n: { value: 3 } },
    });
  });

  it('lists table mappings from one GET', async () => {
    await expect(engine.listTableMappings('searchsync')).resolves.toEqual([
      {
        schema: 'public',
        table: 'products',
        alias: 'searchsync.public.products',
        index: 'searchsync.public.products.v1',
        fields: [{ name: 'id', type: 'long', subFields: {} }],
        meta: { schema: 'public', table: 'products' },
      },
    ]);
  });

  it('merges table meta into _meta.searchsync of each index, keeping other _meta keys', async () => {
    await engine.setTableMeta('searchsync.public.products', { generatedColumns: ['total'] });
    const put = server.recorded.find(
      (r) => r.method === 'PUT' && r.url === '/searchsync.public.products.v1/_mapping',
    );
    expect(JSON.parse(put?.body ?? '{}')).toEqual({
      _meta: {
        owner: 'ops',
        searchsync: { schema: 'public', table: 'products', generatedColumns: ['total'] },
      },
    });
    const missing = engine.setTableMeta('searchsync.public.never', { a: 1 });
    await expect(missing).rejects.toBeInstanceOf(SearchEngineNotFoundError);
    await expect(missing).rejects.toMatchObject({ statusCode: 404, retryable: false });
  });

  it('creates indices with Elasticsearch types and writes bulk NDJSON', async () => {
    await engine.ensureTableIndex(
      {
        schema: 'public',
        table: 'new',
        alias: 'searchsync.public.new',
        index: 'searchsync.public.new.v1',
      },
      { attrs: { type: 'flat_object' } },
    );
    const created = server.recorded.find(
      (r) => r.method === 'PUT' && r.url === '/searchsync.public.new.v1',
    );
    const mappings = JSON.parse(created?.body ?? '{}').mappings;
    expect(mappings.properties).toEqual({
      attrs: { type: 'flattened' },
      [TIEBREAK_FIELD]: { type: 'keyword', index: false, doc_values: true },
    });
    expect(mappings._source).toEqual({ excludes: [TIEBREAK_FIELD, `${VECTOR_FIELD_PREFIX}*`] });
    const results = await engine.bulk([
      { type: 'index', index: 'i', id: '1', version: 5n, document: { a: 1 } },
      { type: 'delete', index: 'i', id: '2', version: 6n },
      { type: 'index', index: 'i', id: '3', version: 1n, document: {} },
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'stale']);
    const bulk = server.recorded.find((r) => r.url === '/_bulk');
    expect(bulk?.body.split('\n')[0]).toBe(
      '{"index":{"_index":"i","_id":"1","version":5,"version_type":"external_gte","require_alias":true}}',
    );
  });

  it('gets documents, absent ones as null', async () => {
    await expect(engine.getDocument('searchsync.public.products', '7')).resolves.toEqual({ id: 7 });
    await expect(engine.getDocument('searchsync.public.products', 'missing')).resolves.toBeNull();
    await expect(
      engine.getDocument('searchsync.public.products', 'missing', { requireIndex: true }),
    ).resolves.toBeNull();
  });

  it('tells a missing index apart when asked to', async () => {
    await expect(engine.getDocument('searchsync.public.gone', '7')).resolves.toBeNull();
    await expect(
      engine.getDocument('searchsync.public.gone', '7', { requireIndex: true }),
    ).rejects.toBeInstanceOf(SearchEngineNotFoundError);
  });

  it('deletes every index behind an alias, and nothing for an absent one', async () => {
    await expect(engine.deleteTableIndices('searchsync.public.gone')).resolves.toBe(2);
    expect(server.recorded.filter((r) => r.method === 'DELETE').map((r) => r.url)).toEqual([
      '/searchsync.public.gone.v1,searchsync.public.gone.v2',
    ]);
    await expect(engine.deleteTableIndices('searchsync.public.never')).resolves.toBe(0);
  });

  it('classifies errors: 5xx retryable, 4xx not, unreachable retryable', async () => {
    await expect(engine.count('busy')).rejects.toBeInstanceOf(SearchEngineUnavailableError);
    const bad = engine.search('bad', { query: {} });
    await expect(bad).rejects.toBeInstanceOf(SearchEngineRequestError);
    await expect(bad).rejects.toMatchObject({ type: 'parsing_exception', statusCode: 400 });
    const nowhere = new ElasticsearchEngine('http://127.0.0.1:1');
    await expect(nowhere.info()).rejects.toBeInstanceOf(SearchEngineUnavailableError);
    await nowhere.close();
  });

  it('maps OpenSearch-only field types', () => {
    expect(
      translateMapping(elasticsearchDialect(), {
        v: { type: 'knn_vector', dimension: 3, method: { name: 'hnsw' } },
        o: { type: 'object', properties: { f: { type: 'flat_object' } } },
      }),
    ).toEqual({
      v: { type: 'object', enabled: false },
      [vectorFieldOf('v')]: {
        type: 'dense_vector',
        dims: 3,
        index: true,
        similarity: 'l2_norm',
        index_options: { type: 'hnsw' },
      },
      o: { type: 'object', properties: { f: { type: 'flattened' } } },
    });
  });
});

describe('createSearchEngine', () => {
  it('picks the OpenSearch adapter for OpenSearch and fails as unavailable when nothing answers', async () => {
    const server = fakeServer(
      () => ({ body: { version: { distribution: 'opensearch', number: '2.19.6' } } }),
      '',
    );
    const url = await server.start();
    const engine = await createSearchEngine(url);
    await expect(engine.info()).resolves.toEqual({ distribution: 'opensearch', version: '2.19.6' });
    await engine.close();
    await server.stop();
    await expect(createSearchEngine('http://127.0.0.1:1')).rejects.toBeInstanceOf(
      SearchEngineUnavailableError,
    );
  });
});

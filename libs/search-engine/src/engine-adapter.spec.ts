import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createLazySearchEngine, createSearchEngine } from './create-search-engine';
import { TIEBREAK_FIELD } from './engine-dialect';
import { ElasticsearchEngine } from './elasticsearch-engine';
import { OpenSearchEngine } from './opensearch-engine';
import type { SearchRequest } from './search-engine';
import { VECTOR_FIELD_PREFIX, vectorFieldOf } from './vector-fields';
import {
  redactCredentials,
  SearchEngineRequestError,
  SearchEngineUnavailableError,
} from './search-engine.errors';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Answer = { status?: number; body?: unknown; headers?: Record<string, string> };

/** An engine at the HTTP level: answers per request, records what was sent. */
function fakeEngine(handler: (req: Recorded) => Answer | undefined, product?: string) {
  const recorded: Recorded[] = [];
  let server: Server | undefined;
  let port = 0;
  const fake = {
    recorded,
    sent: (pattern: RegExp) => recorded.filter((r) => pattern.test(`${r.method} ${r.url}`)),
    start: (fixedPort = 0) =>
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
              ...answer.headers,
            });
            res.end(req.method === 'HEAD' ? undefined : JSON.stringify(answer.body ?? {}));
          });
        });
        server.listen(fixedPort, '127.0.0.1', () => {
          port = (server?.address() as { port: number }).port;
          resolve(`http://127.0.0.1:${port}`);
        });
      }),
    port: () => port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server) resolve();
        else server.close(() => resolve());
        server?.closeAllConnections();
      }),
  };
  return fake;
}

const OPENSEARCH_ROOT = { version: { distribution: 'opensearch', number: '2.19.6' } };
const ES_ROOT = { version: { number: '9.5.3', build_flavor: 'default' } };
const SEARCH_ANSWER = {
  took: 1,
  hits: {
    total: { value: 1, relation: 'eq' },
    hits: [
      {
        _index: 'searchsync.public.a.v1',
        _id: '1',
        _score: null,
        _source: { id: 1, [TIEBREAK_FIELD]: '1' },
        sort: ['x', '1'],
      },
    ],
  },
};
const REQUEST: SearchRequest = {
  indices: ['searchsync.public.a'],
  filters: [],
  sort: [{ field: 'name', order: 'asc' }],
  size: 10,
  trackTotalHitsUpTo: 100,
};

function sentSort(body: string): unknown {
  return (JSON.parse(body) as { sort: unknown }).sort;
}

describe('engine detection', () => {
  it('tells Elasticsearch by its header even when GET / is 405, and reads the version from _nodes', async () => {
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { status: 405, body: { error: 'Incorrect HTTP method' } };
      if (req.url.startsWith('/_nodes/_local'))
        return { body: { nodes: { n1: { version: '9.5.3' } } } };
      return undefined;
    }, 'Elasticsearch');
    const url = await fake.start();
    const engine = await createSearchEngine(url);
    await expect(engine.info()).resolves.toEqual({
      distribution: 'elasticsearch',
      version: '9.5.3',
    });
    await engine.close();
    await fake.stop();
  });

  it('says to set SEARCH_ENGINE when the server does not say what it is', async () => {
    const fake = fakeEngine((req) => (req.url === '/' ? { status: 405, body: {} } : undefined));
    const url = await fake.start();
    const failure = createSearchEngine(url);
    await expect(failure).rejects.toBeInstanceOf(SearchEngineRequestError);
    await expect(failure).rejects.toThrow(
      /set SEARCH_ENGINE=opensearch or SEARCH_ENGINE=elasticsearch/,
    );
    // With the engine named, GET / is not needed to tell them apart.
    const named = await createSearchEngine({ url, engine: 'opensearch' });
    // GET / is 405 and this fake has no _nodes either: a plain request error.
    await expect(named.info()).rejects.toBeInstanceOf(SearchEngineRequestError);
    await named.close();
    await fake.stop();
  });

  it('hints at the credentials when GET / is refused without a product header', async () => {
    const fake = fakeEngine(() => ({ status: 401, body: { error: 'unauthorized' } }));
    const url = await fake.start();
    await expect(createSearchEngine(url)).rejects.toThrow(/credentials refused: check SEARCH_AUTH/);
    await fake.stop();
  });

  it('never shows the URL credentials in errors', async () => {
    const failure = createSearchEngine('http://elastic:s3cret@127.0.0.1:1');
    await expect(failure).rejects.toBeInstanceOf(SearchEngineUnavailableError);
    const message = await failure.catch((error: Error) => error.message);
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('elastic:');
    expect(redactCredentials('at https://u:p%40ss@host:9200/x, Authorization: Basic dTpw')).toBe(
      'at https://***@host:9200/x, Authorization: ***',
    );
  });

  it('connects lazily, and tries again after a failed attempt', async () => {
    const fake = fakeEngine((req) => (req.url === '/' ? { body: OPENSEARCH_ROOT } : undefined));
    const url = await fake.start();
    const port = fake.port();
    await fake.stop();
    const engine = createLazySearchEngine(url);
    await expect(engine.info()).rejects.toBeInstanceOf(SearchEngineUnavailableError);
    await fake.start(port);
    await expect(engine.info()).resolves.toEqual({ distribution: 'opensearch', version: '2.19.6' });
    await engine.close();
    await fake.stop();
  });
});

describe('credentials and headers', () => {
  it('sends the URL user as basic auth, on the probe and on every request', async () => {
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { body: OPENSEARCH_ROOT };
      if (req.url.startsWith('/_cat/plugins')) return { body: [] };
      if (req.url.startsWith('/searchsync.public.a/_doc/1'))
        return { body: { found: true, _source: { id: 1, [TIEBREAK_FIELD]: '1' } } };
      return undefined;
    });
    const url = await fake.start();
    const engine = await createSearchEngine(url.replace('http://', 'http://ops:p%40ss@'));
    // The tie-break field of an older index's stored source is never handed out.
    await expect(engine.getDocument('searchsync.public.a', '1')).resolves.toEqual({ id: 1 });
    const basic = `Basic ${Buffer.from('ops:p@ss').toString('base64')}`;
    expect(fake.recorded.length).toBeGreaterThanOrEqual(3);
    expect(fake.recorded.every((r) => r.headers.authorization === basic)).toBe(true);
    await engine.close();
    await fake.stop();
  });

  it('talks to Elasticsearch with plain JSON media types (8.x and 9.x both serve them) and an API key', async () => {
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { body: ES_ROOT };
      if (req.url.startsWith('/_bulk')) return { body: { items: [{ delete: { status: 200 } }] } };
      if (req.url.includes('/_search')) return { body: SEARCH_ANSWER };
      return undefined;
    }, 'Elasticsearch');
    const url = await fake.start();
    const engine = await createSearchEngine({ url, auth: { type: 'api-key', apiKey: 'id1:key1' } });
    await engine.bulk([{ type: 'delete', index: 'a', id: '1', version: 1n }]);
    const page = await engine.searchPage(REQUEST);
    expect(page.hits[0].source).toEqual({ id: 1 });
    const [bulk] = fake.sent(/^POST \/_bulk/);
    expect(bulk.headers['content-type']).toBe('application/x-ndjson');
    expect(bulk.headers.accept).toBe('application/json');
    const [search] = fake.sent(/_search/);
    expect(search.headers['content-type']).toBe('application/json');
    expect(fake.recorded.every((r) => !String(r.headers.accept).includes('compatible-with'))).toBe(
      true,
    );
    const key = `ApiKey ${Buffer.from('id1:key1').toString('base64')}`;
    expect(fake.recorded.every((r) => r.headers.authorization === key)).toBe(true);
    // Elasticsearch is never asked for field mappings: the tie-break field is always sorted on.
    expect(sentSort(search.body)).toEqual([
      { name: { order: 'asc', missing: '_last', unmapped_type: 'keyword' } },
      { [TIEBREAK_FIELD]: { order: 'asc', unmapped_type: 'keyword' } },
    ]);
    await engine.close();
    await fake.stop();
  });
});

describe('tie-break on indices created before the field existed', () => {
  it('OpenSearch: sorts on _id for an alias whose index lacks the field, on the field once it has it', async () => {
    let hasField = false;
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { body: OPENSEARCH_ROOT };
      if (req.url.startsWith('/_cat/plugins')) return { body: [{ component: 'opensearch-knn' }] };
      if (req.url.includes('/_mapping/field/'))
        return {
          body: {
            'searchsync.public.a.v1': {
              mappings: hasField ? { [TIEBREAK_FIELD]: { full_name: TIEBREAK_FIELD } } : {},
            },
          },
        };
      if (req.url.includes('/_search')) return { body: SEARCH_ANSWER };
      return undefined;
    });
    const url = await fake.start();
    const engine = new OpenSearchEngine(url);
    await engine.searchPage(REQUEST);
    await engine.searchPage(REQUEST);
    const searches = fake.sent(/_search/);
    expect(searches.map((s) => (sentSort(s.body) as object[])[1])).toEqual([
      { _id: { order: 'asc' } },
      { _id: { order: 'asc' } },
    ]);
    // Asked once; the answer is kept for a while.
    expect(fake.sent(/_mapping\/field/)).toHaveLength(1);
    hasField = true;
    const later = new OpenSearchEngine(url);
    await later.searchPage(REQUEST);
    await later.searchPage(REQUEST);
    expect((sentSort(fake.sent(/_search/)[3].body) as object[])[1]).toEqual({
      [TIEBREAK_FIELD]: { order: 'asc', unmapped_type: 'keyword' },
    });
    expect(fake.sent(/_mapping\/field/)).toHaveLength(2);
    await engine.close();
    await later.close();
    await fake.stop();
  });

  it('Elasticsearch: an index without the field is an error that says to rebuild, not hits lost', async () => {
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { body: ES_ROOT };
      if (req.url.includes('/_search'))
        return {
          status: 400,
          body: {
            error: {
              root_cause: [
                {
                  type: 'illegal_argument_exception',
                  reason:
                    'Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled',
                },
              ],
            },
          },
        };
      if (req.url.includes('/_mapping/field/'))
        return { body: { 'searchsync.public.a.v1': { mappings: {} } } };
      return undefined;
    }, 'Elasticsearch');
    const url = await fake.start();
    const engine = new ElasticsearchEngine(url);
    const failure = engine.searchPage(REQUEST);
    await expect(failure).rejects.toMatchObject({ type: 'tiebreak_unavailable', retryable: false });
    await expect(failure).rejects.toThrow(/rebuild the table/);
    await engine.close();
    await fake.stop();
  });
});

describe('new indices carry what the engine needs', () => {
  it('OpenSearch with the k-NN plugin: index.knn; Elasticsearch 9.2+: vectors kept in _source', async () => {
    const bodies: Record<string, unknown> = {};
    for (const [root, product] of [
      [OPENSEARCH_ROOT, undefined],
      [ES_ROOT, 'Elasticsearch'],
    ] as const) {
      const fake = fakeEngine((req) => {
        if (req.url === '/') return { body: root };
        if (req.url.startsWith('/_cat/plugins')) return { body: [{ component: 'opensearch-knn' }] };
        if (req.method === 'HEAD') return { status: 404 };
        if (req.method === 'PUT') return { body: { acknowledged: true } };
        return undefined;
      }, product);
      const url = await fake.start();
      const engine = await createSearchEngine(url);
      await engine.ensureTableIndex(
        {
          schema: 'public',
          table: 'a',
          alias: 'searchsync.public.a',
          index: 'searchsync.public.a.v1',
        },
        { v: { type: 'knn_vector', dimension: 2 } },
      );
      bodies[root.version.number] = JSON.parse(fake.sent(/^PUT /)[0].body);
      await engine.close();
      await fake.stop();
    }
    expect(bodies['2.19.6']).toMatchObject({
      settings: { 'index.knn': true },
      mappings: {
        _source: { excludes: [TIEBREAK_FIELD, `${VECTOR_FIELD_PREFIX}*`] },
        properties: {
          v: { type: 'object', enabled: false },
          [vectorFieldOf('v')]: {
            type: 'knn_vector',
            dimension: 2,
            method: { engine: 'lucene', space_type: 'l2' },
          },
        },
      },
    });
    expect(bodies['9.5.3']).toMatchObject({
      settings: { 'index.mapping.exclude_source_vectors': false },
      mappings: {
        properties: {
          [vectorFieldOf('v')]: { type: 'dense_vector', dims: 2, similarity: 'l2_norm' },
        },
      },
    });
  });
});

describe('deleting every document of an index (a truncate during a rebuild)', () => {
  it('deletes in rounds, each document with its own version, without _delete_by_query', async () => {
    const stored = new Map([
      ['1', 7],
      ['2', 9],
      ['3', 11],
    ]);
    const fake = fakeEngine((req) => {
      if (req.url === '/') return { body: ES_ROOT };
      if (req.url.endsWith('/_refresh')) return { body: {} };
      if (req.url.endsWith('/_search')) {
        // Two a page: the second round finds the rest, the third none.
        const hits = [...stored.entries()]
          .slice(0, 2)
          .map(([id, version]) => ({ _id: id, _version: version }));
        return { body: { hits: { hits } } };
      }
      if (req.url === '/_bulk') {
        const lines = req.body.trim().split('\n');
        const items = lines.map((line) => {
          const meta = (JSON.parse(line) as { delete: { _id: string } }).delete;
          stored.delete(meta._id);
          return { delete: { status: 200, result: 'deleted' } };
        });
        return { body: { items } };
      }
      return undefined;
    }, 'Elasticsearch');
    const url = await fake.start();
    try {
      const engine = new ElasticsearchEngine(url);
      expect(await engine.deleteAllDocuments('searchsync.public.t.v2')).toBe(3);
      expect(stored.size).toBe(0);
      expect(fake.sent(/_delete_by_query/)).toEqual([]);
      const deletes = fake.sent(/_bulk/).flatMap((r) => r.body.trim().split('\n'));
      expect(deletes[0]).toContain('"_id":"1","version":7,"version_type":"external_gte"');
      expect(deletes).toHaveLength(3);
      // A refresh before each search: deleted documents must leave the next page.
      expect(fake.sent(/_refresh/)).toHaveLength(3);
    } finally {
      await fake.stop();
    }
  });
});

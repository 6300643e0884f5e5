import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { OpenSearchEngine } from './opensearch-engine';
import {
  SearchEngineClientError,
  SearchEngineNotFoundError,
  SearchEngineUnavailableError,
} from './search-engine.errors';

/** Stands in for OpenSearch at the HTTP level, recording what the adapter sent. */
interface Recorded {
  method: string;
  url: string;
  body: string;
}

function fakeOpenSearch(handler: (req: Recorded) => { status?: number; body: unknown }) {
  const recorded: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', body };
      recorded.push(entry);
      const answer = handler(entry);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(fake.rawBody ?? JSON.stringify(answer.body));
    });
  });
  const fake = {
    /** Sent as is instead of the handler's body (an answer that is not JSON). */
    rawBody: undefined as string | undefined,
    recorded,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
        }),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

describe('OpenSearchEngine.deleteTableIndices', () => {
  let deletedOnce = false;
  const server = fakeOpenSearch((req) => {
    if (req.method === 'GET' && req.url.startsWith('/_alias/searchsync.public.gone'))
      return {
        body: {
          'searchsync.public.gone.v1': { aliases: { 'searchsync.public.gone': {} } },
          'searchsync.public.gone.v2': { aliases: { 'searchsync.public.gone': {} } },
        },
      };
    if (req.method === 'DELETE' && req.url.startsWith('/searchsync.public.gone.v1,searchsync')) {
      if (deletedOnce)
        return { status: 404, body: { error: { type: 'index_not_found_exception' }, status: 404 } };
      deletedOnce = true;
      return { body: { acknowledged: true } };
    }
    if (req.url.startsWith('/_alias/busy'))
      return { status: 503, body: { error: { type: 'unavailable', reason: 'busy' } } };
    return { status: 404, body: { error: 'alias [x] missing', status: 404 } };
  });
  let engine: OpenSearchEngine;

  beforeAll(async () => {
    engine = new OpenSearchEngine(await server.start());
  });

  afterAll(async () => {
    await engine.close();
    await server.stop();
  });

  it('deletes every index behind the alias in one call and counts them', async () => {
    await expect(engine.deleteTableIndices('searchsync.public.gone')).resolves.toBe(2);
    expect(server.recorded.filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('answers 0 for an absent alias, and for indices deleted meanwhile', async () => {
    await expect(engine.deleteTableIndices('searchsync.public.never')).resolves.toBe(0);
    await expect(engine.deleteTableIndices('searchsync.public.gone')).resolves.toBe(0);
  });

  it('fails on other engine errors', async () => {
    await expect(engine.deleteTableIndices('busy')).rejects.toBeInstanceOf(
      SearchEngineUnavailableError,
    );
  });
});

describe('OpenSearchEngine.setTableMeta', () => {
  const server = fakeOpenSearch((req) => {
    if (req.method === 'GET' && req.url.startsWith('/searchsync.public.orders/_mapping'))
      return {
        body: {
          'searchsync.public.orders.v1': {
            mappings: {
              _meta: { searchsync: { schema: 'public', table: 'orders', a: 1 }, owner: 'ops' },
              properties: { id: { type: 'long' } },
            },
          },
          'searchsync.public.orders.v2': { mappings: { properties: {} } },
        },
      };
    if (req.method !== 'GET' && /^\/searchsync\.public\.orders\.v[12]\/_mapping/.test(req.url))
      return { body: { acknowledged: true } };
    return {
      status: 404,
      body: {
        error: { type: 'index_not_found_exception', reason: 'no such index [x]' },
        status: 404,
      },
    };
  });
  let engine: OpenSearchEngine;

  beforeAll(async () => {
    engine = new OpenSearchEngine(await server.start());
  });

  afterAll(async () => {
    await engine.close();
    await server.stop();
  });

  it('puts the merged _meta on every index behind the alias, other keys kept', async () => {
    await engine.setTableMeta('searchsync.public.orders', { a: 2, b: true });
    // The client sends the put-mapping call as a POST.
    const puts = server.recorded.filter((r) => r.url.includes('.v') && r.method !== 'GET');
    expect(puts.map((r) => r.url.split('?')[0])).toEqual([
      '/searchsync.public.orders.v1/_mapping',
      '/searchsync.public.orders.v2/_mapping',
    ]);
    expect(JSON.parse(puts[0].body)).toEqual({
      _meta: { owner: 'ops', searchsync: { schema: 'public', table: 'orders', a: 2, b: true } },
    });
    expect(JSON.parse(puts[1].body)).toEqual({ _meta: { searchsync: { a: 2, b: true } } });
  });

  it('fails with a typed not-found error for a missing alias', async () => {
    const missing = engine.setTableMeta('searchsync.public.none', { a: 1 });
    await expect(missing).rejects.toBeInstanceOf(SearchEngineNotFoundError);
    await expect(missing).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('OpenSearchEngine failures without an engine answer', () => {
  const server = fakeOpenSearch((req) => {
    if (req.url.startsWith('/searchsync.public.gone/_doc/'))
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
    if (req.url.startsWith('/searchsync.public.here/_doc/'))
      return { status: 404, body: { _index: 'searchsync.public.here.v1', found: false } };
    return { body: 'not json' };
  });
  let engine: OpenSearchEngine;

  beforeAll(async () => {
    engine = new OpenSearchEngine(await server.start());
  });

  afterAll(async () => {
    await engine.close();
    await server.stop();
  });

  it('gives a client failure its own retryable type', async () => {
    // An answer the client cannot parse: no engine status or error type to go by.
    server.rawBody = '{"version": ';
    const failure = engine.info();
    await expect(failure).rejects.toBeInstanceOf(SearchEngineClientError);
    await expect(failure).rejects.toMatchObject({ type: 'client_error', retryable: true });
    server.rawBody = undefined;
  });

  it('answers null for a missing document, and throws for a missing index when asked', async () => {
    await expect(
      engine.getDocument('searchsync.public.here', '1', { requireIndex: true }),
    ).resolves.toBeNull();
    await expect(engine.getDocument('searchsync.public.gone', '1')).resolves.toBeNull();
    await expect(
      engine.getDocument('searchsync.public.gone', '1', { requireIndex: true }),
    ).rejects.toBeInstanceOf(SearchEngineNotFoundError);
  });
});

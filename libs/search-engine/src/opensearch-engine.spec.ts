import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { OpenSearchEngine } from './opensearch-engine';
import { SearchEngineUnavailableError } from './search-engine.errors';

/** Stands in for OpenSearch at the HTTP level, recording what the adapter sent. */
interface Recorded {
  method: string;
  url: string;
}

function fakeOpenSearch(handler: (req: Recorded) => { status?: number; body: unknown }) {
  const recorded: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '' };
      recorded.push(entry);
      const answer = handler(entry);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  return {
    recorded,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
        }),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
    if (req.method === 'DELETE' && req.url.startsWith('/searchsync.public.gone.v1%2Csearchsync')) {
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

import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { OpenSearchEngine } from '@searchsync/search-engine';
import type { Client } from 'pg';
import { JsonLogger } from '../../apps/api/src/json-logger';
import { startApi, stackApi, waitForDocuments, type InProcessApi } from './support/api-client';
import { database, uniqueTable } from './support/stack';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const READER = 'reader-secret-0123456789';
const ADMIN = 'admin-secret-0123456789';

function expectContract(response: { status: number; body: unknown }, status: number) {
  expect(response.status).toBe(status);
  expect(response.body).toEqual({
    statusCode: status,
    error: expect.any(String),
    message: expect.any(String),
  });
}

describe('API keys, limits and production basics', () => {
  let db: Client;
  let api: InProcessApi;
  const table = uniqueTable('api_secure');

  beforeAll(async () => {
    db = await database();
    await db.query(`create table ${table} (id int primary key, label text)`);
    await db.query(`insert into ${table} values (1, 'guarded walrus'), (2, 'open walrus')`);
    api = await startApi({
      API_KEYS: `reader:${sha256(READER)}:${table};admin:${sha256(ADMIN)}:*`,
      API_RATE_LIMIT: '0',
    });
    await waitForDocuments(table, 2);
  });

  afterAll(async () => {
    await api.close();
    await db.end();
  });

  it('answers 401 without a key or with a wrong one', async () => {
    const none = await api.call(`/v1/tables/${table}/search`);
    expectContract(none, 401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expectContract(
      await api.call(`/v1/tables/${table}/search`, { headers: { authorization: 'Bearer wrong' } }),
      401,
    );
    expectContract(await api.call('/v1/tables', { headers: { 'x-api-key': `${READER}x` } }), 401);
    expectContract(
      await api.call('/v1/tables', { headers: { authorization: `Basic ${READER}` } }),
      401,
    );
    expectContract(await api.call('/v1/search?q=walrus'), 401);
  });

  it('lets a key read its tables only (403 elsewhere, existing or not)', async () => {
    const bearer = { authorization: `Bearer ${READER}` };
    const ok = await api.call<{ total: number }>(`/v1/tables/${table}/search?q=walrus`, {
      headers: bearer,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.total).toBe(2);
    const viaHeader = await api.call(`/v1/tables/public.${table}/documents/1`, {
      headers: { 'x-api-key': READER },
    });
    expect(viaHeader.status).toBe(200);
    expectContract(await api.call('/v1/tables/products/search', { headers: bearer }), 403);
    expectContract(await api.call('/v1/tables/products/documents/1', { headers: bearer }), 403);
    expectContract(await api.call('/v1/tables/never_existed/search', { headers: bearer }), 403);
    expectContract(
      await api.call('/v1/search?q=espresso&tables=products', { headers: bearer }),
      403,
    );
    const listed = await api.call<{ table: string }[]>('/v1/tables', { headers: bearer });
    expect(listed.body.map((t) => t.table)).toEqual([table]);
    const across = await api.call<{ hits: { table: string }[] }>(
      '/v1/search?q=walrus%20%7C%20espresso',
      { headers: bearer },
    );
    expect(new Set(across.body.hits.map((h) => h.table))).toEqual(new Set([table]));
    const admin = await api.call<{ table: string }[]>('/v1/tables', {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(admin.body.map((t) => t.table)).toEqual(expect.arrayContaining([table, 'products']));
  });

  it('keeps /health and /metrics open', async () => {
    expect((await api.call('/health')).status).toBe(200);
    expect((await api.call('/metrics')).status).toBe(200);
  });

  it('without keys serves on loopback only and says so', async () => {
    const lines: string[] = [];
    const write = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    let open: InProcessApi | undefined;
    try {
      open = await startApi(
        { API_HOST: '0.0.0.0', API_KEYS: '' },
        { logger: new JsonLogger('warn') },
      );
    } finally {
      write.mockRestore();
    }
    expect(open.host).toBe('127.0.0.1');
    expect(lines.join('')).toMatch(
      /API_KEYS is empty: serving on 127\.0\.0\.1 only instead of 0\.0\.0\.0/,
    );
    expect((await open.call(`/v1/tables/${table}/documents/1`)).status).toBe(200);
    await open.close();
  });

  it('rate-limits per client with 429 and Retry-After', async () => {
    const limited = await startApi({ API_RATE_LIMIT: '3', API_RATE_LIMIT_WINDOW_MS: '60000' });
    try {
      for (let i = 0; i < 3; i++) expect((await limited.call('/v1/tables')).status).toBe(200);
      const refused = await limited.call('/v1/tables');
      expectContract(refused, 429);
      expect(refused.headers.get('retry-after')).toBeTruthy();
      expect((await limited.call('/health')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('maps an unreachable engine to 503 with Retry-After and a silent one to 504', async () => {
    const down = await startApi(
      {},
      { logger: false, engine: new OpenSearchEngine('http://127.0.0.1:1') },
    );
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const slow = await startApi(
      {},
      {
        logger: false,
        engine: new OpenSearchEngine(`http://127.0.0.1:${port}`, { requestTimeoutMs: 300 }),
      },
    );
    try {
      const unreachable = await down.call(`/v1/tables/${table}/search`);
      expectContract(unreachable, 503);
      expect(unreachable.headers.get('retry-after')).toBe('5');
      expectContract(await down.call('/health'), 503);
      expectContract(await slow.call(`/v1/tables/${table}/search`), 504);
    } finally {
      await down.close();
      await slow.close();
      silent.close();
    }
  });

  it('limits the body size and sets request ids, security headers and metrics', async () => {
    const big = await stackApi(`/v1/tables/${table}/search`, {
      raw: JSON.stringify({ q: 'x'.repeat(70_000) }),
    });
    expectContract(big, 413);
    const tagged = await stackApi('/v1/tables', { headers: { 'x-request-id': 'test-req-42' } });
    expect(tagged.headers.get('x-request-id')).toBe('test-req-42');
    expect(tagged.headers.get('x-content-type-options')).toBe('nosniff');
    expect(tagged.headers.get('x-powered-by')).toBeNull();
    const generated = await stackApi('/v1/tables', {
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await stackApi<string>('/metrics');
    expect(metrics.body).toMatch(
      /searchsync_api_request_duration_seconds_bucket\{[^}]*route="\/v1\/tables"[^}]*status="200"/,
    );
  });

  it('publishes OpenAPI for every route with request and response schemas', async () => {
    const doc = await stackApi<{
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<string, { content?: unknown }>;
            requestBody?: unknown;
            parameters?: unknown[];
          }
        >
      >;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    }>('/docs-json');
    expect(doc.status).toBe(200);
    const routes: [string, string][] = [
      ['/v1/tables', 'get'],
      ['/v1/tables/{table}/documents/{id}', 'get'],
      ['/v1/tables/{table}/search', 'get'],
      ['/v1/tables/{table}/search', 'post'],
      ['/v1/search', 'get'],
      ['/health', 'get'],
    ];
    for (const [path, method] of routes) {
      const operation = doc.body.paths[path]?.[method];
      expect(operation).toBeDefined();
      expect(operation.responses['200'].content).toBeDefined();
    }
    expect(doc.body.paths['/v1/tables/{table}/search'].post.requestBody).toBeDefined();
    expect(doc.body.paths['/v1/tables/{table}/search'].get.responses['400'].content).toBeDefined();
    expect(doc.body.paths['/v1/tables/{table}/documents/{id}'].get.responses['404']).toBeDefined();
    expect(Object.keys(doc.body.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
    for (const schema of [
      'SearchRequestDto',
      'SearchResponseDto',
      'ErrorDto',
      'TableDto',
      'DocumentDto',
      'AggregationDto',
      'FilterDto',
    ]) {
      expect(doc.body.components.schemas[schema]).toBeDefined();
    }
    const docs = await stackApi<string>('/docs');
    expect(docs.status).toBe(200);
  });
});

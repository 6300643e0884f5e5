import fc from 'fast-check';
import type { Client } from 'pg';
import {
  createCatalogTable,
  startApi,
  waitForDocuments,
  type InProcessApi,
} from './support/api-client';
import { database, uniqueTable } from './support/stack';

const RUNS = Number(process.env.API_HOSTILE_RUNS ?? 2500);

/** encodeURIComponent, with lone surrogates (which it refuses) replaced. */
const enc = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));

/**
 * Property: whatever a client sends — malformed, hostile or just odd — the API never answers
 * 5xx, and every error has exactly the contract shape.
 */
describe('hostile and malformed requests (property-based)', () => {
  let db: Client;
  let api: InProcessApi;
  const table = uniqueTable('api_hostile');
  let validCursor = '';
  let sent = 0;
  /** 400s the engine gave rather than our validation: each is a gap in the validation. */
  const engineRejections: string[] = [];
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    db = await database();
    await createCatalogTable(db, table);
    api = await startApi({ API_RATE_LIMIT: '0' });
    await waitForDocuments(table, 60);
    const page = await api.call<{ nextCursor: string }>(`/v1/tables/${table}/search?size=2`);
    validCursor = page.body.nextCursor;
  });

  afterAll(async () => {
    await api.close();
    await db.end();
  });

  const knownFields = [
    'id',
    'name',
    'category',
    'price',
    'qty',
    'big',
    'rating',
    'active',
    'born',
    'updated',
    'tags',
    'attrs',
    'attrs.k',
  ];
  const nastyStrings = [
    '*',
    '_all',
    'products,products',
    '-products',
    'remote:products',
    'cluster:*',
    '..',
    '.kibana',
    '%2e%2e',
    'searchsync.public.products',
    'searchsync.*',
    'products/_search',
    '_search',
    '__proto__',
    'constructor',
    '_id',
    '_source',
    '_score',
    '_index',
    "' OR 1=1 --",
    '{"query":{"match_all":{}}}',
    '/.*/',
    '*espresso',
    '?spresso',
    'espresso~2',
    '"unclosed',
    '(((',
    ')',
    '\\',
    '\u0000',
    '\ud800',
    '😀',
    'a'.repeat(5000),
    '1e309',
    'NaN',
    'Infinity',
    '-0',
    '9223372036854775808',
    '2024-13-45',
    '2024-02-30T25:61:00Z',
    'now-1d',
    // Timestamp edges: BC, expanded years, microseconds, offsets, the engine's year limit.
    '-0043-03-15T10:11:12.654321',
    '+12345-06-07T00:00:00Z',
    '+999999-12-31T23:59:59.999999',
    '-999999-01-01',
    '+1000000000-01-01',
    '2024-01-02T03:04:05.1234567',
    '1969-12-31T23:59:59.999999+14:00',
    '2024-01-02T03:04:05.123456-99:99',
    'infinity',
    '-infinity',
    'true',
    'null',
    '',
    ' ',
    ',',
    ':',
    '::',
    'name:eq',
    'price:gt:',
    'price:in:,,,',
  ];
  const str = fc.oneof(
    fc.constantFrom(...nastyStrings),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
  );
  const field = fc.oneof(fc.constantFrom(...knownFields), str);
  const op = fc.oneof(
    fc.constantFrom(
      'eq',
      'ne',
      'in',
      'gt',
      'gte',
      'lt',
      'lte',
      'exists',
      'prefix',
      'regexp',
      'script',
      'wildcard',
      'match',
    ),
    str,
  );
  const scalar = fc.oneof(
    str,
    fc.double(),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => Number(b)),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }));
  const table$ = fc.oneof(
    { weight: 3, arbitrary: fc.constant(table) },
    fc.constant('products'),
    str,
  );
  const size = fc.oneof(fc.integer({ min: -5, max: 2000 }), str, fc.double());
  const cursor = fc.oneof(
    str,
    fc.constant(validCursor),
    fc
      .nat({ max: 200 })
      .map((i) => (validCursor ? `${validCursor.slice(0, i)}x${validCursor.slice(i + 1)}` : 'x')),
    fc.base64String({ maxLength: 80 }).map((s) => `${s}.${s}`),
  );
  const aggregation = fc.record(
    {
      name: fc.oneof(fc.constantFrom('a', 'b', '__proto__'), str),
      type: fc.oneof(
        fc.constantFrom(
          'terms',
          'range',
          'histogram',
          'date_histogram',
          'stats',
          'cardinality',
          'scripted_metric',
        ),
        str,
      ),
      field,
      size: fc.oneof(fc.integer({ min: -10, max: 100_000 }), str),
      interval: fc.oneof(
        fc.double({ min: -10, max: 1e6 }),
        fc.constantFrom(
          1e-9,
          0.001,
          0,
          'minute',
          'day',
          'month',
          '1ms',
          '1s',
          '999999d',
          '1 year',
          'P1D',
        ),
        str,
      ),
      ranges: fc.array(fc.record({ key: str, from: scalar, to: scalar }, { requiredKeys: [] }), {
        maxLength: 4,
      }),
    },
    { requiredKeys: ['name', 'type'] },
  );
  // Nearly valid: known fields, real operators and aggregation types, hostile values — these get
  // past the first checks and probe what reaches the engine.
  const validOp = fc.constantFrom('eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'exists', 'prefix');
  const nearlyValid = fc.record(
    {
      q: str,
      filters: fc.array(fc.record({ field: fc.constantFrom(...knownFields), op: validOp, value }), {
        maxLength: 3,
      }),
      sort: fc.array(
        fc.record({
          field: fc.constantFrom(...knownFields, '_score'),
          order: fc.constantFrom('asc', 'desc'),
        }),
        { maxLength: 3 },
      ),
      size: fc.integer({ min: 1, max: 1000 }),
      cursor,
      fields: fc.array(fc.constantFrom(...knownFields, 'attrs.k.z', 'nope'), { maxLength: 3 }),
      highlight: fc.boolean(),
      aggregations: fc.array(
        fc.record(
          {
            name: fc.constantFrom('a', 'b', 'c'),
            type: fc.constantFrom(
              'terms',
              'range',
              'histogram',
              'date_histogram',
              'stats',
              'cardinality',
            ),
            field: fc.constantFrom(...knownFields),
            size: fc.integer({ min: 1, max: 1000 }),
            interval: fc.oneof(
              fc.constantFrom(
                1e-9,
                0.001,
                1,
                1e15,
                'minute',
                'day',
                'month',
                '1ms',
                '1s',
                '999999d',
                '1m',
              ),
              fc.double({ min: 1e-12, max: 1e16, noNaN: true }),
            ),
            ranges: fc.array(
              fc.record({ key: str, from: scalar, to: scalar }, { requiredKeys: [] }),
              {
                minLength: 1,
                maxLength: 3,
              },
            ),
          },
          { requiredKeys: ['name', 'type', 'field'] },
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    nearlyValid,
    fc.record(
      {
        q: fc.oneof(str, fc.jsonValue({ maxDepth: 1 })),
        filters: fc.array(fc.record({ field, op, value }, { requiredKeys: [] }), { maxLength: 4 }),
        sort: fc.array(
          fc.record(
            {
              field: fc.oneof(field, fc.constant('_score')),
              order: fc.oneof(fc.constantFrom('asc', 'desc'), str),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 3 },
        ),
        size,
        cursor,
        fields: fc.oneof(fc.array(field, { maxLength: 4 }), str),
        highlight: fc.oneof(
          fc.boolean(),
          fc.record({ fields: fc.array(field, { maxLength: 3 }) }),
          str,
        ),
        aggregations: fc.array(aggregation, { maxLength: 3 }),
        query: fc.constant({ script: { source: 'Thread.sleep(1)' } }),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const getParams = fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('q', 'filter', 'sort', 'size', 'cursor', 'fields', 'highlight', 'tables'),
        str,
      ),
      fc.oneof(
        str,
        fc.tuple(field, op, str).map(([f, o, v]) => `${f}:${o}:${v}`),
        fc.tuple(field, fc.constantFrom('asc', 'desc', 'up')).map(([f, o]) => `${f}:${o}`),
        size.map(String),
        cursor,
      ),
    ),
    { maxLength: 5 },
  );
  const qs = (params: [string, string][]) =>
    params.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');

  const request = fc.oneof(
    fc.tuple(table$, getParams).map(([t, p]) => ({ path: `/v1/tables/${enc(t)}/search?${qs(p)}` })),
    fc.tuple(table$, body).map(([t, b]) => ({ path: `/v1/tables/${enc(t)}/search`, body: b })),
    fc.tuple(table$, str).map(([t, raw]) => ({ path: `/v1/tables/${enc(t)}/search`, raw })),
    fc
      .tuple(
        table$,
        fc.oneof(
          str,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
      )
      .map(([t, id]) => ({
        path: `/v1/tables/${enc(t)}/documents/${enc(id)}`,
      })),
    getParams.map((p) => ({ path: `/v1/search?${qs(p)}` })),
    fc.tuple(fc.array(table$, { maxLength: 3 }), str).map(([ts, q]) => ({
      path: `/v1/search?${qs([
        ['tables', ts.join(',')],
        ['q', q],
      ])}`,
    })),
    fc.tuple(str, str).map(([a, b]) => ({
      path: `/v1/${enc(a)}/${enc(b)}?${enc(a)}[x]=1`,
    })),
  );

  it(`answers ${RUNS} generated requests with no 5xx and the error contract`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const response = await api.call(req.path, {
          body: 'body' in req ? req.body : undefined,
          raw: 'raw' in req ? req.raw : undefined,
        });
        sent += 1;
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500)
          throw new Error(
            `${response.status} for ${JSON.stringify(req).slice(0, 500)}: ${JSON.stringify(response.body)}`,
          );
        if (response.status >= 400) {
          const errorBody = response.body;
          expect(Object.keys(errorBody).sort()).toEqual(['error', 'message', 'statusCode']);
          expect(errorBody.statusCode).toBe(response.status);
          expect(typeof errorBody.error).toBe('string');
          expect(typeof errorBody.message).toBe('string');
          if (errorBody.message === 'the search engine rejected the query')
            engineRejections.push(JSON.stringify(req).slice(0, 300));
        }
      }),
      { numRuns: RUNS },
    );
    expect(sent).toBeGreaterThanOrEqual(2000);
    // Some requests must get through, or the generators test nothing but the first check.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
    console.log(`hostile requests by status: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(engineRejections.slice(0, 5)).toEqual([]);
  });
});

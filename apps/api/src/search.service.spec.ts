import 'reflect-metadata';
import { parseSearchsyncConfig, type ApiConfig } from '@searchsync/config';
import {
  vectorFieldOf,
  type MappedField,
  type PageHit,
  type SearchEngine,
  type SearchPage,
  type SearchRequest,
} from '@searchsync/search-engine';
import { InvalidCursorError, InvalidQueryError } from './api.errors';
import { ANONYMOUS } from './api-keys';
import type { ReadYourWritesService } from './read-your-writes.service';
import { SearchController } from './search.controller';
import { parseSearchBody } from './search-query';
import { crossTableTextFields, fieldSummary, SearchService } from './search.service';
import { catalogTable, type TableCatalogService } from './table-catalog.service';

const config = parseSearchsyncConfig([
  {
    file: 'test.yaml',
    text: `
tables:
  public.staff:
    exclude: [notes]
  public.orders:
    include: [id, title]
`,
  },
]);

const text = (name: string): MappedField => ({
  name,
  type: 'text',
  subFields: { keyword: 'keyword' },
});

const table = (name: string, fields: MappedField[]) =>
  catalogTable(
    {
      schema: 'public',
      table: name,
      alias: `searchsync.public.${name}`,
      index: `searchsync.public.${name}.v1`,
      fields,
      meta: { schema: 'public', table: name },
    },
    config,
  );

describe('crossTableTextFields', () => {
  it('leaves out a field any searched table hides, so its values decide no hit', () => {
    const staff = table('staff', [text('name'), text('notes')]);
    const film = table('film', [text('title'), text('notes')]);
    expect(crossTableTextFields([staff, film])).toEqual(['name', 'title']);
    expect(crossTableTextFields([film])).toEqual(['title', 'notes']);
  });

  it('is not narrowed by fields a table with include does not have', () => {
    // orders lists only id and title; film's description is no field of orders at all.
    const orders = table('orders', [text('title'), text('comment')]);
    const film = table('film', [text('title'), text('description')]);
    expect(crossTableTextFields([orders, film])).toEqual(['title', 'description']);
  });
});

describe('SearchService with knn', () => {
  const embedding: MappedField = {
    name: 'embedding',
    type: 'vector',
    subFields: {},
    vector: { dims: 3, similarity: 'cosine', field: vectorFieldOf('embedding') },
  };
  const products = table('products', [
    text('name'),
    { name: 'price', type: 'double', subFields: {} },
    { name: 'in_stock', type: 'boolean', subFields: {} },
    embedding,
  ]);
  const hit = (id: string, score: number): PageHit => ({
    id,
    score,
    source: { id: Number(id), name: `product ${id}`, embedding: [1, 0, 0] },
    index: products.alias,
    sort: [score, id],
  });

  function service(hits: PageHit[] = []) {
    const requests: SearchRequest[] = [];
    const engine = {
      searchPage: jest.fn((request: SearchRequest): Promise<SearchPage> => {
        requests.push(request);
        return Promise.resolve({
          total: hits.length,
          totalRelation: 'eq',
          tookMs: 1,
          timedOut: false,
          hits: hits.slice(0, request.size),
          ...(request.aggregations ? { aggregations: { p: { value: 2 } } } : {}),
        });
      }),
      listTables: jest.fn(() =>
        Promise.resolve([
          {
            schema: 'public',
            table: 'products',
            alias: products.alias,
            documents: 2,
            fields: products.fields.map(({ name, type }) => ({ name, type })),
          },
        ]),
      ),
    };
    const catalog = {
      resolve: () => Promise.resolve(products),
      all: () => Promise.resolve([products]),
      visibility: () => () => true,
    };
    const config = {
      API_CURSOR_SECRET: 'x'.repeat(32),
      SEARCHSYNC_INDEX_PREFIX: 'searchsync',
      API_TRACK_TOTAL_HITS: 10_000,
      API_REQUEST_TIMEOUT_MS: 10_000,
    } as ApiConfig;
    const search = new SearchService(
      config,
      engine as unknown as SearchEngine,
      catalog as unknown as TableCatalogService,
      {} as ReadYourWritesService,
    );
    return { search, requests, engine };
  }
  const vector = [0.5, -0.25, 1];

  it('asks the engine for the k nearest on the vector copy, filtered by both lists, by score', async () => {
    const { search, requests } = service([hit('1', 0.9), hit('2', 0.8)]);
    const view = await search.search(
      ANONYMOUS,
      'products',
      parseSearchBody({
        knn: {
          field: 'embedding',
          vector,
          k: 5,
          filters: [{ field: 'in_stock', op: 'eq', value: true }],
        },
        filters: [{ field: 'price', op: 'lt', value: 100 }],
        fields: ['name', 'embedding'],
      }),
    );
    expect(requests).toHaveLength(1);
    const request = requests[0];
    expect(request.knn).toEqual({
      field: vectorFieldOf('embedding'),
      vector,
      k: 5,
      numCandidates: 100,
    });
    expect(request.text).toBeUndefined();
    expect(request.filters).toEqual([
      { kind: 'range', field: 'price', lt: 100 },
      { kind: 'term', field: 'in_stock', value: true, negate: false },
    ]);
    expect(request.sort).toEqual([{ field: '_score', order: 'desc' }]);
    // size defaults to k; one more hit tells whether another page exists.
    expect(request.size).toBe(6);
    expect(request.source).toEqual(['name', 'embedding']);
    expect(view.hits.map((h) => [h.id, h.score])).toEqual([
      ['1', 0.9],
      ['2', 0.8],
    ]);
    expect(view.nextCursor).toBeNull();
  });

  it('sends q and knn together for a hybrid query, highlighting the text part', async () => {
    const { search, requests } = service();
    await search.search(
      ANONYMOUS,
      'products',
      parseSearchBody({ q: 'espresso', knn: { field: 'embedding', vector }, highlight: true }),
    );
    expect(requests[0]).toMatchObject({
      text: { query: 'espresso', fields: ['name'] },
      knn: { field: vectorFieldOf('embedding'), vector, k: 10, numCandidates: 100 },
      sort: [{ field: '_score', order: 'desc' }],
      highlight: { fields: ['name'] },
      size: 11,
    });
  });

  it('pages the nearest by score and id with a cursor that belongs to that vector only', async () => {
    const hits = [hit('1', 0.9), hit('2', 0.8), hit('3', 0.7)];
    const { search, requests } = service(hits);
    const body = { knn: { field: 'embedding', vector, k: 3 }, size: 2 };
    const first = await search.search(ANONYMOUS, 'products', parseSearchBody(body));
    expect(first.hits.map((h) => h.id)).toEqual(['1', '2']);
    expect(first.nextCursor).toEqual(expect.any(String));
    await search.search(
      ANONYMOUS,
      'products',
      parseSearchBody({ ...body, cursor: first.nextCursor }),
    );
    expect(requests[1].searchAfter).toEqual([0.8, '2']);
    expect(requests[1].knn).toEqual(requests[0].knn);
    await expect(
      search.search(
        ANONYMOUS,
        'products',
        parseSearchBody({
          knn: { field: 'embedding', vector: [1, 1, 1], k: 3 },
          size: 2,
          cursor: first.nextCursor,
        }),
      ),
    ).rejects.toThrow(InvalidCursorError);
  });

  it('answers size 0 with aggregations over the k nearest: no hits, no cursor', async () => {
    const { search, requests } = service([hit('1', 0.9)]);
    const view = await search.search(
      ANONYMOUS,
      'products',
      parseSearchBody({
        size: 0,
        knn: { field: 'embedding', vector, k: 50 },
        aggregations: [{ name: 'p', type: 'cardinality', field: 'price' }],
      }),
    );
    expect(requests[0]).toMatchObject({
      size: 0,
      knn: { k: 50, numCandidates: 500 },
      aggregations: [{ name: 'p', type: 'cardinality', field: 'price' }],
    });
    expect(view.hits).toEqual([]);
    expect(view.nextCursor).toBeNull();
    expect(view.aggregations).toEqual({ p: { value: 2 } });
  });

  it('refuses an invalid knn before asking the engine', async () => {
    const { search, engine } = service();
    await expect(
      search.search(
        ANONYMOUS,
        'products',
        parseSearchBody({ knn: { field: 'embedding', vector: [1, 2] } }),
      ),
    ).rejects.toThrow('knn.vector: 2 numbers given, embedding has 3 dimensions');
    await expect(
      search.search(
        ANONYMOUS,
        'products',
        parseSearchBody({ filters: [{ field: 'embedding', op: 'exists' }] }),
      ),
    ).rejects.toThrow(/is a vector column/);
    expect(engine.searchPage).not.toHaveBeenCalled();
  });

  it('lists a vector column in GET /v1/tables as type vector with dims and similarity', async () => {
    const { search } = service();
    const [summary] = await search.listTables(ANONYMOUS);
    expect(summary.fields).toEqual([
      { name: 'name', type: 'text' },
      { name: 'price', type: 'double' },
      { name: 'in_stock', type: 'boolean' },
      { name: 'embedding', type: 'vector', dims: 3, similarity: 'cosine' },
    ]);
  });

  it('lists a vector column the catalogue does not know yet as type vector, without dims', () => {
    expect(fieldSummary({ name: 'embedding', type: 'vector' }, undefined)).toEqual({
      name: 'embedding',
      type: 'vector',
    });
    expect(fieldSummary({ name: 'embedding', type: 'vector' }, new Map())).toEqual({
      name: 'embedding',
      type: 'vector',
    });
    expect(fieldSummary({ name: 'price', type: 'double' }, undefined)).toEqual({
      name: 'price',
      type: 'double',
    });
  });

  it('refuses knn in cross-table search, pointing to the table search', () => {
    const controller = new SearchController(service().search);
    expect(() => controller.across(ANONYMOUS, { q: 'x', knn: '[1,2,3]' })).toThrow(
      InvalidQueryError,
    );
    expect(() => controller.across(ANONYMOUS, { knn: '[1,2,3]' })).toThrow(
      /^knn: cross-table search takes no knn .*POST \/v1\/tables\/\{table\}\/search$/,
    );
  });
});

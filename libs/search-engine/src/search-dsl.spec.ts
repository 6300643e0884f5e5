import { TIEBREAK_FIELD } from './engine-dialect';
import { searchTarget } from './engine-common';
import {
  buildSearchBody,
  mappedFields,
  parseSearchResponse,
  SIMPLE_QUERY_FLAGS,
  type RawSearchResponse,
} from './search-dsl';
import type { EngineAggregation, SearchRequest } from './search-engine';

const base: SearchRequest = {
  indices: ['searchsync.public.products'],
  filters: [],
  sort: [],
  size: 21,
  trackTotalHitsUpTo: 10_000,
};

describe('buildSearchBody', () => {
  it('matches all, sorted by id, when nothing is asked', () => {
    expect(buildSearchBody(base, { idField: '_id' })).toEqual({
      query: { match_all: {} },
      sort: [{ _id: { order: 'asc' } }],
      size: 21,
      track_total_hits: 10_000,
      track_scores: true,
    });
  });

  it('puts q in simple_query_string with the allowlisted flags only, filters in bool', () => {
    const body = buildSearchBody(
      {
        ...base,
        text: { query: 'espresso -decaf', fields: ['name', 'tags'] },
        filters: [
          { kind: 'term', field: 'category.keyword', value: 'coffee', negate: false },
          { kind: 'term', field: 'qty', value: 3, negate: true },
          { kind: 'terms', field: 'qty', values: [1, 2] },
          { kind: 'range', field: 'price', gte: 10, lt: 20 },
          { kind: 'exists', field: 'category', negate: true },
          { kind: 'prefix', field: 'name.keyword', value: 'ket*' },
        ],
        sort: [{ field: '_score', order: 'desc' }],
        searchAfter: [1.5, '7'],
      },
      { idField: '_id' },
    );
    expect(body.query).toEqual({
      bool: {
        must: [
          {
            simple_query_string: {
              query: 'espresso -decaf',
              fields: ['name', 'tags'],
              default_operator: 'and',
              flags: SIMPLE_QUERY_FLAGS,
              lenient: true,
              analyze_wildcard: false,
            },
          },
        ],
        filter: [
          { term: { 'category.keyword': 'coffee' } },
          { terms: { qty: [1, 2] } },
          { range: { price: { gte: 10, lt: 20 } } },
          { prefix: { 'name.keyword': { value: 'ket*' } } },
        ],
        must_not: [{ term: { qty: 3 } }, { exists: { field: 'category' } }],
      },
    });
    expect(SIMPLE_QUERY_FLAGS).not.toMatch(/FUZZY|SLOP|NEAR|ALL/);
    expect(body.sort).toEqual([{ _score: { order: 'desc' } }, { _id: { order: 'asc' } }]);
    expect(body.search_after).toEqual([1.5, '7']);
  });

  it('matches nothing for q on a table without text fields', () => {
    const body = buildSearchBody({ ...base, text: { query: 'x', fields: [] } }, { idField: '_id' });
    expect(body.query).toEqual({ bool: { must: [{ match_none: {} }] } });
  });

  it('breaks ties by index then id across tables, with a configurable id field', () => {
    const body = buildSearchBody(
      { ...base, indices: ['a', 'b'], sort: [{ field: 'price', order: 'desc' }] },
      { idField: 'doc_id' },
    );
    expect(body.sort).toEqual([
      { price: { order: 'desc', missing: '_last', unmapped_type: 'keyword' } },
      { _index: { order: 'asc' } },
      { doc_id: { order: 'asc' } },
    ]);
  });

  it('builds projection, escaped highlighting and every aggregation', () => {
    const body = buildSearchBody(
      {
        ...base,
        source: ['name'],
        highlight: { fields: ['name'] },
        timeoutMs: 5000,
        aggregations: [
          { name: 't', type: 'terms', field: 'tags.keyword', size: 5, keyFormat: 'raw' },
          {
            name: 'r',
            type: 'range',
            field: 'price',
            ranges: [{ to: 10 }, { key: 'hi', from: 10 }],
          },
          { name: 'h', type: 'histogram', field: 'qty', interval: 2, size: 100 },
          {
            name: 'd',
            type: 'date_histogram',
            field: 'at',
            interval: '1M',
            calendar: true,
            size: 100,
          },
          {
            name: 'f',
            type: 'date_histogram',
            field: 'at',
            interval: '6h',
            calendar: false,
            size: 100,
          },
          { name: 's', type: 'stats', field: 'price' },
          { name: 'c', type: 'cardinality', field: 'tags.keyword' },
        ],
      },
      { idField: '_id' },
    );
    expect(body._source).toEqual({ includes: ['name'] });
    expect(body.timeout).toBe('5000ms');
    expect(body.highlight).toMatchObject({ encoder: 'html', fields: { name: {} } });
    expect(body.aggs).toEqual({
      t: { terms: { field: 'tags.keyword', size: 5 } },
      r: { range: { field: 'price', ranges: [{ to: 10 }, { key: 'hi', from: 10 }] } },
      h: { histogram: { field: 'qty', interval: 2, min_doc_count: 1 } },
      d: {
        date_histogram: {
          field: 'at',
          calendar_interval: '1M',
          min_doc_count: 1,
          format: 'strict_date_optional_time',
        },
      },
      f: {
        date_histogram: {
          field: 'at',
          fixed_interval: '6h',
          min_doc_count: 1,
          format: 'strict_date_optional_time',
        },
      },
      s: { stats: { field: 'price' } },
      c: { cardinality: { field: 'tags.keyword' } },
    });
  });
});

describe('timestamp-range filters', () => {
  it('decide by millisecond on the date and within it on the canonical string', () => {
    const body = buildSearchBody(
      {
        ...base,
        filters: [
          {
            kind: 'timestamp-range',
            field: 'ts',
            exactField: 'ts.exact',
            gte: '2024-01-02T03:04:05.123456',
            lt: '2024-01-02T03:04:06.000000',
          },
        ],
      },
      { idField: '_id' },
    );
    const side = (op: string, dateOp: string, bound: string) => ({
      bool: {
        should: [
          { range: { ts: { [dateOp]: bound.slice(0, -3) } } },
          {
            bool: {
              filter: [
                { prefix: { 'ts.exact': { value: bound.slice(0, -3) } } },
                { range: { 'ts.exact': { [op]: bound } } },
              ],
            },
          },
          // PostgreSQL orders infinity after and -infinity before every instant.
          { term: { 'ts.exact': op === 'gte' ? 'infinity' : '-infinity' } },
        ],
        minimum_should_match: 1,
      },
    });
    expect(JSON.stringify(body.query)).toContain(
      JSON.stringify({
        bool: {
          filter: [
            side('gte', 'gt', '2024-01-02T03:04:05.123456'),
            side('lt', 'lt', '2024-01-02T03:04:06.000000'),
          ],
        },
      }),
    );
  });
});

describe('parseSearchResponse', () => {
  it('maps hits to aliases and aggregations to the contract shapes, capping histogram buckets and saying so', () => {
    const request: SearchRequest = {
      ...base,
      indices: ['searchsync.public.a', 'searchsync.public.b'],
      aggregations: [
        { name: 'flag', type: 'terms', field: 'ok', size: 5, keyFormat: 'boolean' },
        { name: 'h', type: 'histogram', field: 'n', interval: 1, size: 1 },
        { name: 's', type: 'stats', field: 'n' },
        { name: 'c', type: 'cardinality', field: 'n' },
      ],
    };
    const page = parseSearchResponse(
      request,
      {
        took: 3,
        hits: {
          total: { value: 10_000, relation: 'gte' },
          hits: [
            {
              _index: 'searchsync.public.b.v1',
              _id: '1',
              _score: null,
              _source: { x: 1 },
              sort: ['1'],
            },
          ],
        },
        aggregations: {
          flag: { buckets: [{ key: 1, key_as_string: 'true', doc_count: 2 }] },
          h: {
            buckets: [
              { key: 0, doc_count: 1 },
              { key: 1, doc_count: 1 },
            ],
          },
          s: { count: 0, min: null, max: null, avg: null, sum: 0 },
          c: { value: 4 },
        },
      },
      (index) => request.indices.find((a) => index.startsWith(`${a}.v`)) ?? index,
    );
    expect(page).toEqual({
      total: 10_000,
      totalRelation: 'gte',
      tookMs: 3,
      timedOut: false,
      hits: [{ id: '1', index: 'searchsync.public.b', score: null, source: { x: 1 }, sort: ['1'] }],
      aggregations: {
        flag: { buckets: [{ key: true, count: 2 }] },
        h: { buckets: [{ key: 0, count: 1 }], truncated: true, otherCount: 1 },
        s: { count: 0, min: null, max: null, avg: null, sum: 0 },
        c: { value: 4 },
      },
    });
  });
});

describe('parseSearchResponse on a recorded aggregation-only answer', () => {
  // OpenSearch 2.19's answer to size 0, amount < 30, over api-aggregations.e2e-spec's table.
  const recorded: RawSearchResponse = {
    took: 9,
    timed_out: false,
    hits: { total: { value: 60, relation: 'eq' }, hits: [] },
    aggregations: {
      d: {
        buckets: [
          { key_as_string: '2020-01-01T00:00:00.000Z', key: 1577836800000, doc_count: 19 },
          { key_as_string: '2021-01-01T00:00:00.000Z', key: 1609459200000, doc_count: 14 },
          { key_as_string: '2022-01-01T00:00:00.000Z', key: 1640995200000, doc_count: 10 },
          { key_as_string: '2023-01-01T00:00:00.000Z', key: 1672531200000, doc_count: 10 },
          { key_as_string: '2024-01-01T00:00:00.000Z', key: 1704067200000, doc_count: 7 },
        ],
      },
      top: {
        doc_count_error_upper_bound: 0,
        sum_other_doc_count: 50,
        buckets: [
          { key: 'k11', doc_count: 4 },
          { key: 'k12', doc_count: 4 },
        ],
      },
      h: {
        buckets: [
          { key: 0.0, doc_count: 20 },
          { key: 10.0, doc_count: 20 },
          { key: 20.0, doc_count: 20 },
        ],
      },
    },
  };
  const aggregations = (sizes: { top: number; h: number; d: number }): EngineAggregation[] => [
    { name: 'top', type: 'terms', field: 'kind.keyword', size: sizes.top, keyFormat: 'raw' },
    { name: 'h', type: 'histogram', field: 'amount', interval: 10, size: sizes.h },
    {
      name: 'd',
      type: 'date_histogram',
      field: 'day',
      interval: '1y',
      calendar: true,
      size: sizes.d,
    },
  ];

  it('says truncated, with the documents left out, when terms or a histogram cut buckets', () => {
    const request: SearchRequest = {
      ...base,
      size: 0,
      aggregations: aggregations({ top: 2, h: 2, d: 5 }),
    };
    const page = parseSearchResponse(request, recorded, (index) => index);
    expect(page.hits).toEqual([]);
    expect(page.total).toBe(60);
    expect(page.aggregations).toEqual({
      top: {
        buckets: [
          { key: 'k11', count: 4 },
          { key: 'k12', count: 4 },
        ],
        truncated: true,
        otherCount: 50,
      },
      h: {
        buckets: [
          { key: 0, count: 20 },
          { key: 10, count: 20 },
        ],
        truncated: true,
        otherCount: 20,
      },
      // Every bucket there: no flag at all.
      d: {
        buckets: [
          { key: '2020-01-01T00:00:00.000Z', count: 19 },
          { key: '2021-01-01T00:00:00.000Z', count: 14 },
          { key: '2022-01-01T00:00:00.000Z', count: 10 },
          { key: '2023-01-01T00:00:00.000Z', count: 10 },
          { key: '2024-01-01T00:00:00.000Z', count: 7 },
        ],
      },
    });
  });

  it('has no truncated flag when every bucket is there', () => {
    const raw: RawSearchResponse = {
      ...recorded,
      aggregations: {
        ...recorded.aggregations,
        top: { ...recorded.aggregations?.top, sum_other_doc_count: 0 },
      },
    };
    const request: SearchRequest = {
      ...base,
      size: 0,
      aggregations: aggregations({ top: 2, h: 3, d: 10 }),
    };
    const page = parseSearchResponse(request, raw, (index) => index);
    for (const name of ['top', 'h', 'd']) {
      expect(page.aggregations?.[name]).not.toHaveProperty('truncated');
      expect(page.aggregations?.[name]).not.toHaveProperty('otherCount');
    }
  });

  it('asks the engine for no hits at size 0', () => {
    expect(
      buildSearchBody(
        { ...base, size: 0, aggregations: aggregations({ top: 2, h: 2, d: 5 }) },
        {
          idField: '_id',
        },
      ).size,
    ).toBe(0);
  });
});

describe('the tie-break field', () => {
  it('is sorted on as unmapped where an index lacks it, and its sort values round-trip as a cursor', () => {
    const body = buildSearchBody(base, { idField: TIEBREAK_FIELD, unmappedType: 'keyword' });
    expect(body.sort).toEqual([{ [TIEBREAK_FIELD]: { order: 'asc', unmapped_type: 'keyword' } }]);
    const page = parseSearchResponse(
      { ...base, sort: [{ field: 'price', order: 'asc' }] },
      {
        took: 1,
        hits: {
          hits: [
            {
              _index: 'searchsync.public.products.v2',
              _id: 'a"b',
              _score: null,
              _source: {},
              sort: [9007199254740991, 'a"b'],
            },
          ],
        },
      },
      (index) => index,
    );
    // What the API puts in a cursor (JSON) comes back as the same search_after.
    const searchAfter = JSON.parse(JSON.stringify(page.hits[0].sort)) as unknown[];
    expect(
      buildSearchBody(
        { ...base, sort: [{ field: 'price', order: 'asc' }], searchAfter },
        { idField: TIEBREAK_FIELD, unmappedType: 'keyword' },
      ).search_after,
    ).toEqual([9007199254740991, 'a"b']);
  });

  it('is never in the field catalogue', () => {
    expect(
      mappedFields({
        [TIEBREAK_FIELD]: { type: 'keyword', index: false },
        o: { properties: { [TIEBREAK_FIELD]: { type: 'keyword' } } },
      }).map((f) => f.name),
    ).toEqual([`o.${TIEBREAK_FIELD}`]);
  });
});

describe('mappedFields', () => {
  it('flattens objects and keeps sub-fields', () => {
    expect(
      mappedFields({
        name: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
        address: { type: 'object', properties: { city: { type: 'keyword' } } },
        attrs: { type: 'flat_object' },
      }),
    ).toEqual([
      { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
      { name: 'address.city', type: 'keyword', subFields: {} },
      { name: 'attrs', type: 'flat_object', subFields: {} },
    ]);
  });
});

describe('searchTarget', () => {
  it('names aliases in the URL, and many tables by our pattern with exact indices in the body', () => {
    expect(searchTarget({ ...base, indices: ['a', 'b'] })).toEqual({ path: 'a,b', wide: false });
    const aliases = Array.from({ length: 200 }, (_, i) => `searchsync.public.table_number_${i}`);
    const wideTarget = { pattern: 'searchsync.*', concreteIndices: aliases.map((a) => `${a}.v1`) };
    const target = searchTarget({ ...base, indices: aliases, wideTarget });
    expect(target).toEqual({
      path: 'searchsync.*',
      wide: true,
      indexFilter: { terms: { _index: wideTarget.concreteIndices } },
    });
    const body = buildSearchBody(
      { ...base, indices: aliases },
      { idField: '_id' },
      target.indexFilter,
    );
    expect(body.query).toEqual({ bool: { filter: [target.indexFilter] } });
  });
});

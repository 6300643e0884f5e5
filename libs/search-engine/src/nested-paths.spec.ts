import { buildSearchBody, parseSearchResponse, type RawSearchResponse } from './search-dsl';
import type { SearchRequest } from './search-engine';
import { nestClauses, nestingOf } from './nested-paths';

const PATHS = ['lines', 'lines.product.tags'];
const TIEBREAK = { idField: 'searchsync_id' };
const AGGREGATIONS: SearchRequest['aggregations'] = [
  { name: 'tags', type: 'terms', field: 'lines.product.tags.label', size: 5, keyFormat: 'raw' },
  { name: 'qty', type: 'stats', field: 'lines.qty' },
];
const request = (more: Partial<SearchRequest>): SearchRequest => ({
  indices: ['searchsync-view.order_search'],
  filters: [],
  nestedPaths: PATHS,
  sort: [],
  size: 10,
  trackTotalHitsUpTo: 10_000,
  ...more,
});

describe('queries on nested paths (a view’s arrays of objects)', () => {
  it('knows the paths a field lies in, outermost first', () => {
    expect(nestingOf('status', PATHS)).toEqual([]);
    expect(nestingOf('lines.qty', PATHS)).toEqual(['lines']);
    expect(nestingOf('lines.product.tags.label', PATHS)).toEqual(['lines', 'lines.product.tags']);
    // A path is a prefix by whole segments only.
    expect(nestingOf('linesx.qty', PATHS)).toEqual([]);
  });

  it('puts the conditions on one path in one nested clause, deeper paths inside it', () => {
    const term = (field: string, value: string | number) => ({ term: { [field]: value } });
    const { filter, mustNot } = nestClauses(
      [
        { field: 'status', clause: term('status', 'paid'), negate: false },
        { field: 'lines.product.name', clause: term('lines.product.name', 'Lamp'), negate: false },
        { field: 'lines.qty', clause: term('lines.qty', 1), negate: true },
        {
          field: 'lines.product.tags.label',
          clause: term('lines.product.tags.label', 'sale'),
          negate: false,
        },
        { field: 'customer.name', clause: term('customer.name', 'Ada'), negate: true },
      ],
      PATHS,
    );
    expect(mustNot).toEqual([term('customer.name', 'Ada')]);
    expect(filter).toEqual([
      term('status', 'paid'),
      {
        nested: {
          path: 'lines',
          query: {
            bool: {
              filter: [
                term('lines.product.name', 'Lamp'),
                {
                  nested: {
                    path: 'lines.product.tags',
                    query: { bool: { filter: [term('lines.product.tags.label', 'sale')] } },
                  },
                },
              ],
              must_not: [term('lines.qty', 1)],
            },
          },
        },
      },
    ]);
  });

  it('searches text inside each path, sorts and aggregates per element', () => {
    const body = buildSearchBody(
      request({
        text: { query: 'lamp', fields: ['status', 'lines.product.name'] },
        sort: [{ field: 'lines.qty', order: 'desc' }],
        aggregations: AGGREGATIONS,
      }),
      TIEBREAK,
    );
    expect(JSON.stringify(body.query)).toContain('"nested":{"path":"lines"');
    expect((body.sort as object[])[0]).toMatchObject({
      'lines.qty': { order: 'desc', nested: { path: 'lines' } },
    });
    expect((body.aggs as Record<string, unknown>).tags).toEqual({
      nested: { path: 'lines' },
      aggs: {
        searchsync_nested: {
          nested: { path: 'lines.product.tags' },
          aggs: {
            searchsync_nested: {
              terms: { field: 'lines.product.tags.label', size: 5 },
              aggs: { searchsync_roots: { reverse_nested: {} } },
            },
          },
        },
      },
    });

    // Buckets count orders, not lines: an order with two `sale` products is one order.
    const raw: RawSearchResponse = {
      took: 1,
      hits: { total: { value: 1, relation: 'eq' }, hits: [] },
      aggregations: {
        tags: {
          doc_count: 9,
          searchsync_nested: {
            doc_count: 4,
            searchsync_nested: {
              buckets: [{ key: 'sale', doc_count: 3, searchsync_roots: { doc_count: 2 } }],
              sum_other_doc_count: 0,
            },
          },
        },
        qty: { doc_count: 5, searchsync_nested: { count: 5, min: 1, max: 5, avg: 2, sum: 10 } },
      },
    };
    const page = parseSearchResponse(
      request({
        aggregations: AGGREGATIONS,
      }),
      raw,
      (index) => index,
    );
    expect(page.aggregations).toEqual({
      tags: { buckets: [{ key: 'sale', count: 2 }] },
      qty: { count: 5, min: 1, max: 5, avg: 2, sum: 10 },
    });
  });
});

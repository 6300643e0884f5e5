import { bulkLine } from './engine-common';
import {
  elasticsearchDialect,
  openSearchDialect,
  TIEBREAK_FIELD,
  translateMapping,
} from './engine-dialect';
import { buildSearchBody, mappedFields, parseSearchResponse } from './search-dsl';
import type { SearchRequest } from './search-engine';
import {
  columnOfVectorField,
  VECTOR_FIELD_PREFIX,
  vectorCopies,
  vectorFieldOf,
  vectorOf,
  type VectorColumn,
} from './vector-fields';

const l2: VectorColumn = { column: 'v', dims: 3, similarity: 'l2' };
const cosine: VectorColumn = { ...l2, similarity: 'cosine' };

describe('vector copy fields', () => {
  it('cannot be named like a PostgreSQL column: the prefix alone is longer than 63 bytes', () => {
    expect(Buffer.byteLength(VECTOR_FIELD_PREFIX, 'utf8')).toBeGreaterThan(63);
    expect(VECTOR_FIELD_PREFIX).not.toMatch(/^_|\./);
    expect(columnOfVectorField(vectorFieldOf('embedding'))).toBe('embedding');
    expect(columnOfVectorField('embedding')).toBeNull();
  });
});

describe('vectorOf', () => {
  it('takes arrays of finite numbers of the right length, numeric strings included', () => {
    expect(vectorOf([1, 2.5, -3], l2)).toEqual({ vector: [1, 2.5, -3] });
    expect(vectorOf(['1.5', '2', '-0.25'], l2)).toEqual({ vector: [1.5, 2, -0.25] });
    expect(vectorOf([0, 0, 0], l2)).toEqual({ vector: [0, 0, 0] });
  });

  it('has nothing to say of NULL', () => {
    expect(vectorOf(null, l2)).toBeNull();
    expect(vectorOf(undefined, l2)).toBeNull();
  });

  it.each([
    ['a string', '[1,2,3]', 'not an array of numbers'],
    ['too short', [1, 2], 'wrong number of elements'],
    ['too long', [1, 2, 3, 4], 'wrong number of elements'],
    ['a NULL element', [1, null, 3], 'an element that is not a finite number'],
    ['NaN as PostgreSQL sends it', [1, 'NaN', 3], 'an element that is not a finite number'],
    ['Infinity', [1, 'Infinity', 3], 'an element that is not a finite number'],
    ['an empty string', [1, '', 3], 'an element that is not a finite number'],
    ['a nested array', [[1], [2], [3]], 'an element that is not a finite number'],
    ['an element no 32-bit float holds', [1, 1e39, 3], 'beyond the 32-bit float range'],
    ['a length no 32-bit float holds', [2e19, 2e19, 2e19], 'beyond the 32-bit float range'],
  ])('refuses %s', (_what, value, problem) => {
    expect(vectorOf(value, l2)).toEqual({ problem });
  });

  it('refuses a zero vector for cosine only', () => {
    expect(vectorOf([0, 0, 0], cosine)).toEqual({ problem: 'zero length for cosine similarity' });
    expect(vectorOf([0, 0, 1e-3], cosine)).toEqual({ vector: [0, 0, 1e-3] });
    // Zero in 32-bit floats, where the engines compute the length.
    expect(vectorOf([0, 0, 1e-30], cosine)).toEqual({
      problem: 'zero length for cosine similarity',
    });
    expect(vectorOf([1e-46, 0, 0], cosine)).toEqual({
      problem: 'zero length for cosine similarity',
    });
  });

  it('copies only the values that are vectors', () => {
    const other: VectorColumn = { column: 'w', dims: 2, similarity: 'l2' };
    expect(vectorCopies({ v: [1, 2, 3], w: [1, null] }, [l2, other])).toEqual({
      [vectorFieldOf('v')]: [1, 2, 3],
    });
  });
});

describe('bulk lines of a table with vector columns', () => {
  it('append the copy of a valid vector after the tie-break field, the column as it is', () => {
    const line = bulkLine({
      type: 'index',
      index: 'a',
      id: '1',
      version: 7n,
      document: { id: 1, v: [1, 2, 3] },
      vectors: [l2],
    });
    const document = JSON.parse(line.split('\n')[1]) as Record<string, unknown>;
    expect(document).toEqual({
      id: 1,
      v: [1, 2, 3],
      [TIEBREAK_FIELD]: '1',
      [vectorFieldOf('v')]: [1, 2, 3],
    });
  });

  it('write the row without a copy when its value is no vector', () => {
    const line = bulkLine({
      type: 'index',
      index: 'a',
      id: '1',
      version: 7n,
      document: { id: 1, v: [1, null, 3] },
      vectors: [l2],
    });
    expect(JSON.parse(line.split('\n')[1])).toEqual({
      id: 1,
      v: [1, null, 3],
      [TIEBREAK_FIELD]: '1',
    });
  });
});

describe('k-NN search bodies', () => {
  const base: SearchRequest = {
    indices: ['searchsync.public.docs'],
    filters: [{ kind: 'term', field: 'lang', value: 'en', negate: false }],
    sort: [{ field: '_score', order: 'desc' }],
    size: 10,
    trackTotalHitsUpTo: 10_000,
    knn: { field: vectorFieldOf('v'), vector: [1, 2, 3], k: 10, numCandidates: 100 },
  };
  const tiebreak = { idField: TIEBREAK_FIELD };

  it('put the filters inside the OpenSearch knn clause (filtered during the graph search)', () => {
    expect(buildSearchBody(base, tiebreak, undefined, openSearchDialect()).query).toEqual({
      knn: {
        [vectorFieldOf('v')]: {
          vector: [1, 2, 3],
          k: 10,
          method_parameters: { ef_search: 100 },
          filter: { term: { lang: 'en' } },
        },
      },
    });
  });

  it('use query_vector and num_candidates on Elasticsearch, negated filters as must_not', () => {
    const request: SearchRequest = {
      ...base,
      filters: [
        { kind: 'term', field: 'lang', value: 'en', negate: false },
        { kind: 'term', field: 'draft', value: true, negate: true },
      ],
    };
    expect(buildSearchBody(request, tiebreak, undefined, elasticsearchDialect()).query).toEqual({
      knn: {
        field: vectorFieldOf('v'),
        query_vector: [1, 2, 3],
        k: 10,
        num_candidates: 100,
        filter: {
          bool: {
            filter: [{ term: { lang: 'en' } }, { bool: { must_not: [{ term: { draft: true } }] } }],
          },
        },
      },
    });
  });

  it('combine text and vector (hybrid): either matches, both filtered', () => {
    const request: SearchRequest = { ...base, text: { query: 'espresso', fields: ['name'] } };
    const query = buildSearchBody(request, tiebreak, undefined, openSearchDialect()).query as {
      bool: { should: unknown[]; minimum_should_match: number; filter: unknown[] };
    };
    expect(query.bool.minimum_should_match).toBe(1);
    expect(query.bool.filter).toEqual([{ term: { lang: 'en' } }]);
    expect(query.bool.should).toHaveLength(2);
    expect(query.bool.should[0]).toMatchObject({ simple_query_string: { query: 'espresso' } });
    expect(query.bool.should[1]).toHaveProperty(['knn', vectorFieldOf('v'), 'k'], 10);
  });

  it('need the dialect', () => {
    expect(() => buildSearchBody(base, tiebreak)).toThrow(/dialect/);
  });
});

describe('the field catalogue of a vector column', () => {
  it('shows the column as a vector with its dimensions, and never the copy', () => {
    const fields = mappedFields({
      id: { type: 'long' },
      v: { type: 'object', enabled: false },
      [vectorFieldOf('v')]: {
        type: 'knn_vector',
        dimension: 3,
        method: { engine: 'lucene', space_type: 'cosinesimil' },
      },
      [TIEBREAK_FIELD]: { type: 'keyword' },
    });
    expect(fields).toEqual([
      { name: 'id', type: 'long', subFields: {} },
      {
        name: 'v',
        type: 'vector',
        subFields: {},
        vector: { dims: 3, similarity: 'cosine', field: vectorFieldOf('v') },
      },
    ]);
  });
});

describe('an OpenSearch without the k-NN plugin', () => {
  it('keeps vector columns stored only, with no vector field that would refuse the index', () => {
    const dialect = openSearchDialect({ knn: false, vectors: false });
    expect(translateMapping(dialect, { v: { type: 'knn_vector', dimension: 3 } })).toEqual({
      v: { type: 'object', enabled: false },
    });
  });
});

describe('the total of a k-NN search', () => {
  it('is at most k, whatever number of candidates the engine matched', () => {
    const request: SearchRequest = {
      indices: ['a'],
      filters: [],
      sort: [],
      size: 10,
      trackTotalHitsUpTo: 10_000,
      knn: { field: vectorFieldOf('v'), vector: [1, 2, 3], k: 10, numCandidates: 100 },
    };
    const raw = { took: 1, hits: { total: { value: 100, relation: 'eq' as const }, hits: [] } };
    expect(parseSearchResponse(request, raw, (i) => i).total).toBe(10);
    const hybrid = { ...request, text: { query: 'x', fields: ['t'] } };
    expect(parseSearchResponse(hybrid, raw, (i) => i).total).toBe(100);
  });
});

describe('an Elasticsearch older than 8.15', () => {
  it('gets no vector fields (its knn query has no k), the column stored only', () => {
    const properties = { v: { type: 'knn_vector', dimension: 3 } };
    expect(translateMapping(elasticsearchDialect({ version: '8.14.3' }), properties)).toEqual({
      v: { type: 'object', enabled: false },
    });
    expect(
      Object.keys(translateMapping(elasticsearchDialect({ version: '8.19.21' }), properties)),
    ).toEqual(['v', vectorFieldOf('v')]);
  });
});

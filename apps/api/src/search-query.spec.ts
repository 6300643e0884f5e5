import { InvalidQueryError } from './api.errors';
import { FieldCatalog } from './field-catalog';
import { compileSearch, parseSearchBody, parseSearchQuery } from './search-query';

const catalog = new FieldCatalog([
  { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
  { name: 'code', type: 'keyword', subFields: {} },
  { name: 'qty', type: 'integer', subFields: {} },
  { name: 'price', type: 'double', subFields: { exact: 'keyword' } },
  { name: 'at', type: 'date', subFields: {} },
  { name: 'ok', type: 'boolean', subFields: {} },
  { name: 'attrs', type: 'flat_object', subFields: {} },
  { name: 'address.city', type: 'keyword', subFields: {} },
  // As change-events maps them now: timestamps, json/jsonb, bytea.
  { name: 'ts', type: 'date', subFields: { exact: 'keyword' } },
  { name: 'doc', type: 'object', subFields: {} },
  { name: 'blob', type: 'binary', subFields: {} },
]);

const compile = (query: Record<string, unknown>) => compileSearch(catalog, parseSearchQuery(query));
const fails = (fn: () => unknown, pattern: RegExp) => {
  expect(fn).toThrow(InvalidQueryError);
  expect(fn).toThrow(pattern);
};

describe('GET search parameters', () => {
  it('parses repeatable filters and sorts, values with colons and in-lists', () => {
    const spec = parseSearchQuery({
      q: 'espresso',
      filter: ['at:gte:2024-01-01T10:00:00Z', 'qty:in:1,2'],
      sort: 'price:desc',
      size: '5',
      fields: 'name,price',
      highlight: 'true',
    });
    expect(spec).toMatchObject({
      q: 'espresso',
      filters: [
        { field: 'at', op: 'gte', value: '2024-01-01T10:00:00Z' },
        { field: 'qty', op: 'in', value: ['1', '2'] },
      ],
      sort: [{ field: 'price', order: 'desc' }],
      size: 5,
      fields: ['name', 'price'],
      highlight: true,
    });
  });

  it('refuses unknown parameters, repeated singles, bad sizes and operators', () => {
    fails(() => parseSearchQuery({ from: '10' }), /unknown query parameter "from"/);
    fails(() => parseSearchQuery({ size: ['1', '2'] }), /size may be given once/);
    for (const size of ['0', '1001', '-1', '1.5', 'abc', ''])
      fails(() => parseSearchQuery({ size }), /size/);
    // The GET form takes no aggregations, so it cannot ask for aggregations only.
    fails(() => parseSearchQuery({ size: '0' }), /size 0 \(aggregations only\) needs aggregations/);
    fails(() => parseSearchQuery({ filter: 'qty:regexp:.*' }), /unknown operator "regexp"/);
    fails(() => parseSearchQuery({ filter: 'qty' }), /field:op:value/);
    fails(() => parseSearchQuery({ sort: 'qty:random' }), /asc or field:desc/);
    fails(() => parseSearchQuery({ filter: { a: '1' } }), /repeatable/);
  });
});

describe('timestamps: exact to the microsecond for every year', () => {
  const range = (gte?: string, lt?: string) => ({
    kind: 'timestamp-range',
    field: 'ts',
    exactField: 'ts.exact',
    ...(gte ? { gte } : {}),
    ...(lt ? { lt } : {}),
  });

  it('turns gt/gte/lt/lte into gte/lt bounds on the canonical string', () => {
    expect(
      compile({
        filter: [
          'ts:gte:2024-01-02T03:04:05.123456',
          'ts:gt:2024-01-02T03:04:05.123456Z',
          'ts:lt:2024-01-02T05:04:05.123456+02:00',
          'ts:lte:2024-01-02 03:04:05.123',
          'ts:gte:2024-01-02',
        ],
      }).filters,
    ).toEqual([
      range('2024-01-02T03:04:05.123456'),
      range('2024-01-02T03:04:05.123457'),
      range(undefined, '2024-01-02T03:04:05.123456'),
      range(undefined, '2024-01-02T03:04:05.123001'),
      range('2024-01-02T00:00:00.000000'),
    ]);
  });

  it('takes BC and five-digit years, carries and epoch milliseconds', () => {
    expect(
      compile({
        filter: [
          'ts:gt:-0043-03-15T10:11:12.654321',
          'ts:lte:+12345-12-31T23:59:59.999999',
          'ts:gte:12345-06-07T00:00:00Z',
          'ts:lt:1704164645123',
        ],
      }).filters,
    ).toEqual([
      range('-0043-03-15T10:11:12.654322'),
      range(undefined, '+12346-01-01T00:00:00.000000'),
      range('+12345-06-07T00:00:00.000000'),
      range(undefined, '2024-01-02T03:04:05.123000'),
    ]);
  });

  it('matches eq/ne/in on the exact string, with or without the timestamptz Z', () => {
    expect(
      compile({
        filter: [
          'ts:eq:2024-01-02T03:04:05.123456',
          'ts:ne:2024-01-02T05:04:05.1+02:00',
          'ts:in:infinity,-0043-03-15T10:11:12Z',
        ],
      }).filters,
    ).toEqual([
      {
        kind: 'terms',
        field: 'ts.exact',
        values: ['2024-01-02T03:04:05.123456', '2024-01-02T03:04:05.123456Z'],
      },
      { kind: 'term', field: 'ts.exact', value: '2024-01-02T03:04:05.100000', negate: true },
      { kind: 'term', field: 'ts.exact', value: '2024-01-02T03:04:05.100000Z', negate: true },
      {
        kind: 'terms',
        field: 'ts.exact',
        values: ['infinity', '-0043-03-15T10:11:12.000000', '-0043-03-15T10:11:12.000000Z'],
      },
    ]);
  });

  it('sorts by the millisecond, then by the exact string', () => {
    expect(compile({ sort: ['ts:desc', 'qty:asc'] }).sort).toEqual([
      { field: 'ts', order: 'desc' },
      { field: 'ts.exact', order: 'desc' },
      { field: 'qty', order: 'asc' },
    ]);
  });

  it('refuses what it cannot answer exactly, saying what to send', () => {
    fails(() => compile({ filter: 'ts:gt:2024-01-02T03:04:05.1234567' }), /at most 6 fraction/);
    fails(() => compile({ filter: 'ts:gt:2024-02-30' }), /"ts" \(date\).*ISO 8601/);
    fails(
      () => compile({ filter: 'ts:lt:infinity' }),
      /infinity and -infinity match eq, ne and in/,
    );
    fails(() => compile({ filter: 'ts:lt:+1000000-01-01' }), /year from -999999 to \+999999/);
    fails(() => compile({ filter: 'ts:eq:now' }), /ISO 8601/);
    fails(() => compile({ filter: 'ts:eq:2024-01-02T03:04:05-19:00' }), /offset from -18:00/);
    fails(() => compile({ filter: 'ts:eq:2024-01-02T03:04:05+0160' }), /offset from -18:00/);
    expect(compile({ filter: 'ts:gte:2024-01-02T03:04:05.5-18:00' }).filters).toEqual([
      range('2024-01-02T21:04:05.500000'),
    ]);
    const agg = (a: Record<string, unknown>) => () =>
      compileSearch(catalog, parseSearchBody({ aggregations: [a] }));
    fails(
      agg({
        name: 'r',
        type: 'range',
        field: 'ts',
        ranges: [{ from: '2024-01-02T03:04:05.1234' }],
      }),
      /whole millisecond/,
    );
  });

  it('aggregates terms and cardinality on the exact values', () => {
    const spec = parseSearchBody({
      aggregations: [
        { name: 't', type: 'terms', field: 'ts' },
        { name: 'c', type: 'cardinality', field: 'ts' },
        { name: 'r', type: 'range', field: 'ts', ranges: [{ from: '2024-01-02T03:04:05.123Z' }] },
      ],
    });
    expect(compileSearch(catalog, spec).aggregations).toEqual([
      { name: 't', type: 'terms', field: 'ts.exact', size: 10, keyFormat: 'raw' },
      { name: 'c', type: 'cardinality', field: 'ts.exact' },
      {
        name: 'r',
        type: 'range',
        field: 'ts',
        ranges: [{ key: undefined, from: '2024-01-02T03:04:05.123', to: undefined }],
      },
    ]);
  });
});

describe('dates holding milliseconds', () => {
  it('round bounds up to the next whole millisecond, which keeps every operator exact', () => {
    expect(
      compile({
        filter: [
          'at:gt:2024-01-02T03:04:05.123',
          'at:lte:2024-01-02T03:04:05.123',
          'at:lt:2024-12-31T23:59:59.9995',
          'at:gte:-0043-03-15',
          'at:gte:1704164645123',
        ],
      }).filters,
    ).toEqual([
      { kind: 'range', field: 'at', gte: '2024-01-02T03:04:05.124' },
      { kind: 'range', field: 'at', lt: '2024-01-02T03:04:05.124' },
      { kind: 'range', field: 'at', lt: '2025-01-01T00:00:00.000' },
      { kind: 'range', field: 'at', gte: '-0043-03-15T00:00:00.000' },
      { kind: 'range', field: 'at', gte: '2024-01-02T03:04:05.123' },
    ]);
    expect(compile({ filter: 'at:eq:2024-01-02' }).filters).toEqual([
      { kind: 'term', field: 'at', value: '2024-01-02T00:00:00.000', negate: false },
    ]);
    fails(() => compile({ filter: 'at:eq:2024-01-02T00:00:00.000001' }), /to the millisecond/);
  });
});

describe('fields stored but not searchable (json/jsonb, bytea)', () => {
  it('refuses every filter, exists included, sorts and aggregations, saying why', () => {
    for (const filter of ['doc:exists', 'doc:eq:1', 'blob:exists:false', 'doc.k:eq:1'])
      fails(() => compile({ filter }), /stored but not searchable/);
    fails(() => compile({ filter: 'doc:exists' }), /json\/jsonb values are kept whole in _source/);
    fails(() => compile({ filter: 'blob:exists' }), /bytea/);
    fails(() => compile({ sort: 'doc:asc' }), /stored but not searchable.*sorted/);
    for (const type of ['terms', 'cardinality', 'stats', 'date_histogram'])
      fails(
        () =>
          compileSearch(
            catalog,
            parseSearchBody({
              aggregations: [{ name: 'a', type, field: 'doc', interval: 'day' }].map((a) =>
                type === 'date_histogram' ? a : { name: a.name, type, field: a.field },
              ),
            }),
          ),
        /stored but not searchable/,
      );
  });
});

describe('compileSearch', () => {
  it('maps text fields to their keyword sub-field for exact use, and q to full-text fields', () => {
    const compiled = compile({
      q: 'x',
      filter: ['name:eq:Kettle', 'name:prefix:Ke'],
      sort: 'name:asc',
    });
    expect(compiled.text).toEqual({ query: 'x', fields: ['name', 'code', 'address.city'] });
    expect(compiled.filters).toEqual([
      { kind: 'term', field: 'name.keyword', value: 'Kettle', negate: false },
      { kind: 'prefix', field: 'name.keyword', value: 'Ke' },
    ]);
    expect(compiled.sort).toEqual([{ field: 'name.keyword', order: 'asc' }]);
  });

  it('sorts by score when q is given and no sort is', () => {
    expect(compile({ q: 'x' }).sort).toEqual([{ field: '_score', order: 'desc' }]);
    expect(compile({}).sort).toEqual([]);
  });

  it('coerces values by field type and names the field when it cannot', () => {
    expect(
      compile({ filter: ['qty:gte:3', 'ok:eq:true', 'at:lt:2024-02-29', 'price:lt:1e3'] }).filters,
    ).toEqual([
      { kind: 'range', field: 'qty', gte: 3 },
      { kind: 'term', field: 'ok', value: true, negate: false },
      { kind: 'range', field: 'at', lt: '2024-02-29T00:00:00.000' },
      { kind: 'range', field: 'price', lt: 1000 },
    ]);
    fails(() => compile({ filter: 'qty:eq:x' }), /"qty".*a number/);
    fails(() => compile({ filter: 'qty:eq:1.5' }), /an integer/);
    fails(() => compile({ filter: 'qty:gt:99999999999' }), /from -2147483648 to 2147483647/);
    fails(() => compile({ filter: 'price:gt:1e400' }), /finite|number/);
    fails(() => compile({ filter: 'at:gt:2023-02-29' }), /ISO 8601/);
    fails(() => compile({ filter: 'at:gt:now-1d' }), /ISO 8601/);
    fails(() => compile({ filter: 'ok:eq:yes' }), /true or false/);
    fails(() => compile({ filter: 'ok:gt:true' }), /boolean; use eq/);
    fails(() => compile({ filter: 'qty:prefix:1' }), /not a string field/);
    fails(() => compile({ filter: 'attrs:eq:1' }), /only the exists operator/);
    fails(() => compile({ filter: '_id:eq:1' }), /unknown field "_id"/);
    fails(() => compile({ filter: '__proto__:eq:1' }), /unknown field/);
    fails(() => compile({ sort: 'attrs:asc' }), /not sortable/);
  });

  it('lets exists take true/false and works on any field', () => {
    expect(compile({ filter: ['attrs:exists', 'name:exists:false'] }).filters).toEqual([
      { kind: 'exists', field: 'attrs', negate: false },
      { kind: 'exists', field: 'name', negate: true },
    ]);
  });

  it('asks exists of the exact keyword, which keeps values the main field cannot (NaN, infinity)', () => {
    expect(compile({ filter: ['price:exists', 'ts:exists:false'] }).filters).toEqual([
      { kind: 'exists', field: 'price.exact', negate: false },
      { kind: 'exists', field: 'ts.exact', negate: true },
    ]);
  });

  it('checks projections and highlight fields', () => {
    expect(compile({ fields: 'name,address' }).source).toEqual(['name', 'address']);
    // Paths inside a stored json value project from _source.
    expect(compile({ fields: 'doc,doc.k.z' }).source).toEqual(['doc', 'doc.k.z']);
    fails(() => compile({ fields: 'secret' }), /unknown field "secret"/);
    expect(compileSearch(catalog, parseSearchBody({ highlight: true })).highlight).toEqual({
      fields: ['name'],
    });
    fails(
      () => compileSearch(catalog, parseSearchBody({ highlight: { fields: ['qty'] } })),
      /not a text field/,
    );
  });

  it('validates aggregations against field types and caps buckets', () => {
    const spec = parseSearchBody({
      aggregations: [
        { name: 'a', type: 'terms', field: 'name' },
        { name: 'b', type: 'date_histogram', field: 'at', interval: 'month' },
        { name: 'c', type: 'date_histogram', field: 'at', interval: '6h' },
        { name: 'd', type: 'range', field: 'price', ranges: [{ to: '10' }] },
      ],
    });
    expect(compileSearch(catalog, spec).aggregations).toEqual([
      { name: 'a', type: 'terms', field: 'name.keyword', size: 10, keyFormat: 'raw' },
      {
        name: 'b',
        type: 'date_histogram',
        field: 'at',
        interval: '1M',
        calendar: true,
        size: 10_000,
      },
      {
        name: 'c',
        type: 'date_histogram',
        field: 'at',
        interval: '6h',
        calendar: false,
        size: 10_000,
      },
      {
        name: 'd',
        type: 'range',
        field: 'price',
        ranges: [{ key: undefined, from: undefined, to: 10 }],
      },
    ]);
    const agg = (a: Record<string, unknown>) => () =>
      compileSearch(catalog, parseSearchBody({ aggregations: [a] }));
    fails(agg({ name: 'x', type: 'terms', field: 'qty', size: 101 }), /size must be from 1 to 100/);
    fails(agg({ name: 'x', type: 'histogram', field: 'qty', interval: 0 }), /positive/);
    fails(agg({ name: 'x', type: 'histogram', field: 'qty', interval: 1, size: 10_001 }), /size/);
    fails(agg({ name: 'x', type: 'histogram', field: 'at', interval: 1 }), /date_histogram/);
    fails(agg({ name: 'x', type: 'stats', field: 'name' }), /not numeric/);
    fails(agg({ name: 'x', type: 'date_histogram', field: 'at', interval: '1 week' }), /interval/);
    fails(agg({ name: 'x', type: 'range', field: 'qty', ranges: [{}] }), /from or to/);
    fails(agg({ name: 'x', type: 'scripted_metric', field: 'qty' }), /type/);
    fails(agg({ name: 'x y', type: 'stats', field: 'qty' }), /name/);
    fails(
      () =>
        compileSearch(
          catalog,
          parseSearchBody({
            aggregations: [
              { name: 'a', type: 'stats', field: 'qty' },
              { name: 'a', type: 'stats', field: 'qty' },
            ],
          }),
        ),
      /used twice/,
    );
  });

  it('takes size 0 for aggregations only, and refuses it without aggregations or with a cursor', () => {
    const aggregations = [{ name: 'n', type: 'stats', field: 'qty' }];
    expect(parseSearchBody({ size: 0, aggregations })).toEqual({ size: 0, aggregations });
    expect(compileSearch(catalog, parseSearchBody({ size: 0, aggregations })).aggregations).toEqual(
      [{ name: 'n', type: 'stats', field: 'qty' }],
    );
    fails(() => parseSearchBody({ size: 0 }), /size: 0 asks for aggregations only/);
    fails(() => parseSearchBody({ size: 0, aggregations: [] }), /needs at least one aggregation/);
    fails(() => parseSearchBody({ size: 0, aggregations, cursor: 'abc' }), /cursor/);
    fails(() => parseSearchBody({ size: -1, aggregations }), /size/);
  });

  it('refuses raw DSL and unknown keys in bodies', () => {
    fails(() => parseSearchBody({ query: { match_all: {} } }), /query/);
    fails(
      () => parseSearchBody({ filters: [{ field: 'qty', op: 'eq', value: { script: 'x' } }] }),
      /filters/,
    );
    fails(() => parseSearchBody([]), /body/);
    fails(() => parseSearchBody('q'), /body/);
  });
});

describe('knn (vector and hybrid search)', () => {
  const copy = (column: string) => `copy_of_${column}`;
  const vectors = new FieldCatalog([
    { name: 'name', type: 'text', subFields: { keyword: 'keyword' } },
    { name: 'price', type: 'double', subFields: {} },
    { name: 'in_stock', type: 'boolean', subFields: {} },
    {
      name: 'embedding',
      type: 'vector',
      subFields: {},
      vector: { dims: 4, similarity: 'cosine', field: copy('embedding') },
    },
    {
      name: 'image',
      type: 'vector',
      subFields: {},
      vector: { dims: 2, similarity: 'l2', field: copy('image') },
    },
    {
      name: 'score_vec',
      type: 'vector',
      subFields: {},
      vector: { dims: 2, similarity: 'dot_product', field: copy('score_vec') },
    },
  ]);
  const v4 = [0.1, -0.2, 0.3, 0.4];
  const body = (b: Record<string, unknown>) => compileSearch(vectors, parseSearchBody(b));
  const knn = (k: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
    body({ knn: { field: 'embedding', vector: v4, ...k }, ...rest });

  it('searches the vector copy of the column with k and numCandidates, by score, size k', () => {
    const compiled = knn({});
    expect(compiled.knn).toEqual({
      field: 'copy_of_embedding',
      vector: v4,
      k: 10,
      numCandidates: 100,
    });
    expect(compiled.text).toBeUndefined();
    expect(compiled.filters).toEqual([]);
    expect(compiled.sort).toEqual([{ field: '_score', order: 'desc' }]);
    expect(compiled.size).toBe(10);
    expect(knn({ k: 3 }).size).toBe(3);
    // A plain search keeps its default size and sort.
    expect(body({}).size).toBe(20);
    expect(body({}).sort).toEqual([]);
  });

  it('defaults numCandidates to max(10 × k, 100), at most 10000, and takes one of at least k', () => {
    expect(knn({ k: 1 }).knn?.numCandidates).toBe(100);
    expect(knn({ k: 25 }).knn?.numCandidates).toBe(250);
    expect(knn({ k: 1000 }).knn?.numCandidates).toBe(10_000);
    expect(knn({ k: 5, numCandidates: 5 }).knn).toMatchObject({ k: 5, numCandidates: 5 });
    expect(knn({ k: 5, numCandidates: 10_000 }).knn?.numCandidates).toBe(10_000);
    fails(() => knn({ k: 50, numCandidates: 20 }), /knn.numCandidates: 20 is fewer than k \(50\)/);
    for (const numCandidates of [0, 10_001, 1.5])
      fails(
        () => knn({ numCandidates }),
        /^knn.numCandidates: must be an integer from 1 to 10000, at least k$/,
      );
  });

  it('takes k as an integer from 1 to 1000', () => {
    expect(knn({ k: 1000 }).knn?.k).toBe(1000);
    for (const k of [0, -1, 1001, 2.5, '10', null])
      fails(() => knn({ k }), /^knn.k: must be an integer from 1 to 1000 \(default 10\)$/);
  });

  it('refuses a field that is no vector column, naming the vector columns', () => {
    const listed =
      /its vector columns: embedding \(4 dimensions, cosine\), image \(2 dimensions, l2\), score_vec \(2 dimensions, dot_product\)$/;
    fails(() => knn({ field: 'price' }), /knn.field: "price" is not a vector column/);
    fails(() => knn({ field: 'price' }), listed);
    fails(() => knn({ field: 'nosuchfield' }), listed);
    fails(() => knn({ field: '' }), /knn.field/);
    fails(() => body({ knn: { vector: v4 } }), /knn.field/);
  });

  it('says when the table has no vector columns at all', () => {
    fails(
      () => compileSearch(catalog, parseSearchBody({ knn: { field: 'name', vector: [1] } })),
      /knn.field: this table has no vector columns; .*type: vector with dims/,
    );
  });

  it('treats a hidden vector column as one that does not exist', () => {
    const hidden = new FieldCatalog(
      [
        {
          name: 'secret_vec',
          type: 'vector',
          subFields: {},
          vector: { dims: 2, similarity: 'l2', field: copy('secret_vec') },
        },
        {
          name: 'open_vec',
          type: 'vector',
          subFields: {},
          vector: { dims: 2, similarity: 'l2', field: copy('open_vec') },
        },
      ],
      (p) => p !== 'secret_vec',
    );
    const message = (field: string) => {
      try {
        compileSearch(hidden, parseSearchBody({ knn: { field, vector: [1, 2] } }));
      } catch (error) {
        return (error as Error).message.replace(field, '<field>');
      }
      throw new Error(`${field} was accepted`);
    };
    expect(message('secret_vec')).toBe(message('nosuchfield'));
    expect(message('secret_vec')).toMatch(/its vector columns: open_vec \(2 dimensions, l2\)$/);
  });

  it('wants exactly dims finite numbers in the 32-bit float range', () => {
    fails(
      () => knn({ vector: [1, 2, 3] }),
      /^knn.vector: 3 numbers given, embedding has 4 dimensions$/,
    );
    fails(() => knn({ vector: [1, 2, 3, 4, 5] }), /5 numbers given, embedding has 4 dimensions/);
    fails(() => knn({ field: 'image', vector: [1] }), /1 number given, image has 2 dimensions/);
    fails(() => knn({ vector: [] }), /knn.vector: must hold at least one number/);
    fails(() => knn({ vector: [1, '2', 3, 4] }), /knn.vector.1: must be a finite number/);
    fails(() => knn({ vector: [1, null, 3, 4] }), /knn.vector.1: must be a finite number/);
    fails(() => knn({ vector: [1, Infinity, 3, 4] }), /knn.vector.1: must be a finite number/);
    fails(() => knn({ vector: [1, NaN, 3, 4] }), /knn.vector.1: must be a finite number/);
    fails(() => knn({ vector: '1,2,3,4' }), /knn.vector: must be an array of numbers/);
    fails(() => knn({ vector: [1, 2, 1e39, 4] }), /knn.vector.2: 1e\+39 is beyond .*32-bit float/);
    fails(() => knn({ vector: [1, 2, 3.4e38, 0] }), /knn.vector: its length overflows a 32-bit/);
    expect(knn({ vector: [1, 2, 1e18, -1e18] }).knn?.vector).toEqual([1, 2, 1e18, -1e18]);
    fails(() => knn({ field: 'embedding', vector: v4, extra: 1 }), /knn: Unrecognized key/i);
  });

  it('refuses a zero vector for cosine only', () => {
    fails(
      () => knn({ vector: [0, 0, 0, 0] }),
      /knn.vector: embedding compares by cosine, and the cosine of a zero vector is undefined; give/,
    );
    // Zero as the engine's 32-bit floats hold it.
    fails(() => knn({ vector: [1e-50, 0, 0, 0] }), /length zero in 32-bit floats/);
    expect(knn({ vector: [0, 0, 0, 1e-10] }).knn?.vector).toEqual([0, 0, 0, 1e-10]);
    expect(body({ knn: { field: 'image', vector: [0, 0] } }).knn?.field).toBe('copy_of_image');
    expect(body({ knn: { field: 'score_vec', vector: [0, 0] } }).knn?.field).toBe(
      'copy_of_score_vec',
    );
  });

  it('applies knn.filters and filters both, in one list, saying which list a bad one is in', () => {
    const compiled = knn(
      { filters: [{ field: 'in_stock', op: 'eq', value: true }] },
      { filters: [{ field: 'price', op: 'lt', value: 500 }] },
    );
    expect(compiled.filters).toEqual([
      { kind: 'range', field: 'price', lt: 500 },
      { kind: 'term', field: 'in_stock', value: true, negate: false },
    ]);
    expect(knn({ filters: [{ field: 'price', op: 'gte', value: 1 }] }).filters).toEqual([
      { kind: 'range', field: 'price', gte: 1 },
    ]);
    fails(
      () => knn({ filters: [{ field: 'price', op: 'eq', value: 'x' }] }),
      /^knn.filters: field "price" \(double\) needs a number/,
    );
    fails(() => knn({ filters: [{ field: 'nope', op: 'exists' }] }), /^knn.filters: .*unknown/);
    fails(() => knn({ filters: [{ field: 'price', op: 'regexp' }] }), /knn.filters.0.op/);
  });

  it('orders knn results by similarity only', () => {
    fails(
      () => knn({}, { sort: [{ field: 'price', order: 'asc' }] }),
      /^sort: knn results are ordered by similarity \(score, highest first\); remove sort$/,
    );
    fails(() => knn({}, { sort: [{ field: '_score', order: 'asc' }] }), /remove sort/);
    fails(() => knn({}, { q: 'x', sort: [{ field: 'name', order: 'desc' }] }), /remove sort/);
    expect(knn({}, { sort: [{ field: '_score', order: 'desc' }] }).sort).toEqual([
      { field: '_score', order: 'desc' },
    ]);
  });

  it('with q is a hybrid query: text and knn, by score, highlighting the text fields', () => {
    const compiled = knn({ k: 5 }, { q: ' espresso ', highlight: true, size: 20 });
    expect(compiled.text).toEqual({ query: 'espresso', fields: ['name'] });
    expect(compiled.knn).toMatchObject({ field: 'copy_of_embedding', k: 5 });
    expect(compiled.sort).toEqual([{ field: '_score', order: 'desc' }]);
    expect(compiled.highlight).toEqual({ fields: ['name'] });
    // More than k: the other hits can only be text matches.
    expect(compiled.size).toBe(20);
    // Blank q is no text part: a plain knn search.
    expect(knn({}, { q: '  ' }).text).toBeUndefined();
  });

  it('takes size 0 with aggregations (over the k nearest), a larger size, and projections', () => {
    const compiled = knn(
      { k: 50 },
      { size: 0, aggregations: [{ name: 'p', type: 'stats', field: 'price' }] },
    );
    expect(compiled.size).toBe(0);
    expect(compiled.knn?.k).toBe(50);
    expect(compiled.aggregations).toEqual([{ name: 'p', type: 'stats', field: 'price' }]);
    expect(knn({ k: 5 }, { size: 100 }).size).toBe(100);
    expect(knn({}, { fields: ['name', 'embedding'] }).source).toEqual(['name', 'embedding']);
    fails(() => knn({}, { size: 0 }), /size: 0 asks for aggregations only/);
  });

  it('gives cursors of one knn query a shape of their own', () => {
    const plain = body({}).shape;
    expect(plain).toEqual({ q: null, filters: [], sort: [] });
    const a = knn({}).shape;
    expect(a).not.toEqual(knn({ vector: [0.1, -0.2, 0.3, 0.5] }).shape);
    expect(a).not.toEqual(knn({ k: 11 }).shape);
    expect(a).toEqual(knn({}).shape);
  });

  it('refuses filters, sorts, aggregations and highlight on a vector column, exists included', () => {
    for (const filter of [
      { field: 'embedding', op: 'exists' },
      { field: 'embedding', op: 'eq', value: 1 },
      { field: 'image', op: 'in', value: [1, 2] },
    ])
      fails(
        () => body({ filters: [filter] }),
        /field "(embedding|image)" is a vector column \(\d dimensions, (cosine|l2)\): it cannot be filtered, sorted, aggregated or highlighted — exists included; search it with knn/,
      );
    fails(() => body({ sort: [{ field: 'embedding' }] }), /^sort: field "embedding" is a vector/);
    fails(
      () => body({ aggregations: [{ name: 'a', type: 'terms', field: 'embedding' }] }),
      /aggregation "a" \(terms\): field "embedding" is a vector column/,
    );
    fails(
      () => body({ highlight: { fields: ['embedding'] } }),
      /highlight: field "embedding" is a vector column/,
    );
    fails(
      () => compileSearch(vectors, parseSearchQuery({ filter: 'embedding:exists' })),
      /vector column/,
    );
    // Not a q field, not highlighted by default.
    expect(body({ q: 'x', highlight: true }).text?.fields).toEqual(['name']);
    expect(body({ highlight: true }).highlight).toEqual({ fields: ['name'] });
  });

  it('is POST only: the GET form says where knn goes', () => {
    fails(() => parseSearchQuery({ knn: 'x' }), /knn: the GET form takes no knn; .*POST/);
  });
});

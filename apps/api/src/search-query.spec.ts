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

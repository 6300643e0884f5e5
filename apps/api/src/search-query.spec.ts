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
    fails(() => parseSearchQuery({ filter: 'qty:regexp:.*' }), /unknown operator "regexp"/);
    fails(() => parseSearchQuery({ filter: 'qty' }), /field:op:value/);
    fails(() => parseSearchQuery({ sort: 'qty:random' }), /asc or field:desc/);
    fails(() => parseSearchQuery({ filter: { a: '1' } }), /repeatable/);
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
      { kind: 'range', field: 'at', lt: '2024-02-29' },
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

  it('checks projections and highlight fields', () => {
    expect(compile({ fields: 'name,address' }).source).toEqual(['name', 'address']);
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
      { name: 'b', type: 'date_histogram', field: 'at', interval: '1M', calendar: true, size: 100 },
      {
        name: 'c',
        type: 'date_histogram',
        field: 'at',
        interval: '6h',
        calendar: false,
        size: 100,
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

import { canonical, columnType, documentIdOf, rowValueToDocument } from './row-canonical';

const same = (
  rowText: string | null,
  doc: unknown,
  base: string,
  element: string | null = null,
) => {
  const type = columnType(base, element);
  return canonical(rowValueToDocument(rowText, type), type) === canonical(doc, type);
};

describe('row values against document values', () => {
  it.each([
    ['42', 42, 'int4'],
    ['9007199254740993', '9007199254740993', 'int8'],
    ['1249.00', '1249.00', 'numeric'],
    ['1249.00', '1249.0', 'numeric'],
    ['0.428571433', 0.42857143, 'float4'],
    ['NaN', 'NaN', 'float8'],
    ['t', true, 'bool'],
    ['2024-01-02 03:04:05.123456', '2024-01-02T03:04:05.123456', 'timestamp'],
    ['2024-01-02 03:04:05', '2024-01-02T03:04:05.000000', 'timestamp'],
    ['2024-01-02 01:04:08.5+00', '2024-01-02T01:04:08.500000Z', 'timestamptz'],
    ['10:11:12+05:30', '04:41:12Z', 'timetz'],
    ['10:11:12.131415', '10:11:12.131415', 'time'],
    ['P1Y2M3DT4H5M6.5S', 'P1Y2M3DT4H5M6.500000S', 'interval'],
    ['{"b": true, "n": 3}', { n: 3, b: true }, 'jsonb'],
    ['\\xeccbc87e', Buffer.from('eccbc87e', 'hex').toString('base64'), 'bytea'],
    ['ECCBC87E-4B5C-E2FE-2830-8FD9F2A7BAF3', 'eccbc87e-4b5c-e2fe-2830-8fd9f2a7baf3', 'uuid'],
    ['c3  ', 'c3', 'bpchar'],
    ['10.0.0.1', '10.0.0.1', 'inet'],
    [null, null, 'text'],
    [null, undefined, 'text'],
  ])('%s equals %j (%s)', (row, doc, base) => {
    expect(same(row, doc, base)).toBe(true);
  });

  it.each([
    ['42', 43, 'int4'],
    ['1249.00', '1249.01', 'numeric'],
    ['t', false, 'bool'],
    ['2024-01-02 03:04:05.123456', '2024-01-02T03:04:05.123457', 'timestamp'],
    ['name', 'tampered', 'text'],
    ['x', null, 'text'],
    ['{"a": 1}', { a: 2 }, 'jsonb'],
  ])('%s differs from %j (%s)', (row, doc, base) => {
    expect(same(row, doc, base)).toBe(false);
  });

  it('compares arrays element by element with the element rule', () => {
    expect(
      same('["2020-01-01T00:00:00.5"]', ['2020-01-01T00:00:00.500000'], '_timestamp', 'timestamp'),
    ).toBe(true);
    expect(same('[1, 2]', [1, 2], '_int4', 'int4')).toBe(true);
    expect(same('[1, 2]', [1, 3], '_int4', 'int4')).toBe(false);
    expect(same('["a", null]', ['a', null], '_text', 'text')).toBe(true);
  });

  it('builds document ids as the indexer does', () => {
    expect(documentIdOf([7])).toBe('7');
    expect(documentIdOf(['9007199254740993'])).toBe('9007199254740993');
    expect(documentIdOf([7, 'eu'])).toBe('[7,"eu"]');
    expect(
      documentIdOf([rowValueToDocument('2024-01-02 03:04:05', columnType('timestamp', null))]),
    ).toBe('2024-01-02T03:04:05.000000');
  });
});

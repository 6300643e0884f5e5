import { parse } from 'lossless-json';
import {
  convertValue,
  epochDaysToDate,
  epochMicrosToIso,
  exactInteger,
  isUnavailableValue,
  microsToTime,
  zonedTimestampToUtc,
} from './value-converter';
import type { ConnectSchema } from './connect-schema';

const lossless = (text: string): unknown => parse(text);

describe('value conversion', () => {
  it('keeps int64 exact: number while safe, decimal string beyond 2^53-1', () => {
    const int64: ConnectSchema = { type: 'int64' };
    expect(convertValue(int64, lossless('9007199254740991'), 'v')).toBe(9007199254740991);
    expect(convertValue(int64, lossless('9007199254740993'), 'v')).toBe('9007199254740993');
    expect(convertValue(int64, lossless('-9223372036854775808'), 'v')).toBe('-9223372036854775808');
    expect(exactInteger(-9007199254740992n)).toBe('-9007199254740992');
  });

  it('formats dates, timestamps and times with microseconds', () => {
    expect(epochDaysToDate(19724)).toBe('2024-01-02');
    expect(epochDaysToDate(-1)).toBe('1969-12-31');
    expect(epochMicrosToIso(1704164645123456n, false)).toBe('2024-01-02T03:04:05.123456');
    expect(epochMicrosToIso(-1n, false)).toBe('1969-12-31T23:59:59.999999');
    expect(microsToTime(3723000001n)).toBe('01:02:03.000001');
    expect(microsToTime(3723000000n)).toBe('01:02:03');
    expect(microsToTime(86_400_000_000n)).toBe('24:00:00');
  });

  it('normalises zoned timestamps to UTC keeping every fractional digit', () => {
    expect(zonedTimestampToUtc('2024-01-02T03:04:05.123456Z')).toBe('2024-01-02T03:04:05.123456Z');
    expect(zonedTimestampToUtc('2024-01-02T03:04:05.123456+02:00')).toBe(
      '2024-01-02T01:04:05.123456Z',
    );
  });

  it('follows Debezium logical types', () => {
    expect(
      convertValue({ type: 'int32', name: 'io.debezium.time.Date' }, lossless('19724'), 'd'),
    ).toBe('2024-01-02');
    expect(
      convertValue(
        { type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
        lossless('1704164645123456'),
        't',
      ),
    ).toBe('2024-01-02T03:04:05.123456');
    expect(
      convertValue({ type: 'string', name: 'io.debezium.data.Json' }, '{"a":[1,{"b":null}]}', 'j'),
    ).toEqual({ a: [1, { b: null }] });
    expect(
      convertValue(
        { type: 'string', name: 'io.debezium.data.Uuid' },
        'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        'u',
      ),
    ).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
  });

  it('keeps decimal strings and converts arrays element-wise', () => {
    expect(convertValue({ type: 'string' }, '12345678901234567890.123456789', 'n')).toBe(
      '12345678901234567890.123456789',
    );
    const arrayOfDates: ConnectSchema = {
      type: 'array',
      items: { type: 'int32', name: 'io.debezium.time.Date' },
    };
    expect(convertValue(arrayOfDates, [lossless('0'), null], 'a')).toEqual(['1970-01-01', null]);
  });

  it('passes NULL through and keeps NaN/Infinity as strings', () => {
    expect(convertValue({ type: 'string', optional: true }, null, 'x')).toBeNull();
    expect(convertValue({ type: 'double' }, 'NaN', 'f')).toBe('NaN');
    expect(convertValue({ type: 'double' }, lossless('1.5'), 'f')).toBe(1.5);
  });

  it('passes the unchanged-TOAST placeholder through whatever the column type', () => {
    const placeholder = '__debezium_unavailable_value';
    expect(convertValue({ type: 'string', name: 'io.debezium.data.Json' }, placeholder, 'j')).toBe(
      placeholder,
    );
    expect(convertValue({ type: 'array', items: { type: 'int32' } }, [placeholder], 'a')).toEqual([
      placeholder,
    ]);
    expect(isUnavailableValue([placeholder])).toBe(true);
    expect(isUnavailableValue(Buffer.from(placeholder).toString('base64'))).toBe(true);
    expect(isUnavailableValue('regular text')).toBe(false);
  });
});

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
import { civilFromDays, daysFromCivil, timestampFilterBounds } from './temporal';
import { parseJsonText, jsonNumber } from './json-text';
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

  it('never throws on values beyond what a JavaScript Date holds', () => {
    expect(epochDaysToDate(2145042905)).toBe('+5874897-12-31');
    expect(epochDaysToDate(-2440588)).toBe('-4713-11-24');
    expect(epochMicrosToIso(9223372036854775807n, true)).toBe('+294247-01-10T04:00:54.775807Z');
    expect(epochMicrosToIso(-9223372036854775808n, false)).toBe('-290308-12-21T19:59:05.224192');
    expect(epochMicrosToIso(9223372036825200000n, false)).toBe('infinity');
    expect(epochMicrosToIso(-9223372036832400000n, false)).toBe('-infinity');
    expect(zonedTimestampToUtc('-0043-03-15T10:11:12.654321+01:00')).toBe(
      '-0043-03-15T09:11:12.654321Z',
    );
    expect(zonedTimestampToUtc('+292269055-12-02T23:00:00.000000Z')).toBe('-infinity');
  });

  it('round-trips the calendar arithmetic across eras', () => {
    for (const days of [-2440588n, -719163n, -1n, 0n, 59n, 60n, 19724n, 2932896n, 2145042905n]) {
      const { year, month, day } = civilFromDays(days);
      expect(daysFromCivil(year, month, day)).toBe(days);
    }
    expect(civilFromDays(-719528n)).toEqual({ year: 0n, month: 1, day: 1 });
    expect(civilFromDays(-719469n)).toEqual({ year: 0n, month: 2, day: 29 });
  });

  it('turns timestamp filter input into microsecond-exact gte/lt bounds', () => {
    expect(timestampFilterBounds('2024-01-02T03:04:05.123456', 'gte')).toEqual({
      gte: '2024-01-02T03:04:05.123456',
    });
    expect(timestampFilterBounds('2024-01-02T03:04:05.123999', 'gt')).toEqual({
      gte: '2024-01-02T03:04:05.124000',
    });
    expect(timestampFilterBounds('2024-01-02 05:04:05.5+02:00', 'lte')).toEqual({
      lt: '2024-01-02T03:04:05.500001',
    });
    expect(timestampFilterBounds('2024-01-02', 'lt')).toEqual({ lt: '2024-01-02T00:00:00.000000' });
    expect(timestampFilterBounds('-0043-03-15T10:11:12Z', 'gte')).toEqual({
      gte: '-0043-03-15T10:11:12.000000',
    });
    expect(timestampFilterBounds('2024-02-30', 'gte')).toBeNull();
    expect(timestampFilterBounds('2024-01-02T03:04:05.1234567', 'gte')).toBeNull();
    expect(timestampFilterBounds('soon', 'gte')).toBeNull();
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

  it('parses json of any shape and depth exactly', () => {
    expect(parseJsonText('{"__proto__":{"x":1},"a":1,"a":2}', 'j')).toEqual(
      JSON.parse('{"__proto__":{"x":1},"a":2}'),
    );
    expect(Object.getPrototypeOf(parseJsonText('{"__proto__":{"x":1}}', 'j'))).toBe(
      Object.prototype,
    );
    const depth = 100_000;
    let deep = parseJsonText(`${'['.repeat(depth)}${']'.repeat(depth)}`, 'j');
    for (let i = 1; i < depth; i++) deep = (deep as unknown[])[0] as typeof deep;
    expect(deep).toEqual([]);
    expect(parseJsonText('"\\u00e9\\ud83d\\ude00\\n"', 'j')).toBe('é😀\n');
    expect(() => parseJsonText('{"a":}', 'j')).toThrow('invalid JSON text');
    expect(() => parseJsonText('[1,2', 'j')).toThrow('invalid JSON text');
    expect(() => parseJsonText('1 2', 'j')).toThrow('invalid JSON text');
    expect(jsonNumber('1e400')).toBe('1e400');
    expect(jsonNumber('1e-400')).toBe('1e-400');
    expect(jsonNumber('0.0')).toBe(0);
    expect(jsonNumber('12.5')).toBe(12.5);
    expect(jsonNumber('123456789012345678')).toBe('123456789012345678');
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
    // Every shape of the placeholder becomes the one marker the applier looks for.
    expect(convertValue({ type: 'array', items: { type: 'string' } }, [placeholder], 'a')).toBe(
      placeholder,
    );
    const codes = [...Buffer.from(placeholder)].map((code) => lossless(String(code)));
    expect(convertValue({ type: 'array', items: { type: 'int32' } }, codes, 'a')).toBe(placeholder);
    expect(convertValue({ type: 'array', items: { type: 'int32' } }, [95, 95], 'a')).toEqual([
      95, 95,
    ]);
    expect(isUnavailableValue([placeholder])).toBe(true);
    expect(isUnavailableValue(Buffer.from(placeholder).toString('base64'))).toBe(true);
    expect(isUnavailableValue('regular text')).toBe(false);
  });
});

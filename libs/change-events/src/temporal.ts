/**
 * Calendar arithmetic on integers only. JavaScript's Date covers ±100 million days, PostgreSQL
 * dates reach 5874897 AD and Debezium's infinity sentinels lie far beyond both: a Date there is
 * "Invalid time value", so nothing here uses one.
 */

const MICROS_PER_SECOND = 1_000_000n;
const SECONDS_PER_DAY = 86_400n;
const MICROS_PER_DAY = MICROS_PER_SECOND * SECONDS_PER_DAY;

export const POSITIVE_INFINITY = 'infinity';
export const NEGATIVE_INFINITY = '-infinity';
export type Infinity = typeof POSITIVE_INFINITY | typeof NEGATIVE_INFINITY;

/**
 * Debezium's stand-ins for PostgreSQL's `infinity` / `-infinity` (recorded from Debezium 3.6 on
 * PostgreSQL 15, see fixtures/values-*.records.json). Dates differ between the snapshot (JDBC)
 * and the stream (pgoutput); timestamps are the same in both.
 */
const DATE_SENTINELS = new Map<bigint, Infinity>([
  [-622191234n, POSITIVE_INFINITY], // snapshot, and inside date[]
  [-625821272n, NEGATIVE_INFINITY],
  [-2147472692n, POSITIVE_INFINITY], // stream: LocalDate -5877611-06-21
  [-2147472691n, NEGATIVE_INFINITY],
]);
const MICROS_SENTINELS = new Map<bigint, Infinity>([
  [9223372036825200000n, POSITIVE_INFINITY],
  [-9223372036832400000n, NEGATIVE_INFINITY],
]);
const MILLIS_SENTINELS = new Map<bigint, Infinity>([
  [9223372036825200n, POSITIVE_INFINITY],
  [-9223372036832400n, NEGATIVE_INFINITY],
]);
/** Inside timestamptz[] Debezium writes `-infinity` as this instant (year 292269055). */
const ZONED_NEGATIVE_INFINITY = '+292269055-12-02T23:00:00.000000Z';

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function pad(value: bigint | number, width: number): string {
  return value.toString().padStart(width, '0');
}

/** ISO 8601 year: four digits for 0..9999, signed and expanded beyond (`-0043`, `+12345`). */
export function isoYear(year: bigint): string {
  if (year < 0n) return `-${pad(-year, 4)}`;
  if (year > 9999n) return `+${year.toString()}`;
  return pad(year, 4);
}

/** Days since 1970-01-01 to proleptic Gregorian year/month/day (astronomical years: 1 BC = 0). */
export function civilFromDays(days: bigint): { year: bigint; month: number; day: number } {
  // Howard Hinnant's days_from_civil inverse, on bigint.
  const z = days + 719468n;
  const era = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = Number(doy - (153n * mp + 2n) / 5n + 1n);
  const month = Number(mp < 10n ? mp + 3n : mp - 9n);
  const year = yoe + era * 400n + (month <= 2 ? 1n : 0n);
  return { year, month, day };
}

/** Proleptic Gregorian date to days since 1970-01-01. */
export function daysFromCivil(year: bigint, month: number, day: number): bigint {
  const y = month <= 2 ? year - 1n : year;
  const era = floorDiv(y, 400n);
  const yoe = y - era * 400n;
  const m = BigInt(month);
  const doy = (153n * (m > 2n ? m - 3n : m + 9n) + 2n) / 5n + BigInt(day) - 1n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146097n + doe - 719468n;
}

function formatDay(days: bigint): string {
  const { year, month, day } = civilFromDays(days);
  return `${isoYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** Days since the epoch to `YYYY-MM-DD` (expanded years), or Debezium's infinity sentinels. */
export function epochDaysToDate(days: bigint | number): string {
  const value = BigInt(days);
  return DATE_SENTINELS.get(value) ?? formatDay(value);
}

/** Microseconds since the epoch to ISO 8601 with six fractional digits, any year. */
export function epochMicrosToIso(micros: bigint, withZone: boolean): string {
  const infinity = MICROS_SENTINELS.get(micros);
  if (infinity) return infinity;
  const days = floorDiv(micros, MICROS_PER_DAY);
  const inDay = micros - days * MICROS_PER_DAY;
  const seconds = inDay / MICROS_PER_SECOND;
  const fraction = inDay % MICROS_PER_SECOND;
  const clock = `${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
  return `${formatDay(days)}T${clock}.${pad(fraction, 6)}${withZone ? 'Z' : ''}`;
}

/** Milliseconds since the epoch (`io.debezium.time.Timestamp`), sentinels included. */
export function epochMillisToIso(millis: bigint, withZone: boolean): string {
  return MILLIS_SENTINELS.get(millis) ?? epochMicrosToIso(millis * 1000n, withZone);
}

/** Microseconds since midnight to `HH:MM:SS[.ffffff]`; 24:00:00 is a valid PostgreSQL time. */
export function microsToTime(micros: bigint): string {
  if (micros === MICROS_PER_DAY) return '24:00:00';
  const value = ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  const totalSeconds = value / MICROS_PER_SECOND;
  const fraction = value % MICROS_PER_SECOND;
  const clock = `${pad(totalSeconds / 3600n, 2)}:${pad((totalSeconds / 60n) % 60n, 2)}:${pad(totalSeconds % 60n, 2)}`;
  return fraction === 0n ? clock : `${clock}.${pad(fraction, 6)}`;
}

const ZONED =
  /^([+-]?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * A zoned timestamp string from Debezium (`io.debezium.time.ZonedTimestamp`) to the canonical
 * UTC form `YYYY-MM-DDTHH:MM:SS.ffffffZ`: six fractional digits always, so equal instants are
 * equal strings and strings of one millisecond sort in time order. Text it does not recognise
 * is kept as it came.
 */
export function zonedTimestampToUtc(text: string): string {
  if (text === POSITIVE_INFINITY || text === NEGATIVE_INFINITY) return text;
  if (text === ZONED_NEGATIVE_INFINITY) return NEGATIVE_INFINITY;
  const match = ZONED.exec(text);
  if (!match) return text;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = match;
  let micros =
    daysFromCivil(BigInt(y), Number(mo), Number(d)) * MICROS_PER_DAY +
    (BigInt(h) * 3600n + BigInt(mi) * 60n + BigInt(s)) * MICROS_PER_SECOND +
    BigInt(fraction.padEnd(6, '0').slice(0, 6));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const offset = BigInt(digits.slice(0, 2)) * 3600n + BigInt(digits.slice(2, 4) || '0') * 60n;
    micros -= sign * offset * MICROS_PER_SECOND;
  }
  return epochMicrosToIso(micros, true);
}

const FILTER_INPUT =
  /^([+-]?\d{4,})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** The canonical bound of a microsecond-exact timestamp filter: UTC, 26 characters, no zone. */
function canonicalBound(micros: bigint): string {
  return epochMicrosToIso(micros, false);
}

/**
 * A timestamp filter value (ISO 8601, optional zone — zone-less is UTC —, at most six fraction
 * digits, expanded years allowed) as the `gte`/`lt` bounds of a microsecond-exact range:
 * `gt X` is `gte X+1µs`, `lte X` is `lt X+1µs`. Null when the text is not such a timestamp.
 */
export function timestampFilterBounds(
  text: string,
  op: 'gt' | 'gte' | 'lt' | 'lte',
): { gte?: string; lt?: string } | null {
  const match = FILTER_INPUT.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const month = Number(mo);
  const day = Number(d);
  const year = BigInt(y);
  const days = daysFromCivil(year, month, day);
  const check = civilFromDays(days);
  if (check.year !== year || check.month !== month || check.day !== day) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  let micros =
    days * MICROS_PER_DAY +
    (BigInt(h) * 3600n + BigInt(mi) * 60n + BigInt(s)) * MICROS_PER_SECOND +
    BigInt(fraction.padEnd(6, '0'));
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const offset = BigInt(digits.slice(0, 2)) * 3600n + BigInt(digits.slice(2, 4) || '0') * 60n;
    micros -= sign * offset * MICROS_PER_SECOND;
  }
  switch (op) {
    case 'gte':
      return { gte: canonicalBound(micros) };
    case 'gt':
      return { gte: canonicalBound(micros + 1n) };
    case 'lt':
      return { lt: canonicalBound(micros) };
    case 'lte':
      return { lt: canonicalBound(micros + 1n) };
  }
}

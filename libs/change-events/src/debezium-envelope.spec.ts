import { readFileSync } from 'node:fs';
import { parse, stringify } from 'lossless-json';
import { join } from 'node:path';
import { decodeChangeEvent } from './debezium-envelope';
import { ChangeEventDecodeError } from './change-event.errors';
import type { UpsertEvent } from './change-event';

/** Records captured from Debezium 3.6.3 (pgoutput, our connector template) on PostgreSQL 15. */
interface RecordedRecord {
  topic: string;
  key: string | null;
  value: string | null;
}

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name));
const recorded = JSON.parse(fixture('ops-probe.records.json').toString()) as RecordedRecord[];
const buffer = (text: string | null) => (text === null ? null : Buffer.from(text));
const decodeRecorded = (record: RecordedRecord) =>
  decodeChangeEvent(buffer(record.key), buffer(record.value));
const opsProbe = recorded
  .filter((r) => r.topic === 'searchsync.public.ops_probe')
  .map(decodeRecorded);

describe('decodeChangeEvent on recorded Debezium events', () => {
  it('decodes every column type of the matrix exactly', () => {
    const event = decodeChangeEvent(
      fixture('types-probe.key.json'),
      fixture('types-probe.value.json'),
    );
    expect(event.kind).toBe('upsert');
    const upsert = event as UpsertEvent;
    expect(upsert.id).toBe('1');
    expect(upsert.op).toBe('create');
    expect(upsert.table).toEqual({ schema: 'public', table: 'types_probe' });
    expect(upsert.version).toBe(26791208n);
    expect(upsert.document).toEqual({
      id: 1,
      c_smallint: -32768,
      c_integer: 2147483647,
      c_bigint: '9007199254740993',
      c_numeric: '12345678901234567890123456789.123456789',
      c_numeric_scaled: '12345678.1234',
      c_real: 1.5,
      c_double: 3.141592653589793,
      c_double_nan: 'NaN',
      c_bool: true,
      c_text: 'hello wörld',
      c_varchar: 'varchar',
      c_char: 'ab   ',
      c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      c_enum: 'happy',
      c_domain: 42,
      c_date: '2024-01-02',
      c_ts: '2024-01-02T03:04:05.123456',
      c_ts3: '2024-01-02T03:04:05.123000',
      c_tstz: '2024-01-02T01:04:05.123456Z',
      c_time: '03:04:05.123456',
      c_timetz: '01:04:05.123456Z',
      c_interval: 'P1Y2M3DT4H5M6.789012S',
      c_json: { a: [1, 2, { b: null }], big: '12345678901234567890' },
      c_jsonb: { nested: { deep: [true, 'x', 1.5] } },
      c_int_array: [1, 2, 3],
      c_text_array: ['a', 'b c', null],
      c_numeric_array: ['1.10', '2.20'],
      c_bytea: 'AP8Q',
      c_null: null,
      c_inet: '192.168.0.1/24',
      c_point: '(1.5,2)',
      c_tsvector: "'a' 'cat' 'fat'",
      c_range: '[1,10)',
      c_money: '12.34',
      c_xml: '<a>1</a>',
      c_bit: '1010',
      c_oid: 12345,
    });
  });

  it('versions an incremental-snapshot read (resync) by the stream position in source.sequence', () => {
    const value = JSON.parse(fixture('types-probe.value.json').toString()) as {
      payload: { op: string; source: Record<string, unknown> };
    };
    value.payload.op = 'r';
    value.payload.source = {
      ...value.payload.source,
      lsn: null,
      snapshot: 'incremental',
      sequence: '["26800000","26900000"]',
    };
    const decode = () =>
      decodeChangeEvent(fixture('types-probe.key.json'), Buffer.from(JSON.stringify(value)));
    expect(decode()).toMatchObject({ kind: 'upsert', op: 'read', id: '1', version: 26900000n });
    // No commit known yet (a new slot's first snapshot): the position alone.
    value.payload.source = { ...value.payload.source, sequence: '[null,"26900000"]' };
    expect(decode()).toMatchObject({ version: 26900000n });
    value.payload.source = { ...value.payload.source, sequence: null };
    expect(() => decodeChangeEvent(null, Buffer.from(JSON.stringify(value)))).toThrow(
      /version it by/,
    );
  });

  it('versions a transaction that straddles a re-read window above the read, whatever its change LSN', () => {
    // The transaction changed the row (LSN 26850000) before the chunk was read, and committed
    // after the window closed; the read was emitted at the close, past that LSN.
    const value = JSON.parse(fixture('types-probe.value.json').toString()) as {
      payload: { op: string; source: Record<string, unknown> };
    };
    const decodeWith = (source: Record<string, unknown>) => {
      value.payload.source = { ...value.payload.source, ...source };
      return decodeChangeEvent(fixture('types-probe.key.json'), Buffer.from(JSON.stringify(value)));
    };
    const read = decodeWith({
      lsn: null,
      snapshot: 'incremental',
      sequence: '["26899000","26900000"]',
    });
    const change = decodeWith({
      lsn: 26850000,
      snapshot: 'false',
      sequence: '["26900100","26850000"]',
    });
    expect('version' in change && 'version' in read && change.version > read.version).toBe(true);
  });

  it('decodes the compact form Connect writes the same as any other JSON layout', () => {
    const compact = (buffer: Buffer) => Buffer.from(stringify(parse(buffer.toString())) ?? '');
    const key = fixture('types-probe.key.json');
    const value = fixture('types-probe.value.json');
    expect(compact(value).toString().startsWith('{"schema":')).toBe(true);
    const { document, id, version } = decodeChangeEvent(key, value) as UpsertEvent;
    // Twice: the second decode takes the schema from the cache.
    for (let i = 0; i < 2; i++) {
      expect(decodeChangeEvent(compact(key), compact(value))).toMatchObject({
        document,
        id,
        version,
      });
    }
    expect(() =>
      decodeChangeEvent(null, Buffer.from('{"schema":{"type":"struct"},"payload":{bad}')),
    ).toThrow(/not JSON/);
  });

  it('decodes insert, updates, delete, primary-key change and truncate in order', () => {
    expect(opsProbe.map((e) => [e.kind, 'id' in e ? e.id : null])).toEqual([
      ['upsert', '1'],
      ['upsert', '1'],
      ['upsert', '1'],
      ['delete', '1'],
      ['upsert', '2'],
      ['delete', '2'],
      ['upsert', '3'],
      ['truncate', null],
    ]);
    const versions = opsProbe.map((e) => ('version' in e ? e.version : 0n));
    // Versions never decrease along one row's history: usable as external_gte versions.
    expect([...versions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(versions);
  });

  it('passes the unchanged-TOAST placeholder through for the applier to keep the stored value', () => {
    const update = opsProbe[1] as UpsertEvent;
    expect(update.op).toBe('update');
    expect(update.document.name).toBe('uno');
    expect(update.document.big).toBe('__debezium_unavailable_value');
  });

  it('gives a composite key the JSON array of its values in key order', () => {
    const composite = recorded.find((r) => r.topic === 'searchsync.public.composite_probe');
    const event = decodeRecorded(composite as RecordedRecord) as UpsertEvent;
    expect(event.id).toBe('[7,"eu"]');
    expect(event.document).toEqual({ tenant: 7, region: 'eu', qty: 1 });
  });

  it('refuses a table without a primary key with the fix in the message', () => {
    const nokey = recorded.find(
      (r) => r.topic === 'searchsync.public.nokey_probe',
    ) as RecordedRecord;
    expect(() => decodeRecorded(nokey)).toThrow(ChangeEventDecodeError);
    expect(() => decodeRecorded(nokey)).toThrow(
      /public\.nokey_probe has no primary key.*message\.key\.columns/,
    );
  });

  it('skips tombstones and rejects garbage with a reason', () => {
    expect(decodeChangeEvent(Buffer.from('{}'), null)).toEqual({
      kind: 'skip',
      reason: 'tombstone',
    });
    expect(() => decodeChangeEvent(null, Buffer.from('not json'))).toThrow(/not JSON/);
    expect(() => decodeChangeEvent(null, Buffer.from('{"a":1}'))).toThrow(/schemas.enable=true/);
  });
});

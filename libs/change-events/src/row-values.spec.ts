import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'lossless-json';
import type { ConnectSchema } from './connect-schema';
import { decodeChangeEvent } from './debezium-envelope';
import {
  notSentByDebezium,
  rowColumnPlan,
  rowDocumentValue,
  sameDocumentValue,
  wireExpression,
  type RowColumn,
  type RowColumnPlan,
} from './row-values';
import { convertValue, type DocumentValue } from './value-converter';

/**
 * Verify against the indexer, on recorded data: the documents are what the indexer's own code
 * makes of recorded Debezium events; the rows are verify's select of the same PostgreSQL rows,
 * recorded from the same database (fixtures/row-values-probe.sql says how). Nothing here is a
 * hand-typed expected value.
 */
interface RecordedRows {
  table: string;
  columns: RowColumn[];
  rows: Record<string, string | null>[];
}
interface RecordedRecord {
  topic: string;
  key: string | null;
  value: string | null;
}

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8')) as T;

type Outcome = { value: DocumentValue } | { error: string };
const attempt = (fn: () => DocumentValue): Outcome => {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
};

/** The indexer's document of one record: the whole event when it decodes, else per column. */
function indexerDocument(record: RecordedRecord): Map<string, Outcome> {
  const key = record.key === null ? null : Buffer.from(record.key);
  const value = Buffer.from(record.value ?? '');
  const out = new Map<string, Outcome>();
  try {
    const event = decodeChangeEvent(key, value);
    if (event.kind === 'upsert') {
      for (const [column, v] of Object.entries(event.document)) out.set(column, { value: v });
      return out;
    }
  } catch {
    // one column failed: find which, the others still compare
  }
  const message = parse(record.value ?? '') as {
    schema: ConnectSchema;
    payload: { after: Record<string, unknown> };
  };
  const after = message.schema.fields?.find((f) => f.field === 'after');
  for (const field of after?.fields ?? []) {
    const name = field.field ?? '';
    out.set(
      name,
      attempt(() => convertValue(field, message.payload.after[name], name)),
    );
  }
  return out;
}

/** Every column where verify's reading of the row and the indexer's document disagree. */
function disagreements(records: RecordedRecord[], recorded: RecordedRows): string[] {
  const plans = recorded.columns.filter((c) => !notSentByDebezium(c)).map(rowColumnPlan);
  const rowsById = new Map(recorded.rows.map((row) => [row.id, row]));
  const found = new Set<string>();
  let compared = 0;
  for (const record of records) {
    const document = indexerDocument(record);
    const idOutcome = document.get('id');
    const id = idOutcome && 'value' in idOutcome ? JSON.stringify(idOutcome.value) : '?';
    const row = rowsById.get(id);
    if (!row) continue;
    compared += 1;
    for (const plan of plans) {
      const fromRow = attempt(() => rowDocumentValue(plan, row[plan.name] ?? null));
      const fromDocument = document.get(plan.name) ?? { value: null };
      const agree =
        'value' in fromRow && 'value' in fromDocument
          ? sameDocumentValue(plan, fromRow.value, fromDocument.value)
          : 'error' in fromRow && 'error' in fromDocument && fromRow.error === fromDocument.error;
      if (!agree) found.add(`${id}.${plan.name}`);
    }
  }
  expect(compared).toBeGreaterThan(0);
  return [...found].sort();
}

describe('verify reads rows with the indexer’s conversion', () => {
  it('agrees with the indexer on every column of the recorded value probe (snapshot and stream)', () => {
    const records = fixture<RecordedRecord[]>('values-base64.records.json');
    const rows = fixture<RecordedRows>('values-probe.rows.json');
    expect(disagreements(records, rows)).toEqual(KNOWN_VALUES_PROBE);
  });

  it('agrees on the edge-value probe: jsonb and bigint beyond 2^53, numeric with 30 digits, infinities, BC', () => {
    const records = fixture<RecordedRecord[]>('row-values-probe.records.json');
    const rows = fixture<RecordedRows>('row-values-probe.rows.json');
    expect(disagreements(records, rows)).toEqual(KNOWN_EDGE_PROBE);
  });

  it('leaves generated columns out of the row: they are not in the events either', () => {
    const rows = fixture<RecordedRows>('row-values-probe.rows.json');
    const records = fixture<RecordedRecord[]>('row-values-probe.records.json');
    const document = indexerDocument(records[0]);
    // The recorder selects what verify selects: the table's c_gen is not among them.
    expect(rows.columns.map((c) => c.name)).toEqual([...document.keys()]);
    expect(document.has('c_gen')).toBe(false);
  });

  it('knows exactly which column types Debezium leaves out of its events', () => {
    const rows = fixture<RecordedRows>('values-probe.rows.json');
    for (const record of fixture<RecordedRecord[]>('values-base64.records.json')) {
      const sent = new Set(indexerDocument(record).keys());
      const notSent = rows.columns.filter((c) => notSentByDebezium(c)).map((c) => c.name);
      expect(rows.columns.map((c) => c.name).filter((name) => !sent.has(name))).toEqual(notSent);
    }
  });

  it('finds a changed value in any column', () => {
    const records = fixture<RecordedRecord[]>('row-values-probe.records.json');
    const rows = fixture<RecordedRows>('row-values-probe.rows.json');
    const plans = new Map(rows.columns.map((c) => [c.name, rowColumnPlan(c)]));
    const document = indexerDocument(records[0]);
    const row = rows.rows.find((r) => r.id === '1')!;
    const value = (name: string) => {
      const outcome = document.get(name)!;
      return 'value' in outcome ? outcome.value : null;
    };
    const differs = (name: string, stored: unknown) =>
      !sameDocumentValue(plans.get(name)!, rowDocumentValue(plans.get(name)!, row[name]), stored);
    // The exact digits the indexer keeps are what verify compares: one digit off is drift.
    expect(value('c_bigint')).toBe('9007199254740993');
    expect(differs('c_bigint', '9007199254740992')).toBe(true);
    expect(differs('c_bigint', 9007199254740992)).toBe(true);
    const jsonb = value('c_jsonb') as Record<string, unknown>;
    expect(differs('c_jsonb', jsonb)).toBe(false);
    expect(differs('c_jsonb', { ...jsonb, big: 12345678901234567000 })).toBe(true);
    expect(differs('c_num', '123456789012345678901234567891')).toBe(true);
    expect(differs('c_ts', '2024-01-02T03:04:05.123457')).toBe(true);
    expect(differs('c_char', 'ab')).toBe(true);
    expect(differs('c_bytea', null)).toBe(true);
    expect(differs('c_ts_arr', [value('c_ts_arr')])).toBe(true);
  });

  it('forgives only notation: decimal trailing zeros, key order, float width, interval form', () => {
    const plan = (baseType: string, elementType: string | null = null): RowColumnPlan =>
      rowColumnPlan({ name: 'c', baseType, elementType, typmod: -1 });
    expect(sameDocumentValue(plan('numeric'), '1249.00', '1249.0')).toBe(true);
    expect(sameDocumentValue(plan('numeric'), '1249.00', '1249.01')).toBe(false);
    expect(sameDocumentValue(plan('jsonb'), { a: 1, b: [2] }, { b: [2], a: 1 })).toBe(true);
    expect(sameDocumentValue(plan('float4'), 0.1, Math.fround(0.1))).toBe(true);
    expect(sameDocumentValue(plan('interval'), 'P0Y0M1DT30H0M0.5S', 'P1DT30H0.500000S')).toBe(true);
    expect(sameDocumentValue(plan('interval'), 'P0Y0M1DT30H0M0S', 'P1DT31H')).toBe(false);
    expect(sameDocumentValue(plan('_int4', 'int4'), [1, 2], [1, 3])).toBe(false);
  });

  it('selects each column in Debezium’s wire form, arrays element by element', () => {
    const plan = rowColumnPlan({
      name: 'at',
      baseType: '_timestamp',
      elementType: 'timestamp',
      typmod: -1,
    });
    expect(wireExpression(plan)).toContain('unnest("at") with ordinality');
    expect(
      wireExpression(
        rowColumnPlan({ name: 'x"y', baseType: 'int4', elementType: null, typmod: -1 }),
      ),
    ).toBe('"x""y"::text');
  });
});

/**
 * Where PostgreSQL and Debezium's events really differ (not verify's doing), so verify reports
 * them: each entry is `id.column`.
 */
const KNOWN_VALUES_PROBE = [
  // bigint[][] and text[][]: Debezium sends nulls / Java array names for the inner arrays.
  '1.c_int_arr2',
  '101.c_int_arr2',
  '102.c_int_arr2',
  '2.c_int_arr2',
  '1.c_text_arr2',
  '101.c_text_arr2',
  // numeric[] holding NaN: Debezium sends null for the whole array.
  '1.c_num_arr',
  '101.c_num_arr',
  '104.c_num_arr',
  '4.c_num_arr',
  // date[] with BC dates: the era is lost (0044 BC arrives as 0044 AD), snapshot and stream.
  '1.c_date_arr',
  '101.c_date_arr',
  '104.c_date_arr',
  '4.c_date_arr',
  // date BC in the snapshot (JDBC): the era is lost; the streamed copy (104, 106) is right.
  '4.c_date',
  '6.c_date',
  // timestamp[] BC: two days off (Julian calendar), snapshot and stream.
  '104.c_ts_arr',
  '4.c_ts_arr',
  // time[] '24:00:00' arrives as 00:00:00.
  '1.c_time_arr',
  '101.c_time_arr',
  // name in the stream: Debezium sends null.
  '101.c_name',
  // timestamp '294276-12-31 23:59:59.999999': Debezium's microseconds overflow a long.
  '105.c_ts',
  '5.c_ts',
].sort();
const KNOWN_EDGE_PROBE = [
  // int[][]: Debezium sends [null, null].
  '1.c_int_2d',
  // timestamp '294276-12-31 23:59:59.999999': Debezium's microseconds overflow a long.
  '5.c_ts',
].sort();

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeadLetterLedger } from './dead-letter-ledger';
import {
  parseDeadLetter,
  parseDeadLetterId,
  parseResolution,
  payloadExcerpt,
  qualifiedTable,
  tableOfTopic,
  type RawDeadLetter,
  type Resolution,
} from './dead-letter-record';
import { indexerHealthOf, parseGauge } from './pipeline.service';

/** Change events recorded from Debezium on the local stack. */
const recorded = JSON.parse(
  readFileSync(
    join(__dirname, '../../../libs/change-events/src/fixtures/ops-probe.records.json'),
    'utf8',
  ),
) as { topic: string; key: string | null; value: string | null }[];
const composite = recorded[0];
const update = recorded.find((r) => r.value?.includes('"op":"u"'));

/** Headers as the indexer writes them (see apps/indexer dead-letter publisher). */
function letter(
  offset: number,
  headers: Record<string, string>,
  event: { key: string | null; value: string | null } = composite,
  partition = 0,
): RawDeadLetter {
  return {
    partition,
    offset: String(offset),
    timestamp: '1796109741816',
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
    key: event.key === null ? null : Buffer.from(event.key),
    value: event.value === null ? null : Buffer.from(event.value),
  };
}

const legacyHeaders = {
  'searchsync.reason': 'illegal_argument_exception: no write index is defined for alias',
  'searchsync.source.topic': 'searchsync.public.composite_probe',
  'searchsync.source.partition': '0',
  'searchsync.source.offset': '17',
};

const currentHeaders = {
  ...legacyHeaders,
  'searchsync.reason': 'mapping_conflict: column qty is integer but mapped as date; rebuild',
  'searchsync.reason.class': 'mapping_conflict',
  'searchsync.table': 'public.composite_probe',
  'searchsync.time': '1796109900000',
};

describe('dead-letter records', () => {
  it('reads a record of the current indexer: class, table, source, time, excerpts', () => {
    const entry = parseDeadLetter(letter(5, currentHeaders), 'searchsync');
    expect(entry).toMatchObject({
      id: '0:5',
      reasonClass: 'mapping_conflict',
      reason: currentHeaders['searchsync.reason'],
      table: 'public.composite_probe',
      source: { topic: 'searchsync.public.composite_probe', partition: 0, offset: '17' },
      time: new Date(1796109900000).toISOString(),
      key: '{"tenant":7,"region":"eu"}',
      replayOf: null,
    });
    // The envelope's schema is left out; the row images stay.
    expect(entry.excerpt).toBe('{"op":"c","after":{"tenant":7,"region":"eu","qty":1}}');
    expect(entry.bytes).toBe(
      Buffer.byteLength(composite.key ?? '') + Buffer.byteLength(composite.value ?? ''),
    );
  });

  it('reads a record of an older indexer: unclassified, table from the topic, Kafka time', () => {
    const entry = parseDeadLetter(letter(6, legacyHeaders), 'searchsync');
    expect(entry).toMatchObject({
      reasonClass: 'unclassified',
      table: 'public.composite_probe',
      time: new Date(1796109741816).toISOString(),
    });
  });

  it('tolerates a record without any header', () => {
    const entry = parseDeadLetter(letter(7, {}, { key: null, value: null }), 'searchsync');
    expect(entry).toMatchObject({
      id: '0:7',
      reasonClass: 'unclassified',
      reason: 'no reason recorded',
      table: null,
      source: null,
      key: null,
      excerpt: null,
    });
  });

  it('takes an empty searchsync.table as unknown and falls back to the topic', () => {
    const entry = parseDeadLetter(
      letter(8, { ...currentHeaders, 'searchsync.table': '' }),
      'searchsync',
    );
    expect(entry.table).toBe('public.composite_probe');
  });

  it('redacts secret-looking columns, URL credentials and key=value secrets in excerpts', () => {
    const value = JSON.stringify({
      schema: { type: 'struct' },
      payload: {
        op: 'u',
        before: null,
        after: {
          id: 1,
          password: 'hunter2',
          api_key: 'abc',
          dsn: 'postgres://app:pw@db/app',
          note: 'token=xyz',
        },
        source: { lsn: 1 },
      },
    });
    const excerpt = payloadExcerpt(Buffer.from(value)) ?? '';
    expect(excerpt).not.toMatch(/hunter2|abc|:pw@|xyz/);
    expect(JSON.parse(excerpt)).toEqual({
      op: 'u',
      after: {
        id: 1,
        password: '********',
        api_key: '********',
        dsn: 'postgres://app:********@db/app',
        note: 'token=********',
      },
    });
    expect(payloadExcerpt(Buffer.from('not json; password=hunter2'))).toBe(
      'not json; password=********',
    );
  });

  it('clips long payloads and renders bytes that are not UTF-8 as hex', () => {
    const long = payloadExcerpt(Buffer.from(update?.value ?? ''), 40) ?? '';
    expect(long).toHaveLength(40);
    expect(long.endsWith('…')).toBe(true);
    expect(payloadExcerpt(Buffer.from([0xff, 0xfe, 0x01]))).toBe('<3 bytes, not UTF-8> fffe01');
  });

  it('names tables the way the other admin calls do', () => {
    expect(tableOfTopic('searchsync.sales.orders', 'searchsync')).toBe('sales.orders');
    expect(tableOfTopic('searchsync.dead-letter', 'searchsync')).toBeNull();
    expect(tableOfTopic('other.sales.orders', 'searchsync')).toBeNull();
    expect(qualifiedTable('orders')).toBe('public.orders');
    expect(qualifiedTable('sales.orders')).toBe('sales.orders');
    expect(parseDeadLetterId('0:0042')).toEqual({ partition: 0, offset: '42' });
    expect(parseDeadLetterId('x:1')).toBeNull();
  });

  it('reads resolutions and ignores tombstones and garbage', () => {
    const resolution: Resolution = { status: 'discarded', at: '2026-12-01T08:00:00Z', by: 'a' };
    expect(parseResolution(Buffer.from(JSON.stringify(resolution)))).toEqual(resolution);
    expect(parseResolution(null)).toBeNull();
    expect(parseResolution(Buffer.from('{"status":"forgotten"}'))).toBeNull();
    expect(parseResolution(Buffer.from('not json'))).toBeNull();
  });
});

describe('dead-letter ledger', () => {
  const other = {
    ...currentHeaders,
    'searchsync.reason.class': 'decode_error',
    'searchsync.table': 'public.ops_probe',
    'searchsync.source.topic': 'searchsync.public.ops_probe',
  };

  function ledger(): DeadLetterLedger {
    const l = new DeadLetterLedger();
    l.addLetter(parseDeadLetter(letter(0, currentHeaders), 'searchsync'));
    l.addLetter(parseDeadLetter(letter(1, other, update), 'searchsync'));
    l.addLetter(parseDeadLetter(letter(2, currentHeaders), 'searchsync'));
    l.addLetter(parseDeadLetter(letter(0, other, update, 1), 'searchsync'));
    return l;
  }

  it('lists unresolved entries in (partition, offset) order, filtered, in pages', () => {
    const l = ledger();
    expect(l.query({ limit: 10 }).items.map((i) => i.id)).toEqual(['0:0', '0:1', '0:2', '1:0']);
    const first = l.query({ table: 'public.composite_probe', limit: 1 });
    expect(first).toMatchObject({ total: 2, next: '0:0' });
    const second = l.query({
      table: 'public.composite_probe',
      limit: 1,
      after: { partition: 0, offset: '0' },
    });
    expect(second).toMatchObject({ total: 2, next: null });
    expect(second.items.map((i) => i.id)).toEqual(['0:2']);
    expect(l.query({ reason: 'decode_error', limit: 10 }).items.map((i) => i.id)).toEqual([
      '0:1',
      '1:0',
    ]);
  });

  it('counts unresolved only: a resolution takes an entry out, a tombstone puts it back', () => {
    const l = ledger();
    expect(l.unresolved().total).toBe(4);
    const replayed: Resolution = {
      status: 'replayed',
      at: '2026-12-01T08:00:00Z',
      by: 'e2e',
      source: { topic: 'searchsync.public.composite_probe', partition: 0, offset: '17' },
    };
    l.setResolution('0:0', replayed);
    expect(l.unresolved()).toEqual({
      total: 3,
      byTable: new Map([
        ['public.ops_probe', 2],
        ['public.composite_probe', 1],
      ]),
    });
    expect(l.query({ status: 'replayed', limit: 10 }).items).toEqual([
      expect.objectContaining({ id: '0:0', status: 'replayed', resolution: replayed }),
    ]);
    l.setResolution('0:0', null);
    expect(l.unresolved().total).toBe(4);
  });

  it('does not apply a resolution written for another record with the same id', () => {
    const l = ledger();
    l.setResolution('0:0', {
      status: 'discarded',
      at: 'x',
      by: 'y',
      source: { topic: 'searchsync.public.gone', partition: 0, offset: '1' },
    });
    expect(l.unresolved().total).toBe(4);
  });

  it('selects by ids (skipping unknown and resolved ones) or by filters, up to a limit', () => {
    const l = ledger();
    l.setResolution('0:2', { status: 'discarded', at: 'then', by: 'x' });
    expect(l.select({ ids: ['0:0', '0:2', '9:9', '0:0'], limit: 10 })).toEqual({
      selected: [expect.objectContaining({ id: '0:0' })],
      skipped: [
        { id: '0:2', why: 'already discarded at then' },
        { id: '9:9', why: 'no such dead letter' },
      ],
      remaining: 0,
    });
    const byTable = l.select({ table: 'public.ops_probe', limit: 1 });
    expect(byTable.selected.map((e) => e.id)).toEqual(['0:1']);
    expect(byTable.remaining).toBe(1);
    expect(l.select({ ids: ['0:1'], table: 'public.composite_probe', limit: 10 }).skipped).toEqual([
      { id: '0:1', why: 'does not match the table/reason filter' },
    ]);
  });

  it('forgets entries that retention removed from Kafka', () => {
    const l = ledger();
    l.prune(0, '2');
    expect(l.query({ limit: 10 }).items.map((i) => i.id)).toEqual(['0:2', '1:0']);
    expect(l.get('0:0')).toBeUndefined();
  });
});

describe('indexer consumer state from its metrics', () => {
  const url = 'http://127.0.0.1:3002/metrics';
  const exposition = (running: number) =>
    `# HELP searchsync_indexer_consumer_running 1 while the Kafka consumer runs\n# TYPE searchsync_indexer_consumer_running gauge\nsearchsync_indexer_consumer_running ${running}\nsearchsync_indexer_last_applied_source_timestamp_seconds{table="public.products"} 1796109741.816\n`;

  it('reads the gauge: 1 consuming, 0 not', () => {
    expect(indexerHealthOf(url, { text: exposition(1) })).toEqual({
      metricsUrl: url,
      reachable: true,
      consuming: true,
      writesBlocked: null,
    });
    expect(indexerHealthOf(url, { text: exposition(0) }).consuming).toBe(false);
  });

  it('reads whether writes are blocked', () => {
    const text = `${exposition(1)}searchsync_indexer_writes_blocked 1\n`;
    expect(indexerHealthOf(url, { text }).writesBlocked).toBe(true);
    expect(
      indexerHealthOf(url, { text: `${exposition(1)}searchsync_indexer_writes_blocked 0\n` })
        .writesBlocked,
    ).toBe(false);
  });

  it('takes a missing gauge (an older indexer) as unknown, and no answer as unreachable', () => {
    expect(indexerHealthOf(url, { text: 'searchsync_indexer_bulk_retries_total 0\n' })).toEqual({
      metricsUrl: url,
      reachable: true,
      consuming: null,
      writesBlocked: null,
    });
    expect(indexerHealthOf(url, { error: 'connect ECONNREFUSED 127.0.0.1:3002' })).toEqual({
      metricsUrl: url,
      reachable: false,
      consuming: null,
      writesBlocked: null,
      error: 'connect ECONNREFUSED 127.0.0.1:3002',
    });
  });

  it('does not take a longer metric name for the gauge', () => {
    expect(
      parseGauge(
        'searchsync_indexer_consumer_running_total 5\n',
        'searchsync_indexer_consumer_running',
      ),
    ).toBeNull();
    expect(parseGauge('g{a="b"} 3\n', 'g')).toBe(3);
  });
});

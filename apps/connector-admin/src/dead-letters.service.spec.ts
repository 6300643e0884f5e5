import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigResourceTypes, ConfigSource, type Admin } from 'kafkajs';
import { AdminMetrics } from './admin-metrics';
import type { AdminConfig } from './admin-config';
import { DeadLetterLedger } from './dead-letter-ledger';
import {
  parseDeadLetter,
  parseDeadLetterId,
  parseResolution,
  payloadExcerpt,
  qualifiedTable,
  resolutionApplies,
  tableOfTopic,
  type DeadLetterEntry,
  type RawDeadLetter,
  type Resolution,
} from './dead-letter-record';
import {
  DeadLettersService,
  PostgresRowLookup,
  RowCheckError,
  originalOf,
  planReplay,
  whyNotReplay,
  type RawRecord,
  type RowLookup,
} from './dead-letters.service';
import type { Infrastructure } from './infrastructure.service';
import { indexerHealthOf, parseGauge } from './pipeline.service';
import type { TableCatalog, TableColumns } from './table-catalog';

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
    l.setResolution('0:2', {
      status: 'discarded',
      at: 'then',
      by: 'x',
      source: { topic: 'searchsync.public.composite_probe', partition: 0, offset: '17' },
    });
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

  it('forgets entries that retention removed from Kafka, and returns the unresolved ones', () => {
    const l = ledger();
    l.setResolution('0:1', {
      status: 'discarded',
      at: 'then',
      by: 'x',
      source: { topic: 'searchsync.public.ops_probe', partition: 0, offset: '17' },
    });
    const lost = l.prune(0, '2');
    expect(l.query({ limit: 10 }).items.map((i) => i.id)).toEqual(['0:2', '1:0']);
    expect(l.get('0:0')).toBeUndefined();
    // 0:1 was discarded: nothing lost with it.
    expect(lost.map((e) => e.id)).toEqual(['0:0']);
    expect(l.prune(0, '2')).toEqual([]);
  });
});

describe('resolutions match their own record only', () => {
  const entry = parseDeadLetter(letter(0, currentHeaders), 'searchsync');
  const source = { topic: 'searchsync.public.composite_probe', partition: 0, offset: '17' };
  const base = { status: 'discarded' as const, at: 'then', by: 'x' };

  it('needs the source the resolution was written for', () => {
    expect(resolutionApplies(entry, { ...base, source })).toBe(true);
    expect(resolutionApplies(entry, { ...base, source, time: entry.time })).toBe(true);
    // Written for another record (the dead-letter topic was recreated): not this one's.
    expect(resolutionApplies(entry, { ...base, source: { ...source, offset: '18' } })).toBe(false);
    expect(resolutionApplies(entry, { ...base, source, time: new Date(0).toISOString() })).toBe(
      false,
    );
    // Without a source it cannot show whose it was.
    expect(resolutionApplies(entry, base)).toBe(false);
    expect(resolutionApplies(entry, { ...base, source: null })).toBe(false);
  });

  it('tells source-less records apart by their time', () => {
    const bare = parseDeadLetter(letter(7, {}, { key: null, value: null }), 'searchsync');
    expect(resolutionApplies(bare, { ...base, source: null, time: bare.time })).toBe(true);
    expect(resolutionApplies(bare, { ...base, source: null })).toBe(false);
    expect(resolutionApplies(bare, { ...base, source, time: bare.time })).toBe(false);
  });

  it('keeps an old discard from hiding a new letter at the same id', () => {
    const l = new DeadLetterLedger();
    l.setResolution('0:0', {
      ...base,
      source: { topic: 'searchsync.public.other', partition: 0, offset: '3' },
    });
    l.setResolution('0:1', { ...base });
    l.addLetter(entry);
    l.addLetter(parseDeadLetter(letter(1, currentHeaders), 'searchsync'));
    expect(l.unresolved().total).toBe(2);
  });
});

const raw = (r: { key: string | null; value: string | null }): RawRecord => ({
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value === null ? null : Buffer.from(r.value),
});
const ops = recorded.filter((r) => r.topic === 'searchsync.public.ops_probe');
const opsUpsert = raw(ops[0]);
const opsDelete = raw(recorded[5]);
const opsTruncate = raw(recorded[9]);

/** Rows as a lookup answers for them; `error` makes it unable to tell. */
function rowsOf(present: string[], error?: string): RowLookup & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    exists(reference: string, id: string) {
      asked.push(`${reference}/${id}`);
      if (error) return Promise.reject(new RowCheckError(error));
      return Promise.resolve(present.includes(`${reference}/${id}`));
    },
  };
}

describe('what may be replayed', () => {
  it('replays an upsert whose row is still there, and a delete without asking', async () => {
    const rows = rowsOf(['public.ops_probe/1']);
    expect(await whyNotReplay(opsUpsert, rows)).toBeNull();
    expect(await whyNotReplay(opsDelete, rows)).toBeNull();
    expect(rows.asked).toEqual(['public.ops_probe/1']);
  });

  it('refuses an upsert of a row deleted since', async () => {
    expect(await whyNotReplay(opsUpsert, rowsOf([]))).toMatch(/no longer in PostgreSQL/);
  });

  it('refuses when whether the row exists cannot be told', async () => {
    const why = await whyNotReplay(opsUpsert, rowsOf([], 'connection refused'));
    expect(why).toMatch(/cannot be checked \(connection refused\)/);
    // Undecodable (here: a keyless table's record; or bytes that are no change event).
    expect(await whyNotReplay(raw(recorded[1]), rowsOf([]))).toMatch(/cannot be decoded/);
    expect(
      await whyNotReplay({ key: null, value: Buffer.from('{"not":"debezium"') }, rowsOf([])),
    ).toMatch(/cannot be decoded/);
  });

  it('refuses a truncate: resync the table instead', async () => {
    const rows = rowsOf([]);
    expect(await whyNotReplay(opsTruncate, rows)).toMatch(/truncate.*resync the table instead/);
    expect(rows.asked).toEqual([]);
  });
});

describe('row lookups', () => {
  const opsTable: TableColumns = {
    schema: 'public',
    table: 'ops_probe',
    primaryKey: ['id'],
    columns: [
      {
        name: 'id',
        sqlType: 'integer',
        typeName: 'int4',
        baseType: 'int4',
        elementType: null,
        typmod: -1,
        typtype: 'b',
        elementTyptype: null,
        notReplicated: null,
      },
    ],
  };
  const catalog = (table: TableColumns | Error): Pick<TableCatalog, 'resolve'> => ({
    resolve: () => (table instanceof Error ? Promise.reject(table) : Promise.resolve(table)),
  });

  it('looks the row up by its typed key', async () => {
    const queries: { sql: string; values: unknown[] }[] = [];
    const lookup = new PostgresRowLookup(catalog(opsTable), (sql, values) => {
      queries.push({ sql, values });
      return Promise.resolve({ rowCount: values[0] === '1' ? 1 : 0 });
    });
    expect(await lookup.exists('public.ops_probe', '1')).toBe(true);
    expect(await lookup.exists('public.ops_probe', '2')).toBe(false);
    expect(queries[0]).toEqual({
      sql: 'select 1 from "public"."ops_probe" where ("id") = ($1::integer) limit 1',
      values: ['1'],
    });
  });

  it('throws RowCheckError when the table, the key or the query fails', async () => {
    const ok = () => Promise.resolve({ rowCount: 1 });
    await expect(
      new PostgresRowLookup(catalog(new Error('table public.ops_probe does not exist')), ok).exists(
        'public.ops_probe',
        '1',
      ),
    ).rejects.toThrow(RowCheckError);
    // A composite id for a one-column key.
    await expect(
      new PostgresRowLookup(catalog({ ...opsTable, primaryKey: ['id', 'region'] }), ok).exists(
        'public.ops_probe',
        '1',
      ),
    ).rejects.toThrow(/does not fit the primary key/);
    await expect(
      new PostgresRowLookup(catalog(opsTable), () =>
        Promise.reject(new Error('invalid input syntax for type integer: "x"')),
      ).exists('public.ops_probe', 'x'),
    ).rejects.toThrow(/not looked up: invalid input syntax/);
  });
});

describe('dead letters without their payload', () => {
  // The indexer left the value out: too large for the dead-letter topic.
  const tooLarge = {
    ...currentHeaders,
    'searchsync.reason.class': 'too_large',
    'searchsync.source.topic': 'searchsync.public.ops_probe',
    'searchsync.source.offset': '3',
    'searchsync.reason':
      'too_large: … (the original value, 2000000 bytes, exceeds the dead-letter topic’s max.message.bytes and was left out: read it from the source topic, partition and offset)',
  };
  const entry: DeadLetterEntry = parseDeadLetter(
    letter(4, tooLarge, { key: ops[0].key, value: null }),
    'searchsync',
  );
  const stub: RawRecord = { key: opsUpsert.key, value: null };

  it('replays the original read back from its source topic', async () => {
    expect(originalOf(entry, stub, new Map([[entry.id, opsUpsert]]))).toBe(opsUpsert);
    const plan = await planReplay(
      [entry],
      new Map([[entry.id, stub]]),
      new Map([[entry.id, opsUpsert]]),
      rowsOf(['public.ops_probe/1']),
    );
    expect(plan.skipped).toEqual([]);
    expect(plan.ready).toEqual([{ entry, record: opsUpsert }]);
    expect(plan.ready[0].record.value).not.toBeNull();
  });

  it('skips it, never sends a tombstone, when the original is gone', async () => {
    const plan = await planReplay(
      [entry],
      new Map([[entry.id, stub]]),
      new Map(),
      rowsOf(['public.ops_probe/1']),
    );
    expect(plan.ready).toEqual([]);
    expect(plan.skipped).toEqual([
      {
        id: entry.id,
        why: 'the original is no longer in searchsync.public.ops_probe; resync the table',
      },
    ]);
  });

  it('does not take another record at that offset for the original', () => {
    expect(originalOf(entry, stub, new Map([[entry.id, raw(composite)]]))).toMatch(
      /is not the original/,
    );
    expect(originalOf(entry, undefined, new Map())).toMatch(/no longer in the dead-letter topic/);
  });
});

describe('dead-letter topic retention and expiry', () => {
  const config = {
    INDEXER_DEAD_LETTER_TOPIC: 'searchsync.dead-letter',
    SEARCHSYNC_TOPIC_PREFIX: 'searchsync',
  } as AdminConfig;

  /** A Kafka admin answering as a broker does for a topic the indexer's producer created. */
  function kafkaAdmin(retentionMs: string) {
    const altered: unknown[] = [];
    const entryOf = (configName: string, configValue: string, configSource: ConfigSource) => ({
      configName,
      configValue,
      configSource,
      isDefault: configSource === ConfigSource.DEFAULT_CONFIG,
      isSensitive: false,
      readOnly: false,
      configSynonyms: [],
    });
    const admin = {
      listTopics: () =>
        Promise.resolve(['searchsync.dead-letter', 'searchsync.dead-letter.resolutions']),
      createTopics: () => Promise.resolve(true),
      describeConfigs: () =>
        Promise.resolve({
          throttleTime: 0,
          resources: [
            {
              errorCode: 0,
              errorMessage: '',
              resourceName: 'searchsync.dead-letter',
              resourceType: ConfigResourceTypes.TOPIC,
              configEntries: [
                entryOf(
                  'retention.ms',
                  retentionMs,
                  retentionMs === '604800000'
                    ? ConfigSource.DEFAULT_CONFIG
                    : ConfigSource.TOPIC_CONFIG,
                ),
                entryOf('retention.bytes', '-1', ConfigSource.DEFAULT_CONFIG),
                entryOf('max.message.bytes', '2097152', ConfigSource.TOPIC_CONFIG),
                entryOf('cleanup.policy', 'delete', ConfigSource.DEFAULT_CONFIG),
              ],
            },
          ],
        }),
      alterConfigs: (request: unknown) => {
        altered.push(request);
        return Promise.resolve({});
      },
    };
    return { admin: admin as unknown as Admin, altered };
  }

  function service(admin: Admin, metrics = new AdminMetrics()) {
    const infra = { kafkaAdmin: () => Promise.resolve(admin) } as unknown as Infrastructure;
    return new DeadLettersService(config, infra, {} as TableCatalog, metrics);
  }

  it('makes a dead-letter topic created with the broker default never expire', async () => {
    const { admin, altered } = kafkaAdmin('604800000');
    await service(admin)['ensureTopics']();
    expect(altered).toEqual([
      {
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: 'searchsync.dead-letter',
            // The topic's other override is kept: AlterConfigs replaces them all.
            configEntries: [
              { name: 'max.message.bytes', value: '2097152' },
              { name: 'retention.ms', value: '-1' },
              { name: 'retention.bytes', value: '-1' },
            ],
          },
        ],
      },
    ]);
  });

  it('leaves a topic that already keeps dead letters forever alone', async () => {
    const { admin, altered } = kafkaAdmin('-1');
    await service(admin)['ensureTopics']();
    expect(altered).toEqual([]);
  });

  it('runs one operation at a time in a process, even when the first one fails', async () => {
    const s = service(kafkaAdmin('-1').admin);
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = s['serialized'](async () => {
      events.push('first started');
      await gate;
      events.push('first ended');
      throw new Error('first failed');
    });
    const second = s['serialized'](() => {
      events.push('second started');
      return Promise.resolve('second');
    });
    await Promise.resolve();
    expect(events).toEqual(['first started']);
    release();
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe('second');
    expect(events).toEqual(['first started', 'first ended', 'second started']);
  });

  it('counts unresolved dead letters Kafka deleted', async () => {
    const metrics = new AdminMetrics();
    const s = service(kafkaAdmin('-1').admin, metrics);
    const lost = [
      parseDeadLetter(letter(0, currentHeaders), 'searchsync'),
      parseDeadLetter(letter(1, currentHeaders), 'searchsync'),
    ];
    s['reportExpired'](lost);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'searchsync_dead_letters_expired_total{table="public.composite_probe",reason_class="mapping_conflict"} 2',
    );
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

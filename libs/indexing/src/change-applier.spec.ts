import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { decodeChangeEvent } from '@searchsync/change-events';
import { parseSearchsyncConfig, type SearchsyncConfig } from '@searchsync/config';
import {
  SearchEngineClientError,
  SearchEngineNotFoundError,
  SearchEngineRequestError,
  SearchEngineUnavailableError,
  type BulkAction,
  type BulkItemResult,
  type SearchEngine,
} from '@searchsync/search-engine';
import { BatchAbortedError, IndexerStoppingError, isRecordFailure } from './apply-errors';
import { ChangeApplier } from './change-applier';
import { InMemoryDeadLetters, type DeadLetterSink } from './dead-letters';
import { CountingMetrics } from './indexing-metrics';
import type { SourceRecord } from './source-record';
import type { WriteStatus } from './write-status';

/**
 * Recorded from the local stack: two tables, `e2e_poisonrec_fixture` (id, name, a timestamp
 * column holding 'infinity' and '-infinity' in rows 2 and 3, numeric NaN in row 4; an update and a
 * delete) and `e2e_poisonrec_other` (two rows).
 */
const recorded = (
  JSON.parse(readFileSync(join(__dirname, 'fixtures', 'poison-batch.records.json'), 'utf8')) as {
    topic: string;
    key: string | null;
    value: string | null;
  }[]
).map((r, i): SourceRecord => ({
  topic: r.topic,
  partition: 0,
  offset: String(i),
  key: r.key === null ? null : Buffer.from(r.key),
  value: r.value === null ? null : Buffer.from(r.value),
}));

const FIXTURE = 'searchsync.public.e2e_poisonrec_fixture';

/**
 * The real decoder, with rows 2 and 3 ('infinity' timestamps) left out: whether they convert
 * depends on the converter's rules, which other tests own.
 */
const withoutInfinityRows: typeof decodeChangeEvent = (key, value) =>
  value === recorded[1].value || value === recorded[2].value
    ? { kind: 'skip', reason: 'tombstone' }
    : decodeChangeEvent(key, value);

function garbage(offset: string, topic = FIXTURE): SourceRecord {
  return {
    topic,
    partition: 0,
    offset,
    key: Buffer.from('{"id":'),
    value: Buffer.from('this is not a change event'),
  };
}

/** A stand-in engine that keeps what it is asked to write; failures are scripted per test. */
class RecordingEngine {
  readonly written: BulkAction[] = [];
  readonly bulkSizes: number[] = [];
  ensureFailures: Error[] = [];
  ensureRefused = new Set<string>();
  /** Refuses to create an index for these properties (a column type the engine lacks). */
  ensureRefusedFor: ((alias: string, properties: Record<string, unknown>) => boolean) | undefined;
  ensureCalls = 0;
  /** Aliases whose index is gone (deleted by the admin); ensureTableIndex creates them again. */
  readonly missing = new Set<string>();
  /** Aliases created by ensureTableIndex, in order. */
  readonly created: string[] = [];
  readonly getDocumentCalls: string[] = [];
  stored = new Map<string, Record<string, unknown>>();
  itemRejection: ((action: BulkAction) => BulkItemResult | undefined) | undefined;
  requestRejection: ((actions: BulkAction[]) => Error | undefined) | undefined;
  /** Building aliases of generations being rebuilt, by live alias. */
  building = new Map<string, string[]>();
  /** Aliases whose live generation a truncate replaced with an empty one. */
  readonly truncated: string[] = [];
  readonly generations = {
    buildingTargets: () => Promise.resolve(new Map(this.building)),
    replaceWithEmpty: (names: { alias: string }) => {
      if (this.missing.has(names.alias)) return Promise.resolve(null);
      this.truncated.push(names.alias);
      return Promise.resolve({ index: `${names.alias}.v2`, replaced: [`${names.alias}.v1`] });
    },
  };
  /** What ensureTableIndex was given, by alias. */
  readonly createdWith = new Map<
    string,
    { properties: Record<string, unknown>; options: unknown }
  >();
  /** Aliases whose mapping extension the engine refuses (a changed column type). */
  readonly extendRefused = new Set<string>();
  readonly metaSet: { alias: string; meta: Record<string, unknown> }[] = [];

  setTableMeta(alias: string, meta: Record<string, unknown>): Promise<void> {
    this.metaSet.push({ alias, meta });
    return Promise.resolve();
  }

  ensureTableIndex(
    names: { alias: string },
    properties: Record<string, unknown>,
    options?: unknown,
  ): Promise<void> {
    this.ensureCalls += 1;
    this.createdWith.set(names.alias, { properties, options });
    const failure = this.ensureFailures.shift();
    if (failure) return Promise.reject(failure);
    if (
      this.ensureRefused.has(names.alias) ||
      this.ensureRefusedFor?.(names.alias, properties) === true
    ) {
      return Promise.reject(
        new SearchEngineRequestError(
          'search engine refused the request (400): mapper_parsing_exception: No handler for type [flat_object] declared on field [x]',
          400,
          'mapper_parsing_exception',
        ),
      );
    }
    if (this.missing.delete(names.alias)) this.created.push(names.alias);
    return Promise.resolve();
  }

  private gone(alias: string): SearchEngineNotFoundError {
    return new SearchEngineNotFoundError(
      `search engine answered 404: no such index [${alias}]`,
      'index_not_found_exception',
    );
  }

  extendMapping(alias: string): Promise<void> {
    if (this.missing.has(alias)) return Promise.reject(this.gone(alias));
    if (this.extendRefused.has(alias)) {
      return Promise.reject(
        new SearchEngineRequestError(
          'mapping of n refused by the engine (values stay in _source): illegal_argument_exception: mapper [n] cannot be changed from type [integer] to [text]',
          400,
          'mapping_refused',
        ),
      );
    }
    return Promise.resolve();
  }

  getDocument(
    alias: string,
    id: string,
    options: { requireIndex?: boolean } = {},
  ): Promise<Record<string, unknown> | null> {
    this.getDocumentCalls.push(`${alias}/${id}`);
    if (this.missing.has(alias))
      return options.requireIndex ? Promise.reject(this.gone(alias)) : Promise.resolve(null);
    return Promise.resolve(this.stored.get(`${alias}/${id}`) ?? null);
  }

  deleteAllDocuments(alias: string): Promise<number> {
    return this.missing.has(alias) ? Promise.reject(this.gone(alias)) : Promise.resolve(0);
  }

  /** Extra results appended to an answer (an engine answer we cannot place). */
  extraResults = 0;

  /** When set, every bulk waits for it before answering; bulks in flight at once are counted. */
  bulkDelay: ((n: number) => Promise<void>) | undefined;
  inFlight = 0;
  maxInFlight = 0;

  bulk(actions: BulkAction[]): Promise<BulkItemResult[]> {
    const delay = this.bulkDelay;
    if (!delay) return this.answer(actions);
    const n = this.bulkSizes.length;
    this.bulkSizes.push(actions.length);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return delay(n)
      .finally(() => (this.inFlight -= 1))
      .then(() => {
        this.bulkSizes.pop();
        return this.answer(actions);
      });
  }

  private answer(actions: BulkAction[]): Promise<BulkItemResult[]> {
    this.bulkSizes.push(actions.length);
    const refused = this.requestRejection?.(actions);
    if (refused) return Promise.reject(refused);
    if (this.extraResults > 0) {
      return Promise.resolve(
        Array.from({ length: actions.length + this.extraResults }, () => ({
          status: 201,
          outcome: 'applied' as const,
        })),
      );
    }
    return Promise.resolve(
      actions.map((action): BulkItemResult => {
        if (this.missing.has(action.index)) {
          // As OpenSearch answers a write with require_alias to a missing alias; a delete there
          // is applied (nothing to delete).
          if (action.type === 'delete') return { status: 404, outcome: 'applied' };
          return {
            status: 404,
            outcome: 'missing_index',
            type: 'index_not_found_exception',
            reason: `index_not_found_exception: no such index [${action.index}] and [require_alias] request flag is [true] and [${action.index}] is not an alias`,
          };
        }
        const rejected = this.itemRejection?.(action);
        if (rejected) return rejected;
        this.written.push(action);
        return { status: 201, outcome: 'applied' as const };
      }),
    );
  }

  idsOf(index: string): string[] {
    return this.written.filter((a) => a.index === index).map((a) => `${a.type}:${a.id}`);
  }
}

function applierWith(
  engine: RecordingEngine,
  options: {
    decode?: typeof decodeChangeEvent;
    maxActions?: number;
    bulkConcurrency?: number;
    heartbeat?: () => Promise<void>;
    publisher?: DeadLetterSink;
    config?: SearchsyncConfig;
  } = {},
) {
  const publisher = new InMemoryDeadLetters();
  const metrics = new CountingMetrics();
  const applier = new ChangeApplier(
    engine as unknown as SearchEngine,
    options.publisher ?? publisher,
    metrics,
    {
      indexPrefix: 'searchsync',
      maxActions: options.maxActions ?? 100,
      maxBytes: 5_000_000,
      ...(options.bulkConcurrency ? { bulkConcurrency: options.bulkConcurrency } : {}),
      // Retries in tests wait milliseconds, not seconds.
      retryDelayMs: 1,
      retryMaxDelayMs: 4,
      ...(options.config ? { config: () => options.config as SearchsyncConfig } : {}),
    },
    options.decode,
  );
  const apply = (records: SourceRecord[]) =>
    applier.apply(records, () => true, options.heartbeat ?? (() => Promise.resolve()));
  return { applier, publisher, metrics, apply };
}

/** What kafkajs throws from `heartbeat()` while the group rebalances. */
function rebalanceInProgress(): Error {
  return Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), {
    name: 'KafkaJSProtocolError',
    type: 'REBALANCE_IN_PROGRESS',
    retriable: false,
  });
}

const FIXTURE_ALIAS = 'searchsync.public.e2e_poisonrec_fixture';
const OTHER_ALIAS = 'searchsync.public.e2e_poisonrec_other';

describe('ChangeApplier: one bad record is that record’s problem', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('dead-letters a garbage record and a record whose conversion throws any error type, and applies every other record of the batch', async () => {
    const engine = new RecordingEngine();
    // Whatever a future converter bug throws — not only ChangeEventDecodeError.
    const throwsFor = new Map<string, Error>([
      ['1', new RangeError('Invalid time value')],
      ['2', new TypeError("Cannot read properties of undefined (reading 'fields')")],
    ]);
    const decode: typeof decodeChangeEvent = (key, value) => {
      const match = [...throwsFor.entries()].find(([offset]) =>
        batch.find((r) => r.offset === offset && r.value === value),
      );
      if (match) throw match[1];
      return decodeChangeEvent(key, value);
    };
    const batch = [...recorded.slice(0, 3), garbage('100'), ...recorded.slice(3)];
    const { publisher, apply } = applierWith(engine, { decode });

    await apply(batch);

    expect(engine.idsOf(FIXTURE_ALIAS)).toEqual([
      expect.stringMatching(/^index:/), // row 1
      expect.stringMatching(/^index:/), // row 4
      expect.stringMatching(/^index:/), // row 1 updated
      expect.stringMatching(/^delete:/), // row 3 deleted
    ]);
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
    const letters = publisher.letters.map((l) => [l.offset, l.reasonClass, l.table]);
    expect(letters).toEqual([
      ['1', 'value_out_of_range', 'public.e2e_poisonrec_fixture'],
      ['2', 'conversion_error', 'public.e2e_poisonrec_fixture'],
      ['100', 'decode_error', 'public.e2e_poisonrec_fixture'],
    ]);
    expect(publisher.letters[0].reason).toMatch(/RangeError: Invalid time value; fix: /);
    expect(publisher.letters[1].reason).toMatch(/TypeError: .*; fix: .*upgrade the indexer/);
    expect(publisher.letters[2].reason).toMatch(/not JSON.*fix: /);
    // The dead letter carries the original bytes.
    expect(publisher.letters[2].value?.toString()).toBe('this is not a change event');
    expect(publisher.letters[0].value).toBe(batch[1].value);
  });

  it('keeps bulks in flight while it decodes on, and returns only once every one has landed', async () => {
    const engine = new RecordingEngine();
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    // The first bulk answers last: the second must not wait for it.
    engine.bulkDelay = (n) => sleep(n === 0 ? 40 : 5);
    const { publisher, apply } = applierWith(engine, {
      decode: withoutInfinityRows,
      maxActions: 2,
      bulkConcurrency: 2,
    });
    await apply(recorded);
    expect(engine.maxInFlight).toBe(2);
    expect(engine.inFlight).toBe(0);
    // The same documents as one bulk at a time writes.
    const sequential = new RecordingEngine();
    const one = applierWith(sequential, { decode: withoutInfinityRows, maxActions: 2 });
    await one.apply(recorded);
    expect(publisher.letters).toEqual(one.publisher.letters);
    expect([...engine.stored.entries()].sort()).toEqual([...sequential.stored.entries()].sort());
    expect(engine.idsOf(FIXTURE_ALIAS).sort()).toEqual(sequential.idsOf(FIXTURE_ALIAS).sort());
  });

  it('fails the whole batch when one of the bulks in flight fails, after the others settled', async () => {
    const engine = new RecordingEngine();
    let settledAfterFailure = false;
    // The second bulk's answer is one we cannot place (not a record's fault): the batch fails.
    engine.bulkDelay = (n) => {
      if (n === 1) {
        engine.extraResults = 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          settledAfterFailure = true;
          resolve();
        }, 20),
      );
    };
    const { apply } = applierWith(engine, {
      decode: withoutInfinityRows,
      maxActions: 2,
      bulkConcurrency: 2,
    });
    await expect(apply(recorded)).rejects.toBeInstanceOf(BatchAbortedError);
    expect(settledAfterFailure).toBe(true);
    expect(engine.inFlight).toBe(0);
  });

  it('decodes the recorded infinity and NaN rows, or dead-letters them; never throws', async () => {
    const engine = new RecordingEngine();
    const { publisher, apply } = applierWith(engine);
    await apply(recorded);
    const handled = engine.written.length + publisher.letters.length;
    expect(handled).toBe(recorded.length);
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
  });

  it('classifies the engine’s per-document refusals and applies the rest', async () => {
    const engine = new RecordingEngine();
    engine.itemRejection = (action) => {
      if (action.type !== 'index') return undefined;
      const doc = action.document;
      if (doc.id === 4)
        return {
          status: 400,
          outcome: 'rejected',
          reason:
            "document_parsing_exception: failed to parse field [n] of type [double] in document with id '4'",
        };
      if (doc.code === 'a')
        return {
          status: 400,
          outcome: 'rejected',
          reason:
            'illegal_argument_exception: Document contains at least one immense term in field="qty" (whose UTF8 encoding is longer than the max length 32766)',
        };
      return undefined;
    };
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(publisher.letters.map((l) => l.reasonClass)).toEqual(['mapping_conflict', 'too_large']);
    expect(publisher.letters[0].reason).toMatch(/resync the table/);
    expect(publisher.letters[1].reason).toMatch(/32766/);
    expect(engine.idsOf(OTHER_ALIAS)).toEqual([expect.stringMatching(/^index:/)]);
  });

  it('splits a bulk request refused as too large down to the one document, which is dead-lettered', async () => {
    const engine = new RecordingEngine();
    const big = recorded[7]; // e2e_poisonrec_other 'b'
    engine.requestRejection = (actions) =>
      actions.some((a) => a.type === 'index' && a.document.code === 'b')
        ? new SearchEngineRequestError(
            'search engine refused the request (413): Request Entity Too Large',
            413,
          )
        : undefined;
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(publisher.letters).toHaveLength(1);
    expect(publisher.letters[0]).toMatchObject({
      offset: '7',
      reasonClass: 'too_large',
      table: 'public.e2e_poisonrec_other',
      value: big.value,
    });
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(1);
    expect(engine.idsOf(FIXTURE_ALIAS)).toHaveLength(4);
    // 6 actions refused, then halves: 3 (ok) + 3 (refused) → 2 (ok) + 1 (refused alone).
    expect(engine.bulkSizes).toEqual([6, 3, 3, 2, 1]);
  });

  it('dead-letters the records of a table whose index the engine refuses, without blocking another table', async () => {
    const engine = new RecordingEngine();
    engine.ensureRefused.add(FIXTURE_ALIAS);
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
    const upserts = publisher.letters.filter((l) => l.table === 'public.e2e_poisonrec_fixture');
    expect(upserts.map((l) => l.reasonClass)).toEqual([
      'mapping_conflict',
      'mapping_conflict',
      'mapping_conflict',
    ]);
    expect(upserts[0].reason).toMatch(/flat_object/);
  });

  it('waits out an engine outage instead of dead-lettering (nothing is lost)', async () => {
    const engine = new RecordingEngine();
    engine.ensureFailures = [
      new SearchEngineUnavailableError('search engine unreachable: connect ECONNREFUSED'),
      new SearchEngineUnavailableError('search engine answered 429: too many requests', 429),
    ];
    const { publisher, apply } = applierWith(engine);

    await apply(recorded.slice(6));

    expect(publisher.letters).toHaveLength(0);
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
  });
});

/** The recorded decoder, with the records at these offsets turned into a truncate of their table. */
function truncateAt(offsets: string[], batch: SourceRecord[]): typeof decodeChangeEvent {
  return (key, value) => {
    const event = withoutInfinityRows(key, value);
    const record = batch.find((r) => r.value === value);
    if (record && offsets.includes(record.offset) && event.kind !== 'skip') {
      return { ...event, kind: 'truncate' };
    }
    return event;
  };
}

describe('ChangeApplier: a failure that is nobody’s record never commits a partial batch', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('writes nothing before the partition’s earlier batch has issued its writes and truncates', async () => {
    const engine = new RecordingEngine();
    const { applier } = applierWith(engine, { decode: withoutInfinityRows });
    let earlierIssued!: () => void;
    const issued = new Promise<void>((resolve) => (earlierIssued = resolve));
    let thisIssued = false;
    const applying = applier.apply(
      recorded.slice(0, 1),
      () => true,
      () => Promise.resolve(),
      {
        earlierIssued: () => issued,
        issued: () => (thisIssued = true),
        earlierLanded: () => Promise.resolve(),
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(engine.written).toEqual([]);
    earlierIssued();
    await applying;
    expect(engine.written).toHaveLength(1);
    expect(thisIssued).toBe(true);
  });

  it('truncates only once the partition’s earlier batches, still in flight, have landed', async () => {
    const engine = new RecordingEngine();
    const batch = [recorded[0], recorded[6]];
    const { applier } = applierWith(engine, { decode: truncateAt(['6'], batch) });
    let landEarlier!: () => void;
    const earlier = new Promise<void>((resolve) => (landEarlier = resolve));
    const applying = applier.apply(
      batch,
      () => true,
      () => Promise.resolve(),
      {
        earlierIssued: () => Promise.resolve(),
        issued: () => undefined,
        earlierLanded: () => earlier,
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    // This batch's own row is written; the truncate waits for the batches before it.
    expect(engine.written).toHaveLength(1);
    expect(engine.truncated).toEqual([]);
    landEarlier();
    await applying;
    expect(engine.truncated).toEqual([OTHER_ALIAS]);
  });

  it('ends the batch uncommitted when a heartbeat fails during a retry before a truncate, dead-lettering nothing', async () => {
    const engine = new RecordingEngine();
    let calls = 0;
    // One outage: the bulk the truncate flushes waits, and the heartbeat of that wait fails.
    engine.requestRejection = () =>
      calls++ === 0
        ? new SearchEngineUnavailableError('search engine answered 503: unavailable', 503)
        : undefined;
    const batch = [recorded[0], recorded[6]];
    const { publisher, apply } = applierWith(engine, {
      decode: truncateAt(['6'], batch),
      heartbeat: () => Promise.reject(rebalanceInProgress()),
    });

    await expect(apply(batch)).rejects.toBeInstanceOf(IndexerStoppingError);

    expect(publisher.letters).toEqual([]);
    expect(engine.written).toEqual([]);
  });

  it('ends the batch uncommitted when a heartbeat fails while the index cannot be created yet (the table is not marked unmappable)', async () => {
    const engine = new RecordingEngine();
    engine.ensureFailures = [
      new SearchEngineUnavailableError('search engine unreachable: connect ECONNREFUSED'),
    ];
    const { publisher, apply } = applierWith(engine, {
      heartbeat: () => Promise.reject(rebalanceInProgress()),
    });

    await expect(apply(recorded.slice(6))).rejects.toBeInstanceOf(IndexerStoppingError);
    expect(publisher.letters).toEqual([]);
  });

  it('never counts a Kafka error as a record’s failure', () => {
    expect(isRecordFailure(rebalanceInProgress())).toBe(false);
    expect(
      isRecordFailure(Object.assign(new Error('x'), { name: 'KafkaJSNonRetriableError' })),
    ).toBe(false);
    expect(isRecordFailure(new RangeError('Invalid time value'))).toBe(true);
  });

  it('fails the whole batch, dead-lettering nothing, when a flushed bulk fails unexpectedly before a truncate', async () => {
    const engine = new RecordingEngine();
    // An answer with more items than actions: not a record's fault, and not understood.
    engine.extraResults = 1;
    const batch = [recorded[0], recorded[6], recorded[7]];
    const { publisher, apply } = applierWith(engine, { decode: truncateAt(['6'], batch) });

    await expect(apply(batch)).rejects.toBeInstanceOf(BatchAbortedError);
    expect(publisher.letters).toEqual([]);
  });
});

describe('ChangeApplier: an engine that refuses writes for reasons not about the data', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  const blocked = (status: number, type: string, reason: string) =>
    new SearchEngineRequestError(
      `search engine refused the request (${status}): ${reason}`,
      status,
      type,
    );

  it.each([
    [
      'an index write block (403)',
      blocked(
        403,
        'cluster_block_exception',
        'index [searchsync.public.x.v1] blocked by: [FORBIDDEN/8/index write (api)];',
      ),
      /cluster_block_exception/,
    ],
    [
      'refused credentials (401)',
      blocked(401, 'security_exception', 'missing authentication credentials'),
      /credentials refused \(401\)/,
    ],
    [
      'a closed index (400)',
      blocked(400, 'index_closed_exception', 'closed'),
      /index_closed_exception/,
    ],
    [
      'a client failure without an HTTP answer',
      new SearchEngineClientError('search engine call failed: socket hang up'),
      /client failure/,
    ],
  ])(
    'waits out %s without splitting the bulk or dead-lettering, and reports writes blocked meanwhile',
    async (_, error, reason) => {
      const engine = new RecordingEngine();
      let calls = 0;
      const seen: WriteStatus[] = [];
      const { applier, publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });
      engine.requestRejection = () => {
        seen.push(applier.writeStatus());
        return calls++ < 3 ? error : undefined;
      };

      await apply(recorded);

      expect(publisher.letters).toEqual([]);
      expect(engine.bulkSizes).toEqual([6, 6, 6, 6]);
      expect(engine.idsOf(FIXTURE_ALIAS)).toHaveLength(4);
      expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
      expect(seen[0].blocked).toBe(false);
      expect(seen[1]).toMatchObject({ blocked: true, reason: expect.stringMatching(reason) });
      expect(applier.writeStatus()).toEqual({ blocked: false });
    },
  );

  it('retries items refused for a block or a closed index instead of dead-lettering them', async () => {
    const engine = new RecordingEngine();
    let refusals = 4;
    engine.itemRejection = (action) => {
      if (action.index !== FIXTURE_ALIAS || refusals <= 0) return undefined;
      refusals -= 1;
      // As classifyBulkItem reports them (see engine-common.spec.ts).
      return refusals % 2 === 0
        ? {
            status: 400,
            outcome: 'blocked',
            type: 'index_closed_exception',
            reason: 'index_closed_exception: closed',
          }
        : {
            status: 429,
            outcome: 'blocked',
            type: 'cluster_block_exception',
            reason:
              'cluster_block_exception: index [x] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
          };
    };
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(publisher.letters).toEqual([]);
    expect(engine.idsOf(FIXTURE_ALIAS)).toHaveLength(4);
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
  });

  it('retries an index creation refused for credentials instead of marking the table unmappable', async () => {
    const engine = new RecordingEngine();
    engine.ensureFailures = [
      blocked(403, 'security_exception', 'no permissions for [indices:admin/create]'),
    ];
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(publisher.letters).toEqual([]);
    expect(engine.idsOf(FIXTURE_ALIAS)).toHaveLength(4);
  });

  it('still dead-letters documents the engine refuses for their content', async () => {
    const engine = new RecordingEngine();
    engine.itemRejection = (action) =>
      action.type === 'index' && action.document.code === 'a'
        ? {
            status: 400,
            outcome: 'rejected',
            reason: 'document_parsing_exception: failed to parse field [qty]',
          }
        : undefined;
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(publisher.letters.map((l) => [l.offset, l.reasonClass])).toEqual([
      ['6', 'mapping_conflict'],
    ]);
  });
});

describe('ChangeApplier: a document the engine keeps failing with a 5xx', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('is dead-lettered as rejected after 10 attempts while the engine accepts other writes', async () => {
    const engine = new RecordingEngine();
    const attempts: number[] = [];
    engine.itemRejection = (action) => {
      if (action.type !== 'index' || action.document.code !== 'a') return undefined;
      attempts.push(1);
      return {
        status: 500,
        outcome: 'retryable',
        reason: 'null_pointer_exception: Cannot invoke "Object.toString()"',
      };
    };
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(recorded);

    expect(attempts).toHaveLength(10);
    expect(publisher.letters).toHaveLength(1);
    expect(publisher.letters[0]).toMatchObject({ offset: '6', reasonClass: 'rejected' });
    expect(publisher.letters[0].reason).toMatch(
      /\(500\) on 10 attempts while it accepted other writes: null_pointer_exception/,
    );
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(1);
    expect(engine.idsOf(FIXTURE_ALIAS)).toHaveLength(4);
  });

  it('is retried for as long as it takes when nothing else is accepted either (an outage)', async () => {
    const engine = new RecordingEngine();
    let failing = 15;
    engine.itemRejection = () =>
      failing > 0
        ? { status: 503, outcome: 'retryable', reason: 'unavailable_shards_exception: primary' }
        : undefined;
    const sizes = () => engine.bulkSizes.length;
    engine.requestRejection = () => {
      if (sizes() > 1) failing -= 1;
      return undefined;
    };
    const { publisher, apply } = applierWith(engine);

    await apply(recorded.slice(6));

    expect(publisher.letters).toEqual([]);
    expect(engine.idsOf(OTHER_ALIAS)).toHaveLength(2);
    expect(engine.bulkSizes.length).toBeGreaterThan(10);
  });
});

describe('ChangeApplier: a table whose index the engine refuses', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('asks again for records with other columns (after an ALTER TABLE), instead of reusing the refusal', async () => {
    const engine = new RecordingEngine();
    // The engine lacks the type of the original column set; the altered table maps fine.
    engine.ensureRefusedFor = (alias, properties) =>
      alias === FIXTURE_ALIAS && !('extra' in properties);
    const altered = new Set(['3', '4']);
    const decode: typeof decodeChangeEvent = (key, value) => {
      const event = withoutInfinityRows(key, value);
      const record = recorded.find((r) => r.value === value);
      if (event.kind !== 'upsert' || !record || !altered.has(record.offset)) return event;
      return {
        ...event,
        columns: [...event.columns, { type: 'string', optional: true, field: 'extra' }],
        document: { ...event.document, extra: 'x' },
      };
    };
    const { publisher, apply } = applierWith(engine, { decode });

    await apply(recorded);

    expect(publisher.letters.map((l) => [l.offset, l.reasonClass])).toEqual([
      ['0', 'mapping_conflict'],
    ]);
    expect(engine.idsOf(FIXTURE_ALIAS)).toEqual([
      expect.stringMatching(/^index:/), // row 4, altered
      expect.stringMatching(/^index:/), // row 1 updated, altered
      expect.stringMatching(/^delete:/),
    ]);
  });
});

describe('ChangeApplier: dead letters', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('copies the replay header of a replayed record that fails again onto its new dead letter', async () => {
    const engine = new RecordingEngine();
    const replayed: SourceRecord = {
      ...garbage('200'),
      headers: { 'searchsync.replay.of': Buffer.from('0:17'), 'searchsync.replay.at': 'now' },
    };
    const { publisher, apply } = applierWith(engine);

    await apply([garbage('199'), replayed]);

    expect(publisher.letters.map((l) => [l.offset, l.replayOf])).toEqual([
      ['199', undefined],
      ['200', '0:17'],
    ]);
  });

  it('publishes again only the letters a failed publish did not store', async () => {
    const stored: string[] = [];
    let failures = 1;
    // As the Kafka publisher does: each letter leaves the list once the broker has it.
    const sink: DeadLetterSink = {
      publish: (letters) => {
        stored.push(letters[0].offset);
        letters.shift();
        if (failures-- > 0) {
          return Promise.reject(
            Object.assign(new Error('Connection error'), {
              name: 'KafkaJSConnectionError',
              retriable: true,
            }),
          );
        }
        stored.push(...letters.splice(0).map((l) => l.offset));
        return Promise.resolve();
      },
    };
    const { apply } = applierWith(new RecordingEngine(), { publisher: sink });

    await apply([garbage('1'), garbage('2'), garbage('3')]);

    expect(stored).toEqual(['1', '2', '3']);
  });
});

describe('ChangeApplier: a table whose index was deleted (dropped, then created again)', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  const otherRows = () => recorded.slice(6);

  it('creates the index again and writes the records, never dead-lettering or losing them', async () => {
    const engine = new RecordingEngine();
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });
    await apply(otherRows());
    const ensuresBefore = engine.ensureCalls;
    // The admin deleted the index of the dropped table; the indexer still knows its mapping.
    engine.missing.add(OTHER_ALIAS);

    await apply(otherRows());

    expect(publisher.letters).toEqual([]);
    expect(engine.created).toEqual([OTHER_ALIAS]);
    expect(engine.ensureCalls).toBe(ensuresBefore + 1);
    expect(engine.idsOf(OTHER_ALIAS)).toEqual(['index:a', 'index:b', 'index:a', 'index:b']);
    // One refused bulk, then the two records again after the index was created.
    expect(engine.bulkSizes.slice(-2)).toEqual([2, 2]);
  });

  it('keeps retrying (reported as blocked) while the index vanishes again right after each creation', async () => {
    const engine = new RecordingEngine();
    const { applier, publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });
    await apply(otherRows());
    // Twice missing is a race with a deletion; the third time it is reported at once.
    let vanishing = 6;
    const seen: WriteStatus[] = [];
    engine.itemRejection = (action) => {
      seen.push(applier.writeStatus());
      if (vanishing <= 0) return undefined;
      vanishing -= 1;
      return {
        status: 404,
        outcome: 'missing_index',
        type: 'index_not_found_exception',
        reason: `index_not_found_exception: no such index [${action.index}]`,
      };
    };

    await apply(otherRows());

    expect(publisher.letters).toEqual([]);
    expect(engine.idsOf(OTHER_ALIAS)).toEqual(['index:a', 'index:b', 'index:a', 'index:b']);
    expect(seen.some((s) => s.blocked && /missing after it was created/.test(s.reason ?? ''))).toBe(
      true,
    );
    expect(applier.writeStatus()).toEqual({ blocked: false });
  });

  it('creates the index again when a new column is mapped on an index that is gone', async () => {
    const engine = new RecordingEngine();
    // The first record knows only the `code` column; the next one adds `qty`.
    let narrow = true;
    const decode: typeof decodeChangeEvent = (key, value) => {
      const event = withoutInfinityRows(key, value);
      if (!narrow || event.kind !== 'upsert') return event;
      return { ...event, columns: event.columns.filter((c) => c.field === 'code') };
    };
    const { publisher, apply } = applierWith(engine, { decode });
    await apply([recorded[6]]);
    narrow = false;
    engine.missing.add(OTHER_ALIAS);

    await apply([recorded[7]]);

    expect(publisher.letters).toEqual([]);
    expect(engine.created).toEqual([OTHER_ALIAS]);
    expect(engine.idsOf(OTHER_ALIAS)).toEqual(['index:a', 'index:b']);
    // Created before the write, so the bulk never met a missing index.
    expect(engine.bulkSizes).toEqual([1, 1]);
  });

  it('treats a truncate of a missing index as done, and the next write creates the index', async () => {
    const engine = new RecordingEngine();
    const batch = otherRows();
    const { publisher, apply } = applierWith(engine, { decode: truncateAt(['6'], batch) });
    await apply([recorded[7]]);
    engine.missing.add(OTHER_ALIAS);

    await apply(batch);

    expect(publisher.letters).toEqual([]);
    expect(engine.created).toEqual([OTHER_ALIAS]);
    expect(engine.idsOf(OTHER_ALIAS)).toEqual(['index:b', 'index:b']);
    expect(engine.bulkSizes).toEqual([1, 1]);
  });

  it('restores no TOASTed value from a missing index: creates it and writes the row without the placeholder', async () => {
    const engine = new RecordingEngine();
    const toasted: typeof decodeChangeEvent = (key, value) => {
      const event = withoutInfinityRows(key, value);
      if (event.kind !== 'upsert' || value !== recorded[4].value) return event;
      return { ...event, document: { ...event.document, name: '__debezium_unavailable_value' } };
    };
    const { publisher, apply } = applierWith(engine, { decode: toasted });
    await apply([recorded[0]]);
    engine.missing.add(FIXTURE_ALIAS);

    await apply([recorded[4]]);

    expect(publisher.letters).toEqual([]);
    expect(engine.getDocumentCalls).toEqual([`${FIXTURE_ALIAS}/1`]);
    expect(engine.created).toEqual([FIXTURE_ALIAS]);
    const update = engine.written.at(-1);
    expect(update).toMatchObject({ type: 'index', index: FIXTURE_ALIAS, id: '1' });
    expect(update?.type === 'index' && 'name' in update.document).toBe(false);
  });
});

describe('ChangeApplier: table configuration and rebuilds', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  const BUILDING = `${FIXTURE_ALIAS}.v2.building`;
  const rows = () => recorded.filter((r) => r.topic === FIXTURE);

  it('writes every change of a table being rebuilt to its new generation too, counted once', async () => {
    const engine = new RecordingEngine();
    engine.building.set(FIXTURE_ALIAS, [BUILDING]);
    const { metrics, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(rows());

    // Writes through the building alias; deletes to the generation's index itself, which an
    // engine would auto-create behind a vanished alias (require_alias does not cover deletes).
    const generation = `${FIXTURE_ALIAS}.v2`;
    const copied = engine.written.filter((a) => a.index === BUILDING || a.index === generation);
    expect(copied.map((a) => `${a.type}:${a.id}`)).toEqual(engine.idsOf(FIXTURE_ALIAS));
    expect(engine.idsOf(generation)).toEqual(['delete:3']);
    // The copy carries the same source version: the generations converge on the same state.
    const live = engine.written.filter((a) => a.index === FIXTURE_ALIAS).map((a) => a.version);
    const copy = copied.map((a) => a.version);
    expect(copy).toEqual(live);
    expect(metrics.eventsApplied.get()).toBe(engine.idsOf(FIXTURE_ALIAS).length);
  });

  it('writes a copy whose generation was swapped in mid-bulk to the live alias instead of dropping it', async () => {
    const engine = new RecordingEngine();
    engine.building.set(FIXTURE_ALIAS, [BUILDING]);
    // The swap removed the building alias between the live write and the copy.
    engine.itemRejection = (action) =>
      action.index === BUILDING
        ? {
            status: 404,
            outcome: 'missing_index',
            type: 'index_not_found_exception',
            reason: `no such index [${BUILDING}] and [require_alias] request flag is [true]`,
          }
        : undefined;
    const { publisher, apply } = applierWith(engine, { decode: withoutInfinityRows });

    await apply(rows());

    const plain = new RecordingEngine();
    await applierWith(plain, { decode: withoutInfinityRows }).apply(rows());
    // Each write twice through the live alias: as itself, and as the copy sent there instead
    // (a delete copy goes to the generation's index, which outlives the swap).
    const expected = plain
      .idsOf(FIXTURE_ALIAS)
      .flatMap((id) => (id.startsWith('delete:') ? [id] : [id, id]))
      .sort();
    expect(engine.idsOf(FIXTURE_ALIAS).sort()).toEqual(expected);
    expect(publisher.letters).toEqual([]);
    expect(engine.idsOf(BUILDING)).toEqual([]);
  });

  it('keeps excluded columns out of documents and mappings, and applies field settings', async () => {
    const engine = new RecordingEngine();
    const config = parseSearchsyncConfig([
      {
        file: 'searchsync.yaml',
        text: 'tables:\n  e2e_poisonrec_fixture:\n    exclude: [ts]\n    fields:\n      name: { analyzer: english }\n    index: { shards: 2 }\n',
      },
    ]);
    const { apply } = applierWith(engine, { decode: withoutInfinityRows, config });

    await apply(rows());

    const documents = engine.written
      .filter((a) => a.index === FIXTURE_ALIAS && a.type === 'index')
      .map((a) => (a as { document: Record<string, unknown> }).document);
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) {
      expect(document).not.toHaveProperty('ts');
      expect(document).toHaveProperty('name');
    }
    const created = engine.createdWith.get(FIXTURE_ALIAS);
    expect(created?.properties).not.toHaveProperty('ts');
    expect(created?.properties.name).toMatchObject({ type: 'text', analyzer: 'english' });
    expect(created?.options).toMatchObject({
      index: { shards: 2 },
      meta: { config: expect.stringMatching(/^[0-9a-f]+$/) },
    });
  });

  it('marks a table whose live index refuses a changed column for a rebuild, once, and dead-letters nothing', async () => {
    const engine = new RecordingEngine();
    const { publisher, applier, apply } = applierWith(engine, { decode: withoutInfinityRows });
    await apply(rows().slice(0, 1));
    // The applier now knows the index; a new column set whose mapping the engine refuses:
    (
      applier as unknown as { mappings: { mappedFields: Map<string, Set<string>> } }
    ).mappings.mappedFields.set(FIXTURE_ALIAS, new Set(['id']));
    engine.extendRefused.add(FIXTURE_ALIAS);

    await apply(rows());
    await apply(rows());

    expect(publisher.letters).toEqual([]);
    expect(engine.metaSet).toHaveLength(1);
    expect(engine.metaSet[0].alias).toBe(FIXTURE_ALIAS);
    expect(engine.metaSet[0].meta.needsRebuild).toMatchObject({
      reason: expect.stringMatching(/cannot be changed from type \[integer\] to \[text\]/),
    });
  });
});

describe('ChangeApplier: vector columns', () => {
  /** A pgvector `vector(3)` row as Debezium 3.6 sends it (libs/change-events fixtures). */
  const vectorRecords = (
    JSON.parse(
      readFileSync(
        join(__dirname, '..', '..', 'change-events', 'src', 'fixtures', 'pgvector.records.json'),
        'utf8',
      ),
    ) as { topic: string; key: string; value: string }[]
  )
    .filter((r) => r.topic.endsWith('.emb_vector'))
    .map((r, i): SourceRecord => ({
      topic: r.topic,
      partition: 0,
      offset: String(i),
      key: Buffer.from(r.key),
      value: Buffer.from(r.value),
    }));
  const config = (dims: number): SearchsyncConfig => ({
    files: ['test.yaml'],
    tables: new Map([
      [
        'public.emb_vector',
        {
          exclude: [],
          include: null,
          fields: { embedding: { type: 'vector', dims } },
          index: {},
        },
      ],
    ]),
    locations: new Map(),
    views: new Map(),
  });

  it('writes the configured vector columns for the engine to copy', async () => {
    const engine = new RecordingEngine();
    const { publisher, apply } = applierWith(engine, { config: config(3) });
    await apply(vectorRecords);
    expect(publisher.letters).toEqual([]);
    const written = engine.written.find((a) => a.type === 'index');
    expect(written).toMatchObject({
      document: { id: 1, embedding: [0.1, -0.25, 3] },
      vectors: [{ column: 'embedding', dims: 3, similarity: 'l2' }],
    });
  });

  it('writes a row again without vector copies when the index refuses them, never dead-letters it for them', async () => {
    const engine = new RecordingEngine();
    // As an index built for other dims refuses the copy (the configuration changed, its rebuild
    // not done yet).
    engine.itemRejection = (action) =>
      action.type === 'index' && action.vectors
        ? {
            status: 400,
            outcome: 'rejected',
            reason:
              'document_parsing_exception: The [dense_vector] field [searchsync_knn_vector_copy…embedding] in doc [1] has a different number of dimensions [3] than defined in the mapping [4]',
          }
        : undefined;
    const { publisher, apply } = applierWith(engine, { config: config(3) });
    await apply(vectorRecords);
    expect(publisher.letters).toEqual([]);
    const written = engine.written.filter((a) => a.type === 'index');
    expect(written).toHaveLength(1);
    expect(written[0]).not.toHaveProperty('vectors');
    expect(written[0]).toMatchObject({ document: { embedding: [0.1, -0.25, 3] } });
  });

  it('still dead-letters a row the index refuses without vector copies', async () => {
    const engine = new RecordingEngine();
    engine.itemRejection = (action) =>
      action.type === 'index'
        ? { status: 400, outcome: 'rejected', reason: 'document_parsing_exception: bad value' }
        : undefined;
    const { publisher, apply } = applierWith(engine, { config: config(3) });
    await apply(vectorRecords);
    expect(publisher.letters).toHaveLength(1);
  });
});

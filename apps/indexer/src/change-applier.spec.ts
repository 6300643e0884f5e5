import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { decodeChangeEvent } from '@searchsync/change-events';
import {
  SearchEngineRequestError,
  SearchEngineUnavailableError,
  type BulkAction,
  type BulkItemResult,
  type SearchEngine,
} from '@searchsync/search-engine';
import type { Producer } from 'kafkajs';
import { ChangeApplier, type SourceRecord } from './change-applier';
import { DeadLetterPublisher, type DeadLetter } from './dead-letter-publisher';
import { IndexerMetrics } from './indexer-metrics';

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
  itemRejection: ((action: BulkAction) => BulkItemResult | undefined) | undefined;
  requestRejection: ((actions: BulkAction[]) => Error | undefined) | undefined;

  ensureTableIndex(names: { alias: string }): Promise<void> {
    const failure = this.ensureFailures.shift();
    if (failure) return Promise.reject(failure);
    if (this.ensureRefused.has(names.alias)) {
      return Promise.reject(
        new SearchEngineRequestError(
          'search engine refused the request (400): mapper_parsing_exception: No handler for type [flat_object] declared on field [x]',
          400,
          'mapper_parsing_exception',
        ),
      );
    }
    return Promise.resolve();
  }

  extendMapping(): Promise<void> {
    return Promise.resolve();
  }

  getDocument(): Promise<null> {
    return Promise.resolve(null);
  }

  deleteAllDocuments(): Promise<number> {
    return Promise.resolve(0);
  }

  bulk(actions: BulkAction[]): Promise<BulkItemResult[]> {
    this.bulkSizes.push(actions.length);
    const refused = this.requestRejection?.(actions);
    if (refused) return Promise.reject(refused);
    return Promise.resolve(
      actions.map((action) => {
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

class CapturingPublisher {
  readonly letters: DeadLetter[] = [];
  publish(letters: DeadLetter[]): Promise<void> {
    this.letters.push(...letters);
    return Promise.resolve();
  }
}

function applierWith(
  engine: RecordingEngine,
  options: { decode?: typeof decodeChangeEvent; maxActions?: number } = {},
) {
  const publisher = new CapturingPublisher();
  const applier = new ChangeApplier(
    engine as unknown as SearchEngine,
    publisher as unknown as DeadLetterPublisher,
    new IndexerMetrics(),
    { indexPrefix: 'searchsync', maxActions: options.maxActions ?? 100, maxBytes: 5_000_000 },
    options.decode,
  );
  const apply = (records: SourceRecord[]) =>
    applier.apply(
      records,
      () => true,
      () => Promise.resolve(),
    );
  return { applier, publisher, apply };
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

describe('DeadLetterPublisher', () => {
  const letter: DeadLetter = {
    topic: FIXTURE,
    partition: 2,
    offset: '41',
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    reason: 'RangeError: Invalid time value; fix: …',
    reasonClass: 'value_out_of_range',
    table: 'public.e2e_poisonrec_fixture',
  };

  it('sends the original key and value with the contract headers', async () => {
    const sent: unknown[] = [];
    const producer = {
      send: (request: unknown) => {
        sent.push(request);
        return Promise.resolve([]);
      },
    };
    const metrics = new IndexerMetrics();
    const publisher = new DeadLetterPublisher(
      producer as unknown as Producer,
      'searchsync.dead-letter',
      metrics,
      () => 1_700_000_000_000,
    );

    await publisher.publish([letter]);

    expect(sent).toEqual([
      {
        topic: 'searchsync.dead-letter',
        acks: -1,
        messages: [
          {
            key: letter.key,
            value: letter.value,
            headers: {
              'searchsync.reason': letter.reason,
              'searchsync.reason.class': 'value_out_of_range',
              'searchsync.source.topic': FIXTURE,
              'searchsync.source.partition': '2',
              'searchsync.source.offset': '41',
              'searchsync.table': 'public.e2e_poisonrec_fixture',
              'searchsync.time': '1700000000000',
            },
          },
        ],
      },
    ]);
    expect(
      await metrics.registry.getSingleMetricAsString('searchsync_indexer_dead_lettered_total'),
    ).toContain(
      'searchsync_indexer_dead_lettered_total{reason="value_out_of_range",table="public.e2e_poisonrec_fixture"} 1',
    );
  });

  it('leaves out a value too large for the dead-letter topic, keeping where it came from', async () => {
    const sent: { messages: { value: Buffer | null; headers: Record<string, string> }[] }[] = [];
    const producer = {
      send: (request: (typeof sent)[number]) => {
        if (request.messages.some((m) => m.value !== null)) {
          return Promise.reject(
            Object.assign(
              new Error(
                'The request included a message larger than the max message size the server will accept',
              ),
              {
                type: 'MESSAGE_TOO_LARGE',
                retriable: false,
              },
            ),
          );
        }
        sent.push(request);
        return Promise.resolve([]);
      },
    };
    const publisher = new DeadLetterPublisher(
      producer as unknown as Producer,
      'searchsync.dead-letter',
      new IndexerMetrics(),
    );

    await publisher.publish([letter, { ...letter, offset: '42' }]);

    expect(sent.map((r) => r.messages[0].headers['searchsync.source.offset'])).toEqual([
      '41',
      '42',
    ]);
    expect(sent[0].messages[0].headers['searchsync.reason']).toMatch(
      /left out: read it from the source topic/,
    );
  });
});

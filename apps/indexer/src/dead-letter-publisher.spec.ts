import { Logger } from '@nestjs/common';
import { ChangeApplier, type DeadLetter, type SourceRecord } from '@searchsync/indexing';
import type { SearchEngine } from '@searchsync/search-engine';
import type { Producer } from 'kafkajs';
import { DeadLetterPublisher } from './dead-letter-publisher';
import { IndexerMetrics } from './indexer-metrics';

const FIXTURE = 'searchsync.public.e2e_poisonrec_fixture';

describe('DeadLetterPublisher', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

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

  it('says which dead letter a replay that failed again re-drove', () => {
    const message = new DeadLetterPublisher(
      {} as Producer,
      'searchsync.dead-letter',
      new IndexerMetrics(),
    ).message({ ...letter, replayOf: '0:17' });
    expect(message.headers).toMatchObject({ 'searchsync.replay.of': '0:17' });
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

  it('never sends a dead letter twice when the applier publishes again after a broker failure', async () => {
    const sent: string[] = [];
    let failures = 1;
    const producer = {
      send: (request: { messages: { headers: Record<string, string> }[] }) => {
        // The second request fails once, after the first was stored.
        if (sent.length === 1 && failures-- > 0) {
          return Promise.reject(
            Object.assign(new Error('Connection error'), {
              name: 'KafkaJSConnectionError',
              retriable: true,
            }),
          );
        }
        sent.push(...request.messages.map((m) => m.headers['searchsync.source.offset']));
        return Promise.resolve([]);
      },
    };
    const metrics = new IndexerMetrics();
    const publisher = new DeadLetterPublisher(
      producer as unknown as Producer,
      'searchsync.dead-letter',
      metrics,
    );
    // Records that are no change events: the engine is asked only for tables being rebuilt.
    const engine = { generations: { buildingTargets: () => Promise.resolve(new Map()) } };
    const applier = new ChangeApplier(engine as unknown as SearchEngine, publisher, metrics, {
      indexPrefix: 'searchsync',
      maxActions: 100,
      maxBytes: 5_000_000,
      retryDelayMs: 1,
      retryMaxDelayMs: 4,
    });
    // Each value is large enough to go in a request of its own.
    const big = (offset: string): SourceRecord => ({
      topic: FIXTURE,
      partition: 0,
      offset,
      key: Buffer.from('{"id":'),
      value: Buffer.alloc(300 * 1024, 'x'),
    });

    await applier.apply(
      [big('1'), big('2'), big('3')],
      () => true,
      () => Promise.resolve(),
    );

    expect(sent).toEqual(['1', '2', '3']);
  });
});

import { sleep } from '@searchsync/retry';
import { Kafka, logLevel } from 'kafkajs';
import { holdPart, releasePart } from '../e2e/support/admin';
import { eventually, stackEngine, stackService } from '../e2e/support/stack';
import { OUTAGE_MS, runScenario } from './support/fault-harness';

/**
 * Faults against the real local stack, each while an application writes (inserts, updates,
 * deletes, multi-row transactions, primary-key changes), each ending with verify: 0 missing,
 * 0 extra, 0 mismatched. docs/reliability.md reports what they measured and what we promise.
 */

/** kill -9 of a part, then until the supervisor has started it again. */
async function killHard(part: string): Promise<void> {
  const before = stackService(part);
  expect(before.pid).not.toBeNull();
  process.kill(before.pid as number, 'SIGKILL');
  await eventually(
    () => Promise.resolve(stackService(part)),
    (now) => now.pid !== null && now.pid !== before.pid && now.state === 'running',
    { what: `${part} restarted after kill -9`, timeoutMs: 180_000 },
  );
}

/** The part held down for `ms` (the supervisor does not restart it meanwhile), then started. */
async function downFor(part: string, ms: number): Promise<void> {
  await holdPart(part);
  try {
    await sleep(ms);
  } finally {
    await releasePart(part);
  }
}

describe('faults: nothing lost, nothing stale', () => {
  it('1. kill -9 of the indexer mid-stream', async () => {
    await runScenario('indexer kill -9', () => killHard('indexer'));
  });

  it('2. kill -9 of Kafka Connect mid-stream', async () => {
    await runScenario('connect kill -9', () => killHard('kafka-connect'));
  });

  it(`5. Kafka down ${OUTAGE_MS / 1000} s`, async () => {
    await runScenario('kafka down', () => downFor('kafka', OUTAGE_MS));
  });

  it(`6. the search engine down ${OUTAGE_MS / 1000} s`, async () => {
    await runScenario('engine down', () => downFor(stackEngine, OUTAGE_MS));
  });

  it('8. PostgreSQL restarted', async () => {
    await runScenario('postgres restart', () => downFor('postgres', 5000));
  });

  it('9. the indexer group reset to the earliest offsets (a full replay)', async () => {
    await runScenario('group reset', async (table) => {
      const kafka = new Kafka({
        clientId: 'faults-group-reset',
        brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
        logLevel: logLevel.NOTHING,
      });
      const client = kafka.admin();
      await client.connect();
      await holdPart('indexer');
      try {
        // An empty group (the indexer down) is the only one Kafka lets an admin reset.
        const groupId = process.env.INDEXER_GROUP_ID ?? 'searchsync-indexer';
        const topic = `${process.env.SEARCHSYNC_TOPIC_PREFIX ?? 'searchsync'}.public.${table}`;
        await eventually(
          async () =>
            client
              .resetOffsets({ groupId, topic, earliest: true })
              .then(() => true)
              .catch(() => false),
          (done) => done,
          { what: `offsets of ${topic} reset`, timeoutMs: 90_000 },
        );
      } finally {
        await releasePart('indexer');
        await client.disconnect();
      }
    });
  });
});

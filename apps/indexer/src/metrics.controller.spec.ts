import { ServiceUnavailableException } from '@nestjs/common';
import type { WriteStatus } from '@searchsync/indexing';
import type { ConsumerStatus } from './change-consumer';
import { IndexerMetrics } from './indexer-metrics';
import type { IndexerService } from './indexer.service';
import { MetricsController } from './metrics.controller';

const consuming: ConsumerStatus = {
  consuming: true,
  state: 'consuming',
  detail: 'consuming 3 table topics',
  topics: 3,
  restarts: 0,
};

function controller(consumer: ConsumerStatus, writes: WriteStatus): MetricsController {
  const indexer = {
    consumerStatus: () => consumer,
    writeStatus: () => writes,
    viewStatus: () => [{ view: 'order_search', state: 'following' }],
  };
  return new MetricsController(new IndexerMetrics(), indexer as unknown as IndexerService);
}

function refusal(call: () => unknown): { status: number; body: Record<string, unknown> } {
  try {
    call();
  } catch (error) {
    if (error instanceof ServiceUnavailableException) {
      return { status: error.getStatus(), body: error.getResponse() as Record<string, unknown> };
    }
    throw error;
  }
  throw new Error('expected a 503');
}

describe('indexer /health', () => {
  it('is ok while consuming with writes going through', () => {
    expect(controller(consuming, { blocked: false }).health()).toMatchObject({
      status: 'ok',
      views: [{ view: 'order_search', state: 'following' }],
    });
  });

  it('answers 503 "writes blocked" with the reason while writes wait on an outage', () => {
    const answer = refusal(() =>
      controller(consuming, {
        blocked: true,
        reason: 'writes forbidden (403): cluster_block_exception: index write (api)',
        since: Date.now() - 5000,
      }).health(),
    );
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      status: 'writes_blocked',
      message: expect.stringMatching(/^writes blocked: writes forbidden \(403\): cluster_block/),
    });
  });

  it('says "not consuming" first when there is no consumer', () => {
    const answer = refusal(() =>
      controller(
        { ...consuming, consuming: false, state: 'down', detail: 'no Kafka consumer running' },
        { blocked: true, reason: 'x' },
      ).health(),
    );
    expect(answer.body).toMatchObject({ status: 'not_consuming' });
  });
});

import { GROUP_EMPTY_GRACE_MS, indexerNotConsuming, type IndexerHealth } from './pipeline.service';

const unscraped = (replicas: IndexerHealth['replicas']): IndexerHealth => ({
  group: 'searchsync-indexer',
  replicas,
  metricsUrl: null,
  reachable: null,
  consuming: replicas === null ? null : replicas.length > 0,
  writesBlocked: null,
});

const scraped = (
  consuming: boolean | null,
  replicas: IndexerHealth['replicas'] = [],
): IndexerHealth => ({
  group: 'searchsync-indexer',
  replicas,
  metricsUrl: 'http://127.0.0.1:3002/metrics',
  reachable: true,
  consuming,
  writesBlocked: false,
});

describe('indexerNotConsuming', () => {
  const member = [{ clientId: 'searchsync-indexer', host: '/10.0.0.7' }];

  it('trusts a scraped indexer over the group: idle with no topic, or re-joining, is consuming', () => {
    expect(indexerNotConsuming(scraped(true, []), GROUP_EMPTY_GRACE_MS * 10, true)).toBeNull();
    expect(indexerNotConsuming(scraped(false, member), 0, true)).toMatch(/consumer_running 0/);
    expect(
      indexerNotConsuming({ ...scraped(null), reachable: false, error: 'ECONNREFUSED' }, 0, true),
    ).toMatch(/do not answer \(ECONNREFUSED\)/);
  });

  it('without a scrape, an empty group fails only after the grace and where topics exist', () => {
    expect(indexerNotConsuming(unscraped([]), GROUP_EMPTY_GRACE_MS - 1, true)).toBeNull();
    expect(indexerNotConsuming(unscraped([]), GROUP_EMPTY_GRACE_MS, false)).toBeNull();
    expect(indexerNotConsuming(unscraped([]), GROUP_EMPTY_GRACE_MS, true)).toMatch(
      /consumer group searchsync-indexer has had no member for 30s/,
    );
    expect(indexerNotConsuming(unscraped(member), GROUP_EMPTY_GRACE_MS * 2, true)).toBeNull();
    // Kafka unreadable: no verdict from the group (that is reported as its own reason).
    expect(indexerNotConsuming(unscraped(null), GROUP_EMPTY_GRACE_MS * 2, true)).toBeNull();
  });
});

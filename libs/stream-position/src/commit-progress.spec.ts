import { decodeCommitProgress, encodeCommitProgress, freshnessSecondsOf } from './commit-progress';

describe('commit progress', () => {
  it('round-trips through offset-commit metadata within Kafka’s 4096-byte default', () => {
    const progress = {
      newestRecordMs: 1_764_000_000_123,
      committedAtMs: 1_764_000_001_000,
      replica: 'indexer-a@host',
    };
    const metadata = encodeCommitProgress(progress);
    expect(decodeCommitProgress(metadata)).toEqual(progress);
    const long = encodeCommitProgress({ ...progress, replica: 'x'.repeat(10_000) });
    expect(Buffer.byteLength(long)).toBeLessThan(4096);
  });

  it('ignores metadata it did not write', () => {
    for (const other of [
      null,
      undefined,
      '',
      'event-id-3',
      '{"f":"other/1","n":1,"c":2}',
      '{"f":"searchsync/1","n":"x","c":2}',
      '{broken',
    ]) {
      expect(decodeCommitProgress(other)).toBeNull();
    }
  });

  it('freshness is the age of the newest record over all partitions, whoever committed them', () => {
    const now = 1_000_000;
    const partitions = [
      {
        metadata: encodeCommitProgress({
          newestRecordMs: now - 30_000,
          committedAtMs: now - 29_000,
          replica: 'a',
        }),
      },
      {
        metadata: encodeCommitProgress({
          newestRecordMs: now - 2_000,
          committedAtMs: now - 1_000,
          replica: 'b',
        }),
      },
      { metadata: '' },
    ];
    expect(freshnessSecondsOf(partitions, now)).toBe(2);
    expect(freshnessSecondsOf([{ metadata: null }], now)).toBeNull();
    // A clock a little ahead at the producer is no negative age.
    expect(
      freshnessSecondsOf(
        [
          {
            metadata: encodeCommitProgress({
              newestRecordMs: now + 500,
              committedAtMs: now,
              replica: 'a',
            }),
          },
        ],
        now,
      ),
    ).toBe(0);
  });
});

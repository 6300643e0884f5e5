import { decodeCommitProgress } from '@searchsync/stream-position';
import { CommitMetadata } from './commit-metadata';

describe('CommitMetadata', () => {
  it('a commit carries the newest timestamp of every batch it covers, and forgets them', () => {
    const ledger = new CommitMetadata('replica-a');
    ledger.noteBatch('t', 0, 10n, 1_000);
    ledger.noteBatch('t', 0, 20n, 3_000);
    ledger.noteBatch('t', 0, 30n, 2_500);
    ledger.noteBatch('t', 1, 5n, 9_000);
    expect(decodeCommitProgress(ledger.forCommit('t', 0, '20', 4_000))).toEqual({
      newestRecordMs: 3_000,
      committedAtMs: 4_000,
      replica: 'replica-a',
    });
    expect(decodeCommitProgress(ledger.forCommit('t', 0, '30'))?.newestRecordMs).toBe(2_500);
    // A commit covering no change (tombstones only) repeats the last progress, never erases it.
    expect(decodeCommitProgress(ledger.forCommit('t', 0, '40'))?.newestRecordMs).toBe(2_500);
    expect(decodeCommitProgress(ledger.forCommit('t', 1, '5'))?.newestRecordMs).toBe(9_000);
  });

  it('gives no metadata before any change was committed, and keeps the last one across clear()', () => {
    const ledger = new CommitMetadata('replica-a');
    ledger.noteBatch('t', 0, 10n, null);
    expect(ledger.forCommit('t', 0, '10')).toBeNull();
    ledger.noteBatch('t', 0, 20n, 5);
    ledger.clear();
    expect(ledger.forCommit('t', 0, '20')).toBeNull();
    ledger.noteBatch('t', 0, 30n, 7);
    expect(decodeCommitProgress(ledger.forCommit('t', 0, '30'))?.newestRecordMs).toBe(7);
    // A replaced consumer's late commit after clear() carries the last progress, not null.
    ledger.clear();
    expect(decodeCommitProgress(ledger.forCommit('t', 0, '31'))?.newestRecordMs).toBe(7);
  });
});

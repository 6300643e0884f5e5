import { caughtUp, pendingRecords } from './applied-offsets';

describe('applied offsets', () => {
  const ends = [
    { partition: 0, offset: '10' },
    { partition: 1, offset: '0' },
  ];

  it('is caught up when every non-empty partition is committed to its end', () => {
    expect(caughtUp(ends, [{ partition: 0, offset: '10' }])).toBe(true);
    expect(caughtUp(ends, [{ partition: 0, offset: '12' }])).toBe(true);
    expect(caughtUp([{ partition: 0, offset: '0' }], [])).toBe(true);
  });

  it('counts what is left, nothing committed meaning all of it', () => {
    expect(pendingRecords(ends, [{ partition: 0, offset: '7' }])).toBe(3n);
    expect(pendingRecords(ends, [{ partition: 0, offset: '-1' }])).toBe(10n);
    expect(pendingRecords(ends, [])).toBe(10n);
    // Records below the low offset are gone (retention): they are no longer to be applied.
    const kept = [{ partition: 0, offset: '10', low: '4' }];
    expect(pendingRecords(kept, [])).toBe(6n);
    expect(pendingRecords(kept, [{ partition: 0, offset: '-1' }])).toBe(6n);
    expect(pendingRecords(kept, [{ partition: 0, offset: '8' }])).toBe(2n);
    expect(caughtUp(ends, [{ partition: 1, offset: '5' }])).toBe(false);
  });
});

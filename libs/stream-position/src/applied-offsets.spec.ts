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
    expect(caughtUp(ends, [{ partition: 1, offset: '5' }])).toBe(false);
  });
});

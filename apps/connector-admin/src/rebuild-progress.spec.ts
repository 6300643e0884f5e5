import {
  fillProgress,
  parseRebuildRecord,
  rebuildRecord,
  type RebuildProgress,
} from './rebuild-progress';

describe('fillProgress', () => {
  it('reports no rate and no ETA before anything was written', () => {
    expect(fillProgress({ rowsTotal: 1000 }, 0, 5)).toEqual({
      rowsDone: 0,
      etaSeconds: null,
      docsPerSecond: null,
    });
  });

  it('derives the ETA from the rate so far', () => {
    expect(fillProgress({ rowsTotal: 1000 }, 250, 10)).toEqual({
      rowsDone: 250,
      etaSeconds: 30,
      docsPerSecond: 25,
    });
  });

  it('never reports more rows done than the table has (streamed changes count as operations)', () => {
    expect(fillProgress({ rowsTotal: 100 }, 180, 9)).toMatchObject({
      rowsDone: 100,
      etaSeconds: 0,
    });
  });

  it('has no ETA when the row count is unknown', () => {
    expect(fillProgress({ rowsTotal: null }, 50, 5)).toMatchObject({
      rowsDone: 50,
      etaSeconds: null,
    });
  });
});

describe('rebuild records in _meta', () => {
  it('round-trips what a restarted admin needs to resume', () => {
    const progress = {
      id: 'rebuild-1',
      reason: 'requested',
      trigger: 'automatic',
      startedAt: '2026-12-01T10:00:00.000Z',
      rowsTotal: 42,
      resyncId: 'resync-9',
    } as RebuildProgress;
    expect(parseRebuildRecord(JSON.parse(JSON.stringify(rebuildRecord(progress))))).toEqual({
      id: 'rebuild-1',
      reason: 'requested',
      trigger: 'automatic',
      startedAt: '2026-12-01T10:00:00.000Z',
      rowsTotal: 42,
      resyncId: 'resync-9',
    });
  });

  it('ignores what is not one of ours', () => {
    expect(parseRebuildRecord(undefined)).toBeNull();
    expect(parseRebuildRecord({ id: 3 })).toBeNull();
  });
});

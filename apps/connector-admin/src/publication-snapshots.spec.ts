import { tablesNeedingRetry, type SnapshotHandleView } from './publication-snapshots';

// As ResyncService folds them from Debezium 3.6.3 notifications: an addition snapshot of a table
// the task had not met yet ends in TABLE_SCAN_COMPLETED with status UNKNOWN_SCHEMA.
const skipped: SnapshotHandleView = {
  id: 'publication-add-e54bd77d-6743-45b5-b2ab-7ca9f06401f4',
  table: 'public.e2e_keyless_mx4dy0wt2u6',
  scanStatus: 'UNKNOWN_SCHEMA',
  startedAt: '2026-12-01T07:38:38.917Z',
  completedAt: '2026-12-01T07:38:38.964Z',
};
const now = Date.parse('2026-12-01T07:39:00.000Z');
const options = { now, windowMs: 600_000, maxAttempts: 3 };
const published = new Set([skipped.table]);

describe('tablesNeedingRetry', () => {
  it('retries a recent UNKNOWN_SCHEMA addition snapshot of a published table', () => {
    expect(tablesNeedingRetry([skipped], published, new Map(), options)).toEqual([skipped.table]);
  });

  it('not when a later snapshot of the table succeeded', () => {
    const later = {
      ...skipped,
      id: 'publication-add-0140fda5-9f12-4af2-9229-5a847328d84b',
      scanStatus: 'SUCCEEDED',
      startedAt: '2026-12-01T07:38:50.000Z',
      completedAt: '2026-12-01T07:38:51.000Z',
    };
    expect(tablesNeedingRetry([skipped, later], published, new Map(), options)).toEqual([]);
  });

  it('not for old notifications replayed at boot, unpublished tables, or resyncs the user asked for', () => {
    const late = { ...options, now: now + 3_600_000 };
    expect(tablesNeedingRetry([skipped], published, new Map(), late)).toEqual([]);
    expect(tablesNeedingRetry([skipped], new Set(), new Map(), options)).toEqual([]);
    expect(
      tablesNeedingRetry([{ ...skipped, id: 'resync-1' }], published, new Map(), options),
    ).toEqual([]);
  });

  it('not while a retry sent after the failure awaits its outcome, nor beyond the attempts', () => {
    const pending = new Map([[skipped.table, { count: 1, at: now - 1000 }]]);
    expect(tablesNeedingRetry([skipped], published, pending, options)).toEqual([]);
    const exhausted = new Map([[skipped.table, { count: 3, at: 0 }]]);
    expect(tablesNeedingRetry([skipped], published, exhausted, options)).toEqual([]);
  });
});

import { applyNotification, type ResyncHandle } from './resync.service';
import { parseGaugeByTable } from './pipeline.service';

describe('resync progress from Debezium notifications', () => {
  it('follows STARTED → IN_PROGRESS → TABLE_SCAN_COMPLETED → COMPLETED', () => {
    const handle = { id: 'r1', table: 'public.t', state: 'requested' } as ResyncHandle;
    const base = { id: 'r1', aggregate_type: 'Incremental Snapshot', timestamp: 1795597014923 };
    applyNotification(handle, {
      ...base,
      type: 'STARTED',
      additional_data: { data_collections: 'public.t' },
    });
    expect(handle.state).toBe('running');
    applyNotification(handle, {
      ...base,
      type: 'IN_PROGRESS',
      additional_data: { last_processed_key: '4096', maximum_key: '10000' },
    });
    expect(handle).toMatchObject({ lastProcessedKey: '4096', maximumKey: '10000' });
    applyNotification(handle, {
      ...base,
      type: 'TABLE_SCAN_COMPLETED',
      additional_data: { total_rows_scanned: '10000', status: 'SUCCEEDED' },
    });
    applyNotification(handle, { ...base, type: 'COMPLETED' });
    expect(handle).toMatchObject({
      state: 'completed',
      rowsScanned: 10000,
      scanStatus: 'SUCCEEDED',
    });
  });

  it('marks a scan that did not succeed as failed', () => {
    const handle = { id: 'r2', state: 'running' } as ResyncHandle;
    const base = { id: 'r2', aggregate_type: 'Incremental Snapshot' };
    applyNotification(handle, {
      ...base,
      type: 'TABLE_SCAN_COMPLETED',
      additional_data: { status: 'NO_PRIMARY_KEY' },
    });
    applyNotification(handle, { ...base, type: 'COMPLETED' });
    expect(handle.state).toBe('failed');
  });
});

describe('indexer metrics parsing', () => {
  it('reads a gauge per table', () => {
    const text = [
      '# TYPE searchsync_indexer_last_applied_source_timestamp_seconds gauge',
      'searchsync_indexer_last_applied_source_timestamp_seconds{table="public.products"} 1795597015.466',
      'searchsync_indexer_last_applied_source_timestamp_seconds{table="s.t"} 12',
      'other_metric{table="public.products"} 1',
    ].join('\n');
    expect([
      ...parseGaugeByTable(text, 'searchsync_indexer_last_applied_source_timestamp_seconds'),
    ]).toEqual([
      ['public.products', 1795597015.466],
      ['s.t', 12],
    ]);
  });
});

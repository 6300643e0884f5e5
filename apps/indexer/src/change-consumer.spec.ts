import { tableTopicPattern } from './change-consumer';

describe('tableTopicPattern', () => {
  const pattern = tableTopicPattern('searchsync', ['public', 'sales']);

  it('matches the table topics of the synced schemas', () => {
    expect(pattern.test('searchsync.public.products')).toBe(true);
    expect(pattern.test('searchsync.sales.orders')).toBe(true);
  });

  it('leaves out Debezium bookkeeping, other schemas and our own topics', () => {
    expect(pattern.test('searchsync.searchsync_cdc.signal')).toBe(false);
    expect(pattern.test('__debezium-heartbeat.searchsync')).toBe(false);
    expect(pattern.test('searchsync.dead-letter')).toBe(false);
    expect(pattern.test('searchsync.other.table')).toBe(false);
    expect(pattern.test('searchsyncXpublic.products')).toBe(false);
  });
});

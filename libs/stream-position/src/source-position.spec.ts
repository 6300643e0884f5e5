import { parseSourceOffset } from './source-position';

const key = (connector: unknown, server: unknown) =>
  Buffer.from(JSON.stringify([connector, { server }]));
const value = (offset: unknown) => Buffer.from(JSON.stringify(offset));

describe('parseSourceOffset (records of the Connect offset topic)', () => {
  it('reads a streaming offset as Kafka Connect 4 and Debezium 3 write it', () => {
    const parsed = parseSourceOffset(
      Buffer.from('["searchsync-postgres",{"server":"searchsync"}]'),
      Buffer.from(
        '{"lsn_proc":26599712,"messageType":"COMMIT","lsn_commit":26599712,"lsn":26599712,"txId":730,"ts_usec":1796135921500725}',
      ),
      'searchsync',
    );
    expect(parsed).toEqual({ connector: 'searchsync-postgres', lsn: 26599712n });
  });

  it('ignores other connectors and other kinds of keys', () => {
    expect(parseSourceOffset(key('c', 'other'), value({ lsn: 1 }), 'searchsync')).toBeNull();
    expect(parseSourceOffset(Buffer.from('not json'), value({ lsn: 1 }), 'searchsync')).toBeNull();
    expect(parseSourceOffset(Buffer.from('{"a":1}'), value({ lsn: 1 }), 'searchsync')).toBeNull();
    expect(parseSourceOffset(key(7, 'searchsync'), value({ lsn: 1 }), 'searchsync')).toBeNull();
    expect(parseSourceOffset(null, value({ lsn: 1 }), 'searchsync')).toBeNull();
  });

  it('gives no position for a reset (tombstone), an unreadable value or a missing lsn', () => {
    expect(parseSourceOffset(key('c', 's'), null, 's')).toEqual({ connector: 'c', lsn: null });
    expect(parseSourceOffset(key('c', 's'), Buffer.from('{'), 's')).toEqual({
      connector: 'c',
      lsn: null,
    });
    expect(parseSourceOffset(key('c', 's'), value({ txId: 3 }), 's')).toEqual({
      connector: 'c',
      lsn: null,
    });
    expect(parseSourceOffset(key('c', 's'), value({ lsn: '12' }), 's')).toEqual({
      connector: 'c',
      lsn: null,
    });
  });

  it('gives no position while an initial snapshot is being read, and one at its last record', () => {
    const during = value({ lsn: 100, snapshot: 'INITIAL', last_snapshot_record: false });
    expect(parseSourceOffset(key('c', 's'), during, 's')?.lsn).toBeNull();
    const legacy = value({ lsn: 100, snapshot: true, last_snapshot_record: false });
    expect(parseSourceOffset(key('c', 's'), legacy, 's')?.lsn).toBeNull();
    const last = value({ lsn: 100, snapshot: 'INITIAL', last_snapshot_record: true });
    expect(parseSourceOffset(key('c', 's'), last, 's')?.lsn).toBe(100n);
  });
});

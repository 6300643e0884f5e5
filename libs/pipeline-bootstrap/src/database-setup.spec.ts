import { DatabaseWalLevelError } from './bootstrap.errors';
import { describeReconcile, retryableDatabaseError } from './database-setup';

const pgError = (code: string) => Object.assign(new Error(code), { code });

describe('retryableDatabaseError', () => {
  it('retries a server that is not reachable or not ready yet', () => {
    expect(retryableDatabaseError(pgError('ECONNREFUSED'))).toBe(true);
    expect(retryableDatabaseError(pgError('ENOTFOUND'))).toBe(true);
    expect(retryableDatabaseError(pgError('EPIPE'))).toBe(true);
    expect(retryableDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(retryableDatabaseError(pgError('57P03'))).toBe(true);
    expect(retryableDatabaseError(pgError('08006'))).toBe(true);
    expect(retryableDatabaseError(pgError('53300'))).toBe(true);
    expect(retryableDatabaseError(pgError('55P03'))).toBe(true);
  });

  it('does not retry what waiting cannot fix', () => {
    expect(retryableDatabaseError(pgError('28P01'))).toBe(false); // wrong password
    expect(retryableDatabaseError(pgError('3D000'))).toBe(false); // no such database
    expect(retryableDatabaseError(pgError('42501'))).toBe(false); // insufficient privilege
    expect(retryableDatabaseError(new DatabaseWalLevelError('replica'))).toBe(false);
  });
});

describe('DatabaseWalLevelError', () => {
  it('says what to change', () => {
    expect(new DatabaseWalLevelError('replica').message).toMatch(
      /^wal_level is replica; Debezium needs wal_level=logical: set it/,
    );
  });
});

describe('describeReconcile', () => {
  it('reports the pass, the tables kept out and the ones waiting', () => {
    expect(
      describeReconcile('pub', {
        action: 'create',
        published: ['public.a', 'searchsync_cdc.signal'],
        excluded: [{ table: 'public.nokey', fix: 'add a primary key' }],
        deferred: ['public.secret'],
        trigger: { state: 'unavailable', detail: 'permission denied' },
      }),
    ).toEqual([
      'publication pub: 2 tables (create), DDL trigger unavailable: permission denied',
      'public.nokey kept out: add a primary key',
      'public.secret enters once the connector excludes its columns (the admin adds it)',
    ]);
  });

  it('says nothing changed, or that the admin holds the pass', () => {
    expect(
      describeReconcile('pub', {
        action: 'none',
        published: ['public.a'],
        excluded: [],
        deferred: [],
        trigger: { state: 'installed', detail: null },
      }),
    ).toEqual(['publication pub: 1 tables, DDL trigger installed']);
    expect(describeReconcile('pub', null)).toEqual([
      'publication pub is being reconciled by the connector admin',
    ]);
  });
});

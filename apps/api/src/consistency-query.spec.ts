import { InvalidQueryError } from './api.errors';
import { takeConsistency } from './consistency-query';

describe('takeConsistency', () => {
  it('takes consistentWith and its timeout out of the query and leaves the rest', () => {
    expect(takeConsistency({ q: 'x', consistentWith: '0/16B3748' })).toEqual({
      rest: { q: 'x' },
      consistency: { lsn: 0x16b3748n },
    });
    expect(
      takeConsistency({ consistentWith: '1/0', consistencyTimeoutMs: '2500', size: '3' }),
    ).toEqual({ rest: { size: '3' }, consistency: { lsn: 1n << 32n, timeoutMs: 2500 } });
    expect(takeConsistency({ q: 'x' })).toEqual({ rest: { q: 'x' }, consistency: null });
  });

  it.each([
    [{ consistentWith: 'latest' }, /PostgreSQL LSN such as 0\/16B3748/],
    [{ consistentWith: ['0/1', '0/2'] }, /given once/],
    [{ consistentWith: '0/1', consistencyTimeoutMs: '0' }, /whole number/],
    [{ consistentWith: '0/1', consistencyTimeoutMs: '1.5' }, /whole number/],
    [{ consistencyTimeoutMs: '100' }, /needs consistentWith/],
  ])('refuses %j with a 400 that says what to send', (query, message) => {
    expect(() => takeConsistency(query)).toThrow(InvalidQueryError);
    expect(() => takeConsistency(query)).toThrow(message);
  });
});

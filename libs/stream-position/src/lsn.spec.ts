import { formatLsn, parseLsn } from './lsn';

describe('LSNs', () => {
  it('reads what pg_current_wal_lsn() prints and writes it back', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748n);
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n);
    expect(parseLsn(' ffffffff/FFFFFFFF ')).toBe(2n ** 64n - 1n);
    expect(formatLsn(0x16b3748n)).toBe('0/16B3748');
    expect(formatLsn((0x16n << 32n) | 0xb374d848n)).toBe('16/B374D848');
  });

  it.each(['', '0', '0/', '/1', '1/2/3', '0x1/2', '123456789/0', 'g/1', '-1/0', '1 / 2'])(
    'refuses %j',
    (text) => expect(parseLsn(text)).toBeNull(),
  );

  it('orders like the WAL', () => {
    expect((parseLsn('1/0') as bigint) > (parseLsn('0/FFFFFFFF') as bigint)).toBe(true);
  });
});

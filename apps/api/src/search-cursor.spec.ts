import { InvalidCursorError } from './api.errors';
import { CursorCodec, queryFingerprint } from './search-cursor';

describe('CursorCodec', () => {
  const codec = new CursorCodec('s'.repeat(32));
  const fingerprint = queryFingerprint({ table: 't', sort: [] });

  it('round-trips search-after values for the same query', () => {
    const cursor = codec.encode(fingerprint, [1.5, null, 'a"b', '7']);
    expect(codec.decode(cursor, fingerprint, 4)).toEqual([1.5, null, 'a"b', '7']);
  });

  it('turns the engine’s Long.MAX/MIN missing markers into exact strings', () => {
    const cursor = codec.encode(fingerprint, [2 ** 63, -(2 ** 63), '1']);
    expect(codec.decode(cursor, fingerprint, 3)).toEqual([
      '9223372036854775807',
      '-9223372036854775808',
      '1',
    ]);
  });

  it('rejects tampering, other queries, other secrets and garbage', () => {
    const cursor = codec.encode(fingerprint, [1, '1']);
    const [payload, signature] = cursor.split('.');
    const forged = Buffer.from(JSON.stringify({ v: 1, f: fingerprint, a: [999, '1'] })).toString(
      'base64url',
    );
    const cases = [
      `${forged}.${signature}`,
      `${payload}.${signature.slice(0, -2)}AA`,
      'garbage',
      '',
      `${payload}.`,
      'a.b.c',
      'x'.repeat(5000),
    ];
    for (const bad of cases)
      expect(() => codec.decode(bad, fingerprint, 2)).toThrow(InvalidCursorError);
    expect(() => codec.decode(cursor, queryFingerprint({ other: true }), 2)).toThrow(
      /different query/,
    );
    expect(() => new CursorCodec('t'.repeat(32)).decode(cursor, fingerprint, 2)).toThrow(
      /signature/,
    );
    expect(() => codec.decode(cursor, fingerprint, 3)).toThrow(InvalidCursorError);
  });
});

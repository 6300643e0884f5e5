import { redactSecrets, redactValue } from './log-redaction';

describe('log redaction', () => {
  it('blanks URL credentials, key=value secrets and Authorization values in text', () => {
    expect(redactSecrets('postgres://app:hunter2@db:5432/app')).toBe('postgres://***@db:5432/app');
    expect(redactSecrets('https://token@search.example')).toBe('https://***@search.example');
    expect(redactSecrets('login failed: password=hunter2; user=app')).toBe(
      'login failed: password=********; user=app',
    );
    expect(redactSecrets('{"database.password":"hunter2","port":"5432"}')).toBe(
      '{"database.password":"********","port":"5432"}',
    );
    expect(redactSecrets('sent authorization: Basic dXNlcjpwdw==')).toBe('sent authorization: ***');
    expect(redactSecrets('GET /v1/tables/products 200')).toBe('GET /v1/tables/products 200');
  });

  it('copies values with every string redacted and secret keys replaced', () => {
    const value = {
      url: 'http://user:pw@host:9200',
      'sasl.jaas.config': 'org.Login required password="p";',
      nested: [{ apiKey: 'k-123', count: 3 }, 'token=abc'],
      when: new Date(0),
      ok: true,
    };
    expect(redactValue(value)).toEqual({
      url: 'http://***@host:9200',
      'sasl.jaas.config': '********',
      nested: [{ apiKey: '********', count: 3 }, 'token=********'],
      when: new Date(0),
      ok: true,
    });
    // The original is left as it was.
    expect(value.url).toBe('http://user:pw@host:9200');
  });

  it('serializes errors with their causes, redacted, and survives cycles', () => {
    const error = new Error('cannot reach http://a:b@host', {
      cause: new Error('connect ECONNREFUSED, password=p'),
    });
    const serialized = redactValue(error) as { type: string; message: string; stack: string };
    expect(serialized.type).toBe('Error');
    expect(serialized.message).toBe(
      'cannot reach http://***@host: connect ECONNREFUSED, password=********',
    );
    expect(serialized.stack).toMatch(/caused by: Error: connect ECONNREFUSED, password=\*{8}/);
    expect(JSON.stringify(serialized)).not.toMatch(/a:b@|password=p\b/);

    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ name: 'loop', self: '[Circular]' });
  });
});

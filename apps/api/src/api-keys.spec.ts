import { sha256Hex } from '@searchsync/app-kit';
import { apiEnvSchema, ConfigInvalidError, loadConfig } from '@searchsync/config';
import { apiKeyVerifier, canRead } from './api-keys';

describe('API keys', () => {
  const hash = sha256Hex('s3cret');

  it('parses name:sha256:tables entries from API_KEYS', () => {
    const config = loadConfig(apiEnvSchema, {
      API_KEYS: `reports:${hash}:products, sales.orders;ops:${hash.toUpperCase()}:*`,
    });
    expect(config.API_KEYS).toEqual([
      { name: 'reports', sha256: hash, tables: ['products', 'sales.orders'] },
      { name: 'ops', sha256: hash, tables: '*' },
    ]);
  });

  it('refuses malformed entries and duplicate names, naming the variable', () => {
    expect(() => loadConfig(apiEnvSchema, { API_KEYS: 'plain-secret' })).toThrow(
      ConfigInvalidError,
    );
    expect(() => loadConfig(apiEnvSchema, { API_KEYS: `a:${hash}:*;a:${hash}:x` })).toThrow(
      /API_KEYS.*twice/,
    );
    expect(() => loadConfig(apiEnvSchema, { API_KEYS: `a:abc:*` })).toThrow(/API_KEYS/);
  });

  it('authenticates by digest and scopes tables, public schema by either name', () => {
    const keys = apiKeyVerifier([
      { name: 'reports', sha256: hash, tables: ['products', 'sales.orders'] },
    ]);
    expect(keys.enabled).toBe(true);
    expect(keys.verify('wrong')).toBeUndefined();
    const principal = keys.verify('s3cret');
    expect(principal?.name).toBe('reports');
    expect(canRead(principal!, 'products')).toBe(true);
    expect(canRead(principal!, 'public.products')).toBe(true);
    expect(canRead(principal!, 'sales.orders')).toBe(true);
    expect(canRead(principal!, 'orders')).toBe(false);
    expect(canRead(principal!, '*')).toBe(false);
    expect(apiKeyVerifier([]).enabled).toBe(false);
  });
});

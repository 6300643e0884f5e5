import { loadConfig } from './load-config';
import { apiEnvSchema, indexerEnvSchema } from './env-schemas';
import { ConfigInvalidError } from './config.errors';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(indexerEnvSchema, {});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.INDEXER_GROUP_ID).toBe('searchsync-indexer');
    expect(config.INDEXER_METRICS_PORT).toBe(3002);
  });

  it('splits broker lists and coerces ports', () => {
    const config = loadConfig(apiEnvSchema, { KAFKA_BROKERS: 'a:1, b:2', API_PORT: '4000' });
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(config.API_PORT).toBe(4000);
  });

  it('names every invalid variable', () => {
    expect(() => loadConfig(apiEnvSchema, { API_PORT: 'x', SEARCH_URL: 'nope' })).toThrow(
      ConfigInvalidError,
    );
    try {
      loadConfig(apiEnvSchema, { API_PORT: 'x', SEARCH_URL: 'nope' });
    } catch (error) {
      expect((error as Error).message).toMatch(/API_PORT/);
      expect((error as Error).message).toMatch(/SEARCH_URL/);
    }
  });
});

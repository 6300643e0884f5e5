import { ConfigInvalidError } from '@searchsync/config';
import { z } from 'zod';
import { appConfigProvider, forgetAppConfig, loadAppConfig } from './app-config';

const schema = z.object({
  THING_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  THING_NAME: z.string().min(1).default('thing'),
});

describe('loadAppConfig', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    forgetAppConfig(schema);
  });

  it('validates the environment once and hands out the same frozen object', () => {
    process.env.THING_PORT = '4000';
    const first = loadAppConfig(schema);
    expect(first).toEqual({ THING_PORT: 4000, THING_NAME: 'thing' });
    process.env.THING_PORT = '5000';
    expect(loadAppConfig(schema)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const provider = appConfigProvider('THING_CONFIG', schema);
    expect(provider.provide).toBe('THING_CONFIG');
    expect(provider.useFactory()).toBe(first);
    forgetAppConfig(schema);
    expect(loadAppConfig(schema).THING_PORT).toBe(5000);
  });

  it('fails with every bad variable named', () => {
    process.env.THING_PORT = '70000';
    process.env.THING_NAME = '';
    const failure = (() => {
      try {
        return loadAppConfig(schema);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ConfigInvalidError);
    expect((failure as Error).message).toMatch(
      /^Invalid environment variables: THING_PORT: .*; THING_NAME: /,
    );
    // Not cached: fixed, it loads.
    process.env.THING_PORT = '80';
    process.env.THING_NAME = 'x';
    expect(loadAppConfig(schema)).toEqual({ THING_PORT: 80, THING_NAME: 'x' });
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError } from './config.errors';
import { sharedEnvSchema } from './env-schemas';
import { loadConfig } from './load-config';
import { describeSearchConnection, searchConnection } from './search-connection';

const env = (vars: Record<string, string>) => loadConfig(sharedEnvSchema, vars);
const problems = (vars: Record<string, string>, processEnv: NodeJS.ProcessEnv = {}): string[] => {
  try {
    searchConnection(env(vars), processEnv);
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error.problems;
    throw error;
  }
  return [];
};

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const CLOUD_ID = `prod:${Buffer.from('eu-west-1.aws.found.io$abc123$def456').toString('base64')}`;

describe('searchConnection', () => {
  it('defaults to the local engine, detected, without credentials', () => {
    expect(searchConnection(env({}), {})).toEqual({
      url: 'http://127.0.0.1:9200',
      engine: 'auto',
      auth: { type: 'none' },
    });
  });

  it('takes basic auth from the URL (moved out of it) or from SEARCH_USERNAME/PASSWORD', () => {
    expect(
      searchConnection(env({ SEARCH_URL: 'https://ops:p%40ss@search.example:9200/' }), {}),
    ).toEqual({
      url: 'https://search.example:9200',
      engine: 'auto',
      auth: { type: 'basic', username: 'ops', password: 'p@ss' },
    });
    expect(
      searchConnection(
        env({
          SEARCH_URL: 'https://search.example',
          SEARCH_AUTH: 'basic',
          SEARCH_USERNAME: 'ops',
          SEARCH_PASSWORD: 'x',
          SEARCH_ENGINE: 'opensearch',
        }),
        {},
      ),
    ).toMatchObject({
      engine: 'opensearch',
      auth: { type: 'basic', username: 'ops', password: 'x' },
    });
  });

  it('builds Elastic Cloud with an API key, and SigV4 with the region chain', () => {
    expect(
      searchConnection(
        env({ SEARCH_CLOUD_ID: CLOUD_ID, SEARCH_AUTH: 'api-key', SEARCH_API_KEY: 'a2V5' }),
        {},
      ),
    ).toEqual({ cloudId: CLOUD_ID, engine: 'auto', auth: { type: 'api-key', apiKey: 'a2V5' } });
    expect(
      searchConnection(
        env({
          SEARCH_URL: 'https://vpc-x.eu-west-1.es.amazonaws.com',
          SEARCH_AUTH: 'aws-sigv4',
          AWS_REGION: 'eu-west-1',
        }),
        {},
      ),
    ).toMatchObject({ auth: { type: 'aws-sigv4', region: 'eu-west-1', service: 'es' } });
    expect(
      searchConnection(
        env({
          SEARCH_URL: 'https://abc.eu-west-1.aoss.amazonaws.com',
          SEARCH_AUTH: 'aws-sigv4',
          SEARCH_AWS_SERVICE: 'aoss',
          SEARCH_AWS_REGION: 'eu-central-1',
          AWS_REGION: 'us-east-1',
        }),
        {},
      ),
    ).toMatchObject({ auth: { type: 'aws-sigv4', region: 'eu-central-1', service: 'aoss' } });
    expect(
      searchConnection(
        env({ SEARCH_URL: 'https://x.es.amazonaws.com', SEARCH_AUTH: 'aws-sigv4' }),
        { AWS_DEFAULT_REGION: 'ap-south-1' },
      ),
    ).toMatchObject({ auth: { region: 'ap-south-1' } });
  });

  it('reads the CA file of an https engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'searchsync-ca-'));
    const file = join(dir, 'ca.pem');
    writeFileSync(file, PEM);
    expect(
      searchConnection(env({ SEARCH_URL: 'https://search.example', SEARCH_CA_FILE: file }), {}),
    ).toMatchObject({
      ca: PEM,
    });
    writeFileSync(join(dir, 'bad.pem'), 'not a certificate');
    expect(
      problems({ SEARCH_URL: 'https://search.example', SEARCH_CA_FILE: join(dir, 'bad.pem') }),
    ).toEqual([expect.stringMatching(/holds no PEM certificate/)]);
    expect(
      problems({ SEARCH_URL: 'https://search.example', SEARCH_CA_FILE: join(dir, 'none.pem') }),
    ).toEqual([expect.stringMatching(/SEARCH_CA_FILE: cannot read .*none\.pem \(ENOENT\)/)]);
  });

  it.each([
    [
      { SEARCH_AUTH: 'basic' },
      /SEARCH_USERNAME and SEARCH_PASSWORD: required for SEARCH_AUTH=basic/,
    ],
    [{ SEARCH_AUTH: 'basic', SEARCH_USERNAME: 'ops' }, /required for SEARCH_AUTH=basic/],
    [
      { SEARCH_USERNAME: 'ops', SEARCH_PASSWORD: 'x' },
      /SEARCH_USERNAME: set, but SEARCH_AUTH \(unset: none\) does not use it; set SEARCH_AUTH=basic/,
    ],
    [
      { SEARCH_URL: 'http://u:p@h', SEARCH_AUTH: 'none' },
      /SEARCH_URL: set, but SEARCH_AUTH=none does not use it; remove user:password@/,
    ],
    [
      { SEARCH_URL: 'http://u:p@h', SEARCH_USERNAME: 'v', SEARCH_PASSWORD: 'q' },
      /keep one of them/,
    ],
    [{ SEARCH_AUTH: 'api-key' }, /SEARCH_API_KEY: required for SEARCH_AUTH=api-key/],
    [{ SEARCH_API_KEY: 'k' }, /SEARCH_API_KEY: set, but .* set SEARCH_AUTH=api-key/],
    [
      { SEARCH_AUTH: 'api-key', SEARCH_API_KEY: 'k', SEARCH_ENGINE: 'opensearch' },
      /OpenSearch has no API keys/,
    ],
    [{ SEARCH_AUTH: 'aws-sigv4' }, /SEARCH_AWS_REGION: required for SEARCH_AUTH=aws-sigv4/],
    [
      { SEARCH_AUTH: 'aws-sigv4', AWS_REGION: 'x', SEARCH_ENGINE: 'elasticsearch' },
      /set SEARCH_ENGINE=opensearch or auto/,
    ],
    [{ SEARCH_AWS_SERVICE: 'aoss' }, /SEARCH_AWS_SERVICE: set, but .* set SEARCH_AUTH=aws-sigv4/],
    [{ SEARCH_CLOUD_ID: CLOUD_ID }, /Elastic Cloud needs credentials; set SEARCH_AUTH=api-key/],
    [
      { SEARCH_CLOUD_ID: 'garbage', SEARCH_AUTH: 'api-key', SEARCH_API_KEY: 'k' },
      /not an Elastic Cloud id/,
    ],
    [
      {
        SEARCH_CLOUD_ID: CLOUD_ID,
        SEARCH_AUTH: 'api-key',
        SEARCH_API_KEY: 'k',
        SEARCH_ENGINE: 'opensearch',
      },
      /Elastic Cloud runs Elasticsearch/,
    ],
    [
      { SEARCH_CA_FILE: '/etc/ca.pem' },
      /SEARCH_CA_FILE: applies to TLS only, but SEARCH_URL is not https/,
    ],
  ])('refuses %j, saying what to set', (vars, message) => {
    expect(problems(vars as Record<string, string>)).toEqual(
      expect.arrayContaining([expect.stringMatching(message)]),
    );
  });

  it('never puts a secret in its errors or its description', () => {
    const secrets = {
      SEARCH_URL: 'https://ops:hunter2@h',
      SEARCH_AUTH: 'api-key',
      SEARCH_API_KEY: 'topsecretkey',
      SEARCH_PASSWORD: 'pw-secret',
    };
    const text = problems(secrets).join('\n');
    expect(text).not.toMatch(/hunter2|topsecretkey|pw-secret/);
    const connection = searchConnection(env({ SEARCH_URL: 'https://ops:hunter2@h' }), {});
    expect(describeSearchConnection(connection)).toBe('https://h (engine auto, auth basic)');
  });

  it('treats empty variables as unset (a chart that renders "")', () => {
    expect(
      searchConnection(env({ SEARCH_USERNAME: '', SEARCH_API_KEY: ' ', SEARCH_CA_FILE: '' }), {}),
    ).toEqual({
      url: 'http://127.0.0.1:9200',
      engine: 'auto',
      auth: { type: 'none' },
    });
  });
});

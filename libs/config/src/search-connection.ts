import { readFileSync } from 'node:fs';
import type { SearchEngineAuth, SearchEngineConnection } from '@searchsync/search-engine';
import { ConfigInvalidError } from './config.errors';
import type { SharedConfig } from './env-schemas';

type SearchEnv = Pick<
  SharedConfig,
  | 'SEARCH_URL'
  | 'SEARCH_ENGINE'
  | 'SEARCH_AUTH'
  | 'SEARCH_USERNAME'
  | 'SEARCH_PASSWORD'
  | 'SEARCH_API_KEY'
  | 'SEARCH_CLOUD_ID'
  | 'SEARCH_CA_FILE'
  | 'SEARCH_AWS_SERVICE'
  | 'SEARCH_AWS_REGION'
  | 'AWS_REGION'
>;

/** An empty variable (a chart's `""`) is an unset one. */
const given = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== '' ? value : undefined;

/** `name:base64(host$es-id$kibana-id)`, as Elastic Cloud shows it. */
function cloudIdProblem(cloudId: string): string | undefined {
  const [, encoded] = cloudId.split(/:(.*)/s);
  const decoded = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
  return decoded.split('$').length >= 2 && decoded.split('$')[0].length > 0
    ? undefined
    : 'SEARCH_CLOUD_ID: not an Elastic Cloud id (`name:base64…` from the deployment page)';
}

function readCa(file: string, problems: string[]): string | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(
      `SEARCH_CA_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); mount the CA certificate there or unset it`,
    );
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`SEARCH_CA_FILE: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  return pem;
}

/**
 * How every app reaches the search engine, from the validated environment: URL or Elastic Cloud
 * id, engine, credentials, TLS CA. Combinations that cannot work fail at boot with a
 * ConfigInvalidError that says what to set; no secret is ever part of its message.
 */
export function searchConnection(
  config: SearchEnv,
  env: NodeJS.ProcessEnv = process.env,
): SearchEngineConnection {
  const problems: string[] = [];
  const url = new URL(config.SEARCH_URL);
  const urlUser = url.username ? decodeURIComponent(url.username) : undefined;
  const urlPassword = url.password ? decodeURIComponent(url.password) : undefined;
  const username = given(config.SEARCH_USERNAME);
  const password = given(config.SEARCH_PASSWORD);
  const apiKey = given(config.SEARCH_API_KEY);
  const cloudId = given(config.SEARCH_CLOUD_ID);
  const caFile = given(config.SEARCH_CA_FILE);
  const engine = config.SEARCH_ENGINE;
  const method = config.SEARCH_AUTH ?? (urlUser !== undefined ? 'basic' : 'none');
  const setBy = config.SEARCH_AUTH ? `SEARCH_AUTH=${method}` : 'SEARCH_AUTH (unset: none)';
  const unused = (name: string, instead: string) =>
    problems.push(`${name}: set, but ${setBy} does not use it; ${instead}`);

  if (method !== 'basic') {
    if (username !== undefined) unused('SEARCH_USERNAME', 'set SEARCH_AUTH=basic or unset it');
    if (password !== undefined) unused('SEARCH_PASSWORD', 'set SEARCH_AUTH=basic or unset it');
    if (urlUser !== undefined)
      unused('SEARCH_URL', 'remove user:password@ from it, or set SEARCH_AUTH=basic');
  }
  if (method !== 'api-key' && apiKey !== undefined)
    unused('SEARCH_API_KEY', 'set SEARCH_AUTH=api-key or unset it');
  if (method !== 'aws-sigv4') {
    if (config.SEARCH_AWS_SERVICE !== undefined)
      unused('SEARCH_AWS_SERVICE', 'set SEARCH_AUTH=aws-sigv4 or unset it');
    if (given(config.SEARCH_AWS_REGION) !== undefined)
      unused('SEARCH_AWS_REGION', 'set SEARCH_AUTH=aws-sigv4 or unset it');
  }

  let auth: SearchEngineAuth = { type: 'none' };
  switch (method) {
    case 'none':
      break;
    case 'basic': {
      if (urlUser !== undefined && (username !== undefined || password !== undefined)) {
        problems.push(
          'SEARCH_URL carries user:password@ and SEARCH_USERNAME/SEARCH_PASSWORD are set: keep one of them',
        );
        break;
      }
      const user = username ?? urlUser;
      const secret = password ?? urlPassword;
      if (user === undefined || secret === undefined) {
        problems.push(
          'SEARCH_USERNAME and SEARCH_PASSWORD: required for SEARCH_AUTH=basic (or user:password@ in SEARCH_URL)',
        );
        break;
      }
      auth = { type: 'basic', username: user, password: secret };
      break;
    }
    case 'api-key':
      if (apiKey === undefined) {
        problems.push('SEARCH_API_KEY: required for SEARCH_AUTH=api-key');
        break;
      }
      if (engine === 'opensearch')
        problems.push('SEARCH_AUTH=api-key: OpenSearch has no API keys; use basic or aws-sigv4');
      auth = { type: 'api-key', apiKey };
      break;
    case 'aws-sigv4': {
      const region =
        given(config.SEARCH_AWS_REGION) ??
        given(config.AWS_REGION) ??
        given(env.AWS_DEFAULT_REGION);
      if (region === undefined)
        problems.push(
          'SEARCH_AWS_REGION: required for SEARCH_AUTH=aws-sigv4 (or AWS_REGION), the region of the domain or collection',
        );
      if (engine === 'elasticsearch')
        problems.push(
          'SEARCH_AUTH=aws-sigv4 signs for Amazon OpenSearch Service: set SEARCH_ENGINE=opensearch or auto',
        );
      if (cloudId !== undefined)
        problems.push('SEARCH_CLOUD_ID: Elastic Cloud does not take SigV4; use api-key or basic');
      auth = {
        type: 'aws-sigv4',
        region: region ?? '',
        service: config.SEARCH_AWS_SERVICE ?? 'es',
      };
      break;
    }
  }

  if (cloudId !== undefined) {
    const problem = cloudIdProblem(cloudId);
    if (problem) problems.push(problem);
    if (engine === 'opensearch')
      problems.push(
        'SEARCH_CLOUD_ID: Elastic Cloud runs Elasticsearch; set SEARCH_ENGINE=elasticsearch or auto',
      );
    if (method === 'none')
      problems.push(
        'SEARCH_CLOUD_ID: Elastic Cloud needs credentials; set SEARCH_AUTH=api-key (SEARCH_API_KEY) or basic',
      );
  }

  let ca: string | undefined;
  if (caFile !== undefined) {
    if (cloudId === undefined && url.protocol !== 'https:')
      problems.push('SEARCH_CA_FILE: applies to TLS only, but SEARCH_URL is not https://');
    else ca = readCa(caFile, problems);
  }

  if (problems.length > 0) throw new ConfigInvalidError(problems);
  url.username = '';
  url.password = '';
  return {
    ...(cloudId !== undefined ? { cloudId } : { url: url.toString().replace(/\/$/, '') }),
    engine,
    auth,
    ...(ca !== undefined ? { ca } : {}),
  };
}

/** The connection as it may be logged: where, which engine, which kind of credentials. */
export function describeSearchConnection(connection: SearchEngineConnection): string {
  const where = connection.cloudId
    ? `Elastic Cloud deployment ${connection.cloudId.split(':')[0]}`
    : (connection.url ?? '');
  const auth = connection.auth ?? { type: 'none' };
  const how = auth.type === 'aws-sigv4' ? `aws-sigv4 ${auth.service} ${auth.region}` : auth.type;
  return `${where} (engine ${connection.engine ?? 'auto'}, auth ${how}${connection.ca ? ', custom CA' : ''})`;
}

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createSearchEngine } from './create-search-engine';
import type { SearchEngine } from './search-engine';
import { SearchEngineUnavailableError } from './search-engine.errors';

/**
 * The requests the adapter signs (with the OpenSearch client's AwsSigv4Signer, which uses the
 * `aws4` package) are checked by an independent SigV4 implementation: the AWS SDK's own signer
 * (`@smithy/signature-v4`) recomputes each signature from the same static credentials, the way
 * Amazon OpenSearch Service would, and the body is checked against its signed hash.
 */
const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token-example',
};
const REGION = 'eu-west-1';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (or its HMAC) for the SDK's signer, from node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {}
}

interface Verdict {
  method: string;
  path: string;
  service: string;
  signedHeaders: string[];
  signatureMatches: boolean;
  bodyHashMatches: boolean;
  securityToken?: string;
}

/** `20240102T030405Z` → Date. */
function amzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw new Error(`bad x-amz-date ${value}`);
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

async function verify(req: IncomingMessage, body: Buffer): Promise<Verdict> {
  const authorization = String(req.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) throw new Error(`not a SigV4 authorization header: ${authorization}`);
  const [, keyId, , region, service, signedHeaderList] = match;
  const signedHeaders = signedHeaderList.split(';');
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] =
      existing === undefined
        ? value
        : Array.isArray(existing)
          ? [...existing, value]
          : [existing, value];
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : String(value ?? '');
  }
  const signer = new SignatureV4({
    credentials: CREDENTIALS,
    region,
    service,
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'https:',
      hostname: headers.host ?? '',
      path: url.pathname,
      query,
      headers,
      body: body.length > 0 ? body.toString('utf8') : undefined,
    },
    { signingDate: amzDate(headers['x-amz-date']) },
  );
  const payloadHash = createHash('sha256').update(body).digest('hex');
  return {
    method: req.method ?? '',
    path: req.url ?? '',
    service,
    signedHeaders,
    signatureMatches:
      keyId === CREDENTIALS.accessKeyId && signed.headers.authorization === authorization,
    bodyHashMatches: req.headers['x-amz-content-sha256'] === payloadHash,
    ...(typeof req.headers['x-amz-security-token'] === 'string'
      ? { securityToken: req.headers['x-amz-security-token'] }
      : {}),
  };
}

/** Stands in for Amazon OpenSearch Service: checks every signature, answers like OpenSearch. */
function signedEndpoint() {
  const verdicts: Verdict[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void verify(req, Buffer.concat(chunks)).then(
        (verdict) => {
          verdicts.push(verdict);
          const ok = verdict.signatureMatches && verdict.bodyHashMatches;
          res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
          if (!ok) {
            res.end(
              JSON.stringify({ message: 'The request signature we calculated does not match' }),
            );
            return;
          }
          const path = (req.url ?? '').split('?')[0];
          if (path === '/')
            res.end(JSON.stringify({ version: { distribution: 'opensearch', number: '2.19.0' } }));
          else if (path === '/_cat/plugins')
            res.end(JSON.stringify([{ component: 'opensearch-knn' }]));
          else if (path === '/_bulk')
            res.end(
              JSON.stringify({ items: [{ index: { status: 201 } }, { delete: { status: 200 } }] }),
            );
          else if (path.endsWith('/_search'))
            res.end(
              JSON.stringify({ took: 1, hits: { total: { value: 0, relation: 'eq' }, hits: [] } }),
            );
          else if (path.includes('/_mapping/field/')) res.end('{}');
          else res.end(JSON.stringify({ acknowledged: true }));
        },
        (error: Error) => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: error.message }));
        },
      );
    });
  });
  return {
    verdicts,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SigV4 signing for Amazon OpenSearch, checked by the AWS SDK signer', () => {
  const endpoint = signedEndpoint();
  let url = '';
  beforeAll(async () => {
    url = await endpoint.start();
  });
  afterAll(() => endpoint.stop());

  async function exercise(engine: SearchEngine): Promise<void> {
    await engine.searchPage({
      indices: ['searchsync.public.a', 'searchsync.public.b'],
      filters: [{ kind: 'term', field: 'name', value: 'ü & "x"', negate: false }],
      sort: [{ field: 'price', order: 'desc' }],
      size: 10,
      trackTotalHitsUpTo: 100,
    });
    await engine.bulk([
      {
        type: 'index',
        index: 'searchsync.public.a',
        id: 'ü/1 +x',
        version: 2n ** 62n,
        document: { name: 'grüße', n: 1 },
      },
      { type: 'delete', index: 'searchsync.public.a', id: '2', version: 3n },
    ]);
  }

  it('signs search and bulk requests (with bodies) with static credentials, for es and aoss', async () => {
    for (const service of ['es', 'aoss'] as const) {
      endpoint.verdicts.length = 0;
      const engine = await createSearchEngine(
        {
          url,
          auth: {
            type: 'aws-sigv4',
            region: REGION,
            service,
            credentials: () => Promise.resolve(CREDENTIALS),
          },
        },
        { requestTimeoutMs: 5000 },
      );
      await exercise(engine);
      await engine.close();
      const search = endpoint.verdicts.find((v) => v.path.includes('/_search'));
      const bulk = endpoint.verdicts.find((v) => v.path.startsWith('/_bulk'));
      expect(search).toMatchObject({
        method: 'POST',
        service,
        signatureMatches: true,
        bodyHashMatches: true,
      });
      expect(bulk).toMatchObject({
        method: 'POST',
        service,
        signatureMatches: true,
        bodyHashMatches: true,
      });
      expect(bulk?.signedHeaders).toEqual(
        expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date']),
      );
      expect(bulk?.securityToken).toBe(CREDENTIALS.sessionToken);
      expect(endpoint.verdicts.every((v) => v.signatureMatches && v.bodyHashMatches)).toBe(true);
      // Serverless has no GET /: nothing but the calls made was sent.
      if (service === 'aoss') expect(endpoint.verdicts.some((v) => v.path === '/')).toBe(false);
    }
  });

  it('takes credentials from the AWS SDK default chain (here: the environment)', async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
    process.env.AWS_SESSION_TOKEN = CREDENTIALS.sessionToken;
    try {
      endpoint.verdicts.length = 0;
      const engine = await createSearchEngine({
        url,
        auth: { type: 'aws-sigv4', region: REGION, service: 'es' },
      });
      await exercise(engine);
      await engine.close();
      expect(endpoint.verdicts.length).toBeGreaterThanOrEqual(3);
      expect(endpoint.verdicts.every((v) => v.signatureMatches && v.bodyHashMatches)).toBe(true);
    } finally {
      process.env = saved;
    }
  });

  it('is refused by the endpoint when the signing key is wrong', async () => {
    endpoint.verdicts.length = 0;
    const engine = await createSearchEngine({
      url,
      engine: 'opensearch',
      auth: {
        type: 'aws-sigv4',
        region: REGION,
        service: 'aoss',
        credentials: () => Promise.resolve({ ...CREDENTIALS, secretAccessKey: 'wrong' }),
      },
    });
    await expect(
      engine.bulk([{ type: 'delete', index: 'a', id: '1', version: 1n }]),
    ).rejects.toMatchObject({
      statusCode: 403,
    });
    expect(endpoint.verdicts[0]).toMatchObject({ signatureMatches: false });
    await engine.close();
  });

  it('fails as retryable when the credential chain has nothing (yet)', async () => {
    const engine = await createSearchEngine({
      url,
      auth: {
        type: 'aws-sigv4',
        region: REGION,
        service: 'aoss',
        credentials: () =>
          Promise.reject(
            Object.assign(new Error('Could not load credentials from any providers'), {
              name: 'CredentialsProviderError',
            }),
          ),
      },
    });
    const failure = engine.bulk([{ type: 'delete', index: 'a', id: '1', version: 1n }]);
    await expect(failure).rejects.toBeInstanceOf(SearchEngineUnavailableError);
    await expect(failure).rejects.toMatchObject({
      type: 'credentials_unavailable',
      retryable: true,
    });
    await engine.close();
  });
});

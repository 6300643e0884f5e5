import { AxiosError, type AxiosResponse } from 'axios';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectClient, toConnectError } from './connect-client';
import {
  ConnectConflictError,
  ConnectNotFoundError,
  ConnectRequestError,
  ConnectUnavailableError,
} from './connect.errors';

function httpError(status: number, data: unknown): AxiosError {
  return new AxiosError('failed', 'ERR', undefined, undefined, { status, data } as AxiosResponse);
}

describe('toConnectError', () => {
  it('classifies conflicts, rebalances, not found, unreachable and the rest', () => {
    expect(toConnectError(httpError(409, { message: 'busy' }), 'PUT x')).toBeInstanceOf(
      ConnectConflictError,
    );
    const rebalance = toConnectError(
      httpError(500, { message: 'Request cannot be completed because a rebalance is expected' }),
      'GET x',
    );
    expect(rebalance).toBeInstanceOf(ConnectConflictError);
    expect(rebalance.retryable).toBe(true);
    expect(
      toConnectError(httpError(404, { message: 'Connector x not found' }), 'GET x'),
    ).toBeInstanceOf(ConnectNotFoundError);
    expect(toConnectError(new AxiosError('connect ECONNREFUSED'), 'GET /')).toBeInstanceOf(
      ConnectUnavailableError,
    );
    const bad = toConnectError(httpError(400, { message: 'bad' }), 'PUT x');
    expect(bad).toBeInstanceOf(ConnectRequestError);
    expect(bad).toMatchObject({ statusCode: 400, retryable: false });
  });

  it('never carries secrets in its message', () => {
    const error = toConnectError(
      httpError(400, {
        message:
          'Connector config {"database.password":"hunter2", "x":"y"} invalid; jdbc password=hunter2',
      }),
      'PUT /connectors/x/config',
    );
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('********');
  });
});

describe('ConnectClient retries', () => {
  let server: Server;
  let url: string;
  /** Status codes the server answers with, in order (0: drops the connection); then 200. */
  let answers: number[];
  let calls: number;

  beforeAll(async () => {
    // A plain HTTP server standing where a Connect worker would: the real axios client, the real
    // wire, only the answers chosen by the test.
    server = createServer((_request, response) => {
      calls += 1;
      const status = answers.shift() ?? 200;
      if (status === 0) {
        response.socket?.destroy();
        return;
      }
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(status === 200 ? ['c'] : { message: `status ${status}` }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    calls = 0;
    answers = [];
  });

  it('retries conflicts until one succeeds', async () => {
    answers = [409, 409];
    const client = new ConnectClient(url, { attempts: 4, backoffMs: 1 });
    await expect(client.listConnectors()).resolves.toEqual(['c']);
    expect(calls).toBe(3);
  });

  it('gives up after `attempts` with the last conflict', async () => {
    answers = [409, 409, 409, 409, 409];
    const client = new ConnectClient(url, { attempts: 3, backoffMs: 1 });
    await expect(client.listConnectors()).rejects.toBeInstanceOf(ConnectConflictError);
    expect(calls).toBe(3);
  });

  it('does not retry a bad request, a missing connector or a failure inside the worker', async () => {
    const client = new ConnectClient(url, { attempts: 5, backoffMs: 1 });
    for (const [status, type] of [
      [400, ConnectRequestError],
      [404, ConnectNotFoundError],
      [500, ConnectUnavailableError],
    ] as const) {
      calls = 0;
      answers = [status, 200];
      await expect(client.listConnectors()).rejects.toBeInstanceOf(type);
      expect(calls).toBe(1);
    }
  });

  it('retries a worker that drops the connection, without an answer', async () => {
    answers = [0, 0];
    const client = new ConnectClient(url, { attempts: 3, backoffMs: 1 });
    await expect(client.listConnectors()).resolves.toEqual(['c']);
    expect(calls).toBe(3);
    answers = [0, 0, 0];
    calls = 0;
    await expect(client.listConnectors()).rejects.toBeInstanceOf(ConnectUnavailableError);
    expect(calls).toBe(3);
  });
});

import { AxiosError, type AxiosResponse } from 'axios';
import { toConnectError } from './connect-client';
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

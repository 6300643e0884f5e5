import { join } from 'node:path';
import {
  ConnectConflictError,
  ConnectRequestError,
  ConnectUnavailableError,
  type ConnectorState,
  type ConnectorStatus,
} from '@searchsync/connect-client';
import { ConnectorStartTimeoutError, ConnectorTaskFailedError } from './bootstrap.errors';
import { CONNECTOR_TEMPLATE } from './bootstrap-settings';
import {
  connectorTemplateEnv,
  renderConnector,
  retryableConnectError,
  sameConnectorConfig,
  waitForConnectorRunning,
  type ConnectorInputs,
} from './connector-registration';

const TEMPLATE = join(__dirname, '..', '..', '..', CONNECTOR_TEMPLATE);
const INPUTS: ConnectorInputs = {
  databaseUrl: 'postgres://debezium:p%40ss@db.internal:6543/shop',
  name: 'bootstrap-check',
  topicPrefix: 'bootstrap_check',
  schemas: ['bootstrap_check', 'sales'],
  publication: 'bootstrap_check_pub',
};

describe('the connector the bootstrap registers', () => {
  it('is the template rendered with the prepared schemas, publication and database', () => {
    const { name, config } = renderConnector(TEMPLATE, INPUTS, {
      SEARCHSYNC_SLOT_NAME: 'bootstrap_check_slot',
      // The bootstrap's own settings win over a stray variable of the same name.
      SEARCHSYNC_SCHEMAS: 'public',
    });
    expect(name).toBe('bootstrap-check');
    expect(config).toMatchObject({
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'database.hostname': 'db.internal',
      'database.port': '6543',
      'database.user': 'debezium',
      'database.password': 'p@ss',
      'database.dbname': 'shop',
      'topic.prefix': 'bootstrap_check',
      'slot.name': 'bootstrap_check_slot',
      'publication.name': 'bootstrap_check_pub',
      'publication.autocreate.mode': 'disabled',
      'schema.include.list': 'bootstrap_check,sales',
      'signal.data.collection': 'searchsync_cdc.signal',
    });
    expect(config['heartbeat.action.query']).toMatch(/searchsync_cdc\.heartbeat/);
  });

  it('keeps every other variable of the environment for the template', () => {
    const env = connectorTemplateEnv(INPUTS, { SEARCHSYNC_TOPIC_PARTITIONS: '6', PGHOST: 'x' });
    expect(env.SEARCHSYNC_TOPIC_PARTITIONS).toBe('6');
    // DATABASE_URL is the one source of the connection
    expect(env.PGHOST).toBe('db.internal');
  });

  it('is compared with the running one regardless of key order and Connect’s name key', () => {
    expect(sameConnectorConfig({ name: 'c', a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameConnectorConfig({ name: 'c', a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(sameConnectorConfig({ a: '1' }, { a: '2' })).toBe(false);
  });
});

describe('retryableConnectError', () => {
  it('retries rebalances, an unreachable or failing worker, not a refused request', () => {
    expect(retryableConnectError(new ConnectConflictError('rebalance'))).toBe(true);
    expect(retryableConnectError(new ConnectUnavailableError('ECONNREFUSED'))).toBe(true);
    expect(retryableConnectError(new ConnectUnavailableError('boom', 500))).toBe(true);
    expect(retryableConnectError(new ConnectRequestError('bad config', 400))).toBe(false);
  });
});

const status = (
  connector: ConnectorState,
  task?: ConnectorState,
  trace?: string,
): ConnectorStatus => ({
  name: 'c',
  type: 'source',
  connector: { state: connector, worker_id: 'w' },
  tasks: task ? [{ id: 0, state: task, worker_id: 'w', trace }] : [],
});

/** A connector whose status calls answer the scripted replies in turn (the last one repeats). */
function scripted(replies: (ConnectorStatus | Error)[]) {
  const restarts: unknown[] = [];
  let call = 0;
  return {
    restarts,
    getStatus: (): Promise<ConnectorStatus> => {
      const reply = replies[Math.min(call++, replies.length - 1)];
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
    restart: (_name: string, options: unknown) => {
      restarts.push(options);
      return Promise.resolve(null);
    },
  };
}

const FAST = { timeoutMs: 500, pollMs: 1, failedGraceMs: 20 };
const quiet = () => undefined;

describe('waitForConnectorRunning', () => {
  it('returns once connector and task run, asking again through failed status calls', async () => {
    const connect = scripted([
      new ConnectConflictError('rebalance is expected'),
      status('RUNNING'),
      status('RUNNING', 'RUNNING'),
    ]);
    const result = await waitForConnectorRunning(connect, 'c', quiet, FAST);
    expect(result.tasks[0].state).toBe('RUNNING');
    expect(connect.restarts).toEqual([]);
  });

  it('restarts a failed task once, with the current config', async () => {
    const connect = scripted([status('RUNNING', 'FAILED', 'old'), status('RUNNING', 'RUNNING')]);
    const lines: string[] = [];
    await waitForConnectorRunning(connect, 'c', (l) => lines.push(l), FAST);
    expect(connect.restarts).toEqual([{ includeTasks: true, onlyFailed: true }]);
    expect(lines).toEqual(['connector c has a failed task; restarting it with the current config']);
  });

  it('gives up on a task that keeps failing after its restart, with the first trace line', async () => {
    const connect = scripted([status('RUNNING', 'FAILED', 'org.postgresql.Boom: no\n\tat x')]);
    const failure = waitForConnectorRunning(connect, 'c', quiet, FAST);
    await expect(failure).rejects.toBeInstanceOf(ConnectorTaskFailedError);
    await expect(failure).rejects.toThrow('connector c task failed: org.postgresql.Boom: no');
    expect(connect.restarts).toHaveLength(1);
  });

  it('times out with the last state it saw', async () => {
    const connect = scripted([status('UNASSIGNED')]);
    const failure = waitForConnectorRunning(connect, 'c', quiet, { ...FAST, timeoutMs: 30 });
    await expect(failure).rejects.toBeInstanceOf(ConnectorStartTimeoutError);
    await expect(failure).rejects.toThrow('(connector UNASSIGNED, task not assigned)');
  });
});

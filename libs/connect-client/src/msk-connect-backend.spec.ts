import {
  ConflictException,
  CreateConnectorCommand,
  DeleteConnectorCommand,
  DescribeConnectorCommand,
  KafkaConnectClient,
  ListConnectorsCommand,
  NotFoundException,
  PauseConnectorCommand,
  RestartConnectorCommand,
  ResumeConnectorCommand,
  UpdateConnectorCommand,
} from '@aws-sdk/client-kafkaconnect';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ConnectCapabilityError,
  ConnectConflictError,
  ConnectNotFoundError,
} from './connect.errors';
import { MskConnectBackend, toMskError } from './msk-connect-backend';

// MSK Connect cannot be reached from here: these tests drive the real SDK client through
// aws-sdk-client-mock, with request/response shapes from the MSK Connect API reference.
const ARN = 'arn:aws:kafkaconnect:eu-west-1:123456789012:connector/searchsync-postgres/abc-1';
const mock = mockClient(KafkaConnectClient);

function backend(options: ConstructorParameters<typeof MskConnectBackend>[0] = {}) {
  return new MskConnectBackend({
    client: new KafkaConnectClient({ region: 'eu-west-1' }),
    backoffMs: 1,
    ...options,
  });
}

beforeEach(() => {
  mock.reset();
  mock.on(ListConnectorsCommand).resolves({
    connectors: [
      {
        connectorName: 'searchsync-postgres-old',
        connectorArn: `${ARN}-old`,
        connectorState: 'RUNNING',
      },
      {
        connectorName: 'searchsync-postgres',
        connectorArn: ARN,
        connectorState: 'RUNNING',
        currentVersion: 'V1',
      },
    ],
  });
  mock.on(DescribeConnectorCommand).resolves({
    connectorArn: ARN,
    connectorName: 'searchsync-postgres',
    connectorState: 'FAILED',
    currentVersion: 'V7',
    connectorConfiguration: {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'database.password': 'hunter2',
    },
    stateDescription: {
      code: 'CONNECTOR_FAILED',
      message: 'task failed: password=hunter2 rejected',
    },
  });
});

describe('MskConnectBackend', () => {
  it('declares what MSK Connect lacks', () => {
    expect(backend().capabilities).toEqual({
      create: false,
      pauseResume: true,
      stop: false,
      restartTasks: false,
      offsets: false,
      validate: false,
      taskStatus: false,
    });
    expect(backend({ createSpec: {} as never }).capabilities.create).toBe(true);
  });

  it('lists connectors across pages', async () => {
    mock
      .on(ListConnectorsCommand)
      .resolvesOnce({
        connectors: [{ connectorName: 'b', connectorState: 'PAUSED' }],
        nextToken: 't1',
      })
      .resolvesOnce({ connectors: [{ connectorName: 'a', connectorState: 'RUNNING' }] });
    expect(await backend().list()).toEqual([
      { name: 'a', type: 'source', state: 'RUNNING', tasks: [] },
      { name: 'b', type: 'source', state: 'PAUSED', tasks: [] },
    ]);
    expect(mock.commandCalls(ListConnectorsCommand)[1].args[0].input).toEqual({ nextToken: 't1' });
  });

  it('finds a connector by exact name and reports its state with the reason, redacted', async () => {
    const status = await backend().status('searchsync-postgres');
    expect(status).toEqual({
      name: 'searchsync-postgres',
      type: 'source',
      state: 'FAILED',
      tasks: [],
      trace: expect.stringContaining('CONNECTOR_FAILED'),
    });
    expect(status.trace).not.toContain('hunter2');
    expect(mock.commandCalls(DescribeConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
    });
    expect(mock.commandCalls(ListConnectorsCommand)[0].args[0].input).toMatchObject({
      connectorNamePrefix: 'searchsync-postgres',
    });
  });

  it('updates an existing connector with its current version', async () => {
    mock.on(UpdateConnectorCommand).resolves({ connectorArn: ARN, connectorState: 'UPDATING' });
    const config = {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
    };
    expect(await backend().apply('searchsync-postgres', config)).toEqual({ created: false });
    expect(mock.commandCalls(UpdateConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
      currentVersion: 'V7',
      connectorConfiguration: config,
    });
  });

  it('creates only with the infrastructure spec, else says why not', async () => {
    mock.on(ListConnectorsCommand).resolves({ connectors: [] });
    await expect(backend().apply('new-one', { a: 'b' })).rejects.toBeInstanceOf(
      ConnectCapabilityError,
    );
    mock.on(CreateConnectorCommand).resolves({ connectorArn: 'arn:new', connectorName: 'new-one' });
    const spec = {
      capacity: { provisionedCapacity: { mcuCount: 1, workerCount: 1 } },
      kafkaCluster: {
        apacheKafkaCluster: {
          bootstrapServers: 'b-1:9098',
          vpc: { subnets: ['s'], securityGroups: ['g'] },
        },
      },
      kafkaClusterClientAuthentication: { authenticationType: 'IAM' as const },
      kafkaClusterEncryptionInTransit: { encryptionType: 'TLS' as const },
      kafkaConnectVersion: '3.7.x',
      plugins: [{ customPlugin: { customPluginArn: 'arn:plugin', revision: 1 } }],
      serviceExecutionRoleArn: 'arn:role',
    };
    expect(await backend({ createSpec: spec }).apply('new-one', { a: 'b' })).toEqual({
      created: true,
    });
    expect(mock.commandCalls(CreateConnectorCommand)[0].args[0].input).toEqual({
      ...spec,
      connectorName: 'new-one',
      connectorConfiguration: { a: 'b' },
    });
  });

  it('pauses, resumes, restarts (failed tasks only) and deletes by ARN', async () => {
    mock.on(PauseConnectorCommand).resolves({ connectorArn: ARN });
    mock.on(ResumeConnectorCommand).resolves({ connectorArn: ARN });
    mock.on(RestartConnectorCommand).resolves({ connectorArn: ARN });
    mock.on(DeleteConnectorCommand).resolves({ connectorArn: ARN, connectorState: 'DELETING' });
    const msk = backend();
    await msk.pause('searchsync-postgres');
    await msk.resume('searchsync-postgres');
    await msk.restart('searchsync-postgres', { onlyFailed: true });
    await msk.delete('searchsync-postgres');
    expect(mock.commandCalls(PauseConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
    });
    expect(mock.commandCalls(ResumeConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
    });
    expect(mock.commandCalls(RestartConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
      onlyFailedTasks: true,
    });
    expect(mock.commandCalls(DeleteConnectorCommand)[0].args[0].input).toEqual({
      connectorArn: ARN,
      currentVersion: 'V7',
    });
  });

  it('refuses what MSK Connect cannot do', async () => {
    const msk = backend();
    await expect(msk.stop()).rejects.toBeInstanceOf(ConnectCapabilityError);
    await expect(msk.offsets()).rejects.toMatchObject({ statusCode: 501 });
    await expect(msk.validate()).rejects.toThrow(/does not support validate/);
    await expect(msk.restartTask()).rejects.toBeInstanceOf(ConnectCapabilityError);
  });

  it('maps AWS errors: not found, conflict retried then raised', async () => {
    mock.on(ListConnectorsCommand).resolves({ connectors: [] });
    await expect(backend().status('nope')).rejects.toBeInstanceOf(ConnectNotFoundError);

    mock
      .on(ListConnectorsCommand)
      .resolves({ connectors: [{ connectorName: 'x', connectorArn: ARN }] });
    mock
      .on(PauseConnectorCommand)
      .rejects(new ConflictException({ message: 'busy', $metadata: {} }));
    await expect(backend({ attempts: 3 }).pause('x')).rejects.toBeInstanceOf(ConnectConflictError);
    expect(mock.commandCalls(PauseConnectorCommand)).toHaveLength(3);

    const notFound = toMskError(
      new NotFoundException({ message: 'gone', $metadata: {} }),
      'DescribeConnector',
    );
    expect(notFound).toBeInstanceOf(ConnectNotFoundError);
  });
});

import {
  CreateConnectorCommand,
  DeleteConnectorCommand,
  DescribeConnectorCommand,
  KafkaConnectClient,
  ListConnectorsCommand,
  PauseConnectorCommand,
  RestartConnectorCommand,
  ResumeConnectorCommand,
  UpdateConnectorCommand,
  type CreateConnectorRequest,
  type DescribeConnectorResponse,
} from '@aws-sdk/client-kafkaconnect';
import { retryPolicy, type RetryPolicy } from '@searchsync/retry';
import {
  ConnectCapabilityError,
  ConnectConflictError,
  ConnectError,
  ConnectNotFoundError,
  ConnectRequestError,
  ConnectUnavailableError,
} from './connect.errors';
import type { ConnectorConfig, ConnectorOffsets } from './connect-types';
import type {
  BackendCapabilities,
  ConnectorBackend,
  ConnectorView,
  ValidationOutcome,
} from './connector-backend';
import { redactText } from './redact';

/**
 * Everything CreateConnector needs besides the name and the connector config: capacity,
 * cluster, authentication, plugin, IAM role — the infrastructure Terraform (deploy/msk) owns.
 */
export type MskCreateSpec = Omit<
  CreateConnectorRequest,
  'connectorName' | 'connectorConfiguration'
>;

export interface MskConnectBackendOptions {
  region?: string;
  /** Without it, connectors are created by Terraform and the admin only updates them. */
  createSpec?: MskCreateSpec;
  /** Attempts for conflicts and throttling (409, 429). */
  attempts?: number;
  /** First backoff delay; later ones grow with the house backoff (@searchsync/retry). */
  backoffMs?: number;
  client?: KafkaConnectClient;
}

const STATUS_OF: Record<string, number> = {
  BadRequestException: 400,
  UnauthorizedException: 401,
  ForbiddenException: 403,
  NotFoundException: 404,
  ConflictException: 409,
  TooManyRequestsException: 429,
  InternalServerErrorException: 500,
  ServiceUnavailableException: 503,
};

/** Maps an AWS SDK failure onto the same error hierarchy as the Connect REST client. */
export function toMskError(error: unknown, what: string): ConnectError {
  if (error instanceof ConnectError) return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const message = `${what}: ${name}: ${(error as Error).message}`;
  const status =
    STATUS_OF[name] ??
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 404) return new ConnectNotFoundError(message);
  if (status === 409 || status === 429) return new ConnectConflictError(message);
  if (status === undefined || status >= 500) return new ConnectUnavailableError(message, status);
  return new ConnectRequestError(message, status);
}

/**
 * Amazon MSK Connect behind the backend interface. MSK Connect has no stop, no offsets API, no
 * config validation endpoint and reports one state per connector (no per-task status): those
 * capabilities are off and their calls raise ConnectCapabilityError.
 */
export class MskConnectBackend implements ConnectorBackend {
  readonly kind = 'msk-connect' as const;
  readonly capabilities: BackendCapabilities;
  private readonly client: KafkaConnectClient;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: MskConnectBackendOptions = {}) {
    this.client = options.client ?? new KafkaConnectClient({ region: options.region });
    this.retry = retryPolicy({
      initialDelayMs: options.backoffMs ?? 500,
      maxRetries: (options.attempts ?? 5) - 1,
      retryable: (error) => error instanceof ConnectConflictError,
    });
    this.capabilities = {
      create: options.createSpec !== undefined,
      pauseResume: true,
      stop: false,
      restartTasks: false,
      offsets: false,
      validate: false,
      taskStatus: false,
    };
  }

  private send<T>(what: string, work: () => Promise<T>): Promise<T> {
    return this.retry.execute(async () => {
      try {
        return await work();
      } catch (error) {
        throw toMskError(error, what);
      }
    });
  }

  private unsupported(capability: string): never {
    throw new ConnectCapabilityError('MSK Connect', capability);
  }

  async info(): Promise<{ version: string }> {
    await this.send('ListConnectors', () =>
      this.client.send(new ListConnectorsCommand({ maxResults: 1 })),
    );
    return { version: 'msk-connect' };
  }

  private async arnOf(name: string): Promise<string | null> {
    let nextToken: string | undefined;
    do {
      const page = await this.send('ListConnectors', () =>
        this.client.send(new ListConnectorsCommand({ connectorNamePrefix: name, nextToken })),
      );
      const match = page.connectors?.find((c) => c.connectorName === name);
      if (match?.connectorArn) return match.connectorArn;
      nextToken = page.nextToken;
    } while (nextToken);
    return null;
  }

  private async describe(
    name: string,
  ): Promise<DescribeConnectorResponse & { connectorArn: string }> {
    const arn = await this.arnOf(name);
    if (!arn) throw new ConnectNotFoundError(`MSK Connect connector ${name} not found`);
    const described = await this.send('DescribeConnector', () =>
      this.client.send(new DescribeConnectorCommand({ connectorArn: arn })),
    );
    return { ...described, connectorArn: arn };
  }

  private static view(name: string, described: DescribeConnectorResponse): ConnectorView {
    const message = described.stateDescription?.message;
    return {
      name,
      type: 'source',
      state: described.connectorState ?? 'UNKNOWN',
      tasks: [],
      ...(message
        ? { trace: redactText(`${described.stateDescription?.code ?? ''} ${message}`.trim()) }
        : {}),
    };
  }

  async list(): Promise<ConnectorView[]> {
    const views: ConnectorView[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.send('ListConnectors', () =>
        this.client.send(new ListConnectorsCommand({ nextToken })),
      );
      for (const summary of page.connectors ?? []) {
        views.push({
          name: summary.connectorName ?? summary.connectorArn ?? 'unknown',
          type: 'source',
          state: summary.connectorState ?? 'UNKNOWN',
          tasks: [],
        });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return views.sort((a, b) => a.name.localeCompare(b.name));
  }

  async status(name: string): Promise<ConnectorView> {
    return MskConnectBackend.view(name, await this.describe(name));
  }

  async config(name: string): Promise<ConnectorConfig> {
    return (await this.describe(name)).connectorConfiguration ?? {};
  }

  async apply(name: string, config: ConnectorConfig): Promise<{ created: boolean }> {
    const arn = await this.arnOf(name);
    if (!arn) {
      const spec = this.options.createSpec;
      if (!spec) this.unsupported('creating connectors without ADMIN_MSK_CREATE_SPEC');
      await this.send('CreateConnector', () =>
        this.client.send(
          new CreateConnectorCommand({
            ...spec,
            connectorName: name,
            connectorConfiguration: config,
          }),
        ),
      );
      return { created: true };
    }
    const described = await this.send('DescribeConnector', () =>
      this.client.send(new DescribeConnectorCommand({ connectorArn: arn })),
    );
    await this.send('UpdateConnector', () =>
      this.client.send(
        new UpdateConnectorCommand({
          connectorArn: arn,
          currentVersion: described.currentVersion,
          connectorConfiguration: config,
        }),
      ),
    );
    return { created: false };
  }

  async delete(name: string): Promise<void> {
    const described = await this.describe(name);
    await this.send('DeleteConnector', () =>
      this.client.send(
        new DeleteConnectorCommand({
          connectorArn: described.connectorArn,
          currentVersion: described.currentVersion,
        }),
      ),
    );
  }

  async pause(name: string): Promise<void> {
    const arn = (await this.describe(name)).connectorArn;
    await this.send('PauseConnector', () =>
      this.client.send(new PauseConnectorCommand({ connectorArn: arn })),
    );
  }

  async resume(name: string): Promise<void> {
    const arn = (await this.describe(name)).connectorArn;
    await this.send('ResumeConnector', () =>
      this.client.send(new ResumeConnectorCommand({ connectorArn: arn })),
    );
  }

  stop(): Promise<void> {
    return Promise.reject(new ConnectCapabilityError('MSK Connect', 'stop'));
  }

  async restart(name: string, options: { onlyFailed: boolean }): Promise<void> {
    const arn = (await this.describe(name)).connectorArn;
    await this.send('RestartConnector', () =>
      this.client.send(
        new RestartConnectorCommand({ connectorArn: arn, onlyFailedTasks: options.onlyFailed }),
      ),
    );
  }

  restartTask(): Promise<void> {
    return Promise.reject(new ConnectCapabilityError('MSK Connect', 'restarting a single task'));
  }

  offsets(): Promise<ConnectorOffsets> {
    return Promise.reject(new ConnectCapabilityError('MSK Connect', 'offsets'));
  }

  validate(): Promise<ValidationOutcome> {
    return Promise.reject(new ConnectCapabilityError('MSK Connect', 'validate'));
  }
}

import axios, { AxiosError, type AxiosInstance, type Method } from 'axios';
import {
  ConnectConflictError,
  ConnectError,
  ConnectNotFoundError,
  ConnectRequestError,
  ConnectUnavailableError,
} from './connect.errors';
import type {
  ConnectorConfig,
  ConnectorInfo,
  ConnectorPlugin,
  ConnectorStatus,
  ValidationResult,
} from './connect-types';

export interface ConnectClientOptions {
  /** Attempts for retryable failures (409 during rebalances, unreachable worker). */
  attempts?: number;
  /** First backoff delay; doubles each attempt. */
  backoffMs?: number;
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function toConnectError(error: unknown, what: string): ConnectError {
  if (error instanceof AxiosError) {
    if (!error.response) return new ConnectUnavailableError(`${what}: ${error.message}`);
    const status = error.response.status;
    const data = error.response.data as { message?: string } | string | undefined;
    const message = typeof data === 'string' ? data : (data?.message ?? error.message);
    if (status === 409 || /rebalance is expected/i.test(message)) {
      return new ConnectConflictError(`${what}: ${message}`);
    }
    if (status === 404) return new ConnectNotFoundError(`${what}: ${message}`);
    return new ConnectRequestError(`${what}: ${message}`, status);
  }
  return new ConnectRequestError(`${what}: ${(error as Error).message}`, 500);
}

/** Typed client for the Kafka Connect REST API with its conflict semantics. */
export class ConnectClient {
  private readonly http: AxiosInstance;
  private readonly attempts: number;
  private readonly backoffMs: number;

  constructor(baseURL: string, options: ConnectClientOptions = {}) {
    this.http = axios.create({ baseURL, timeout: options.timeoutMs ?? 30_000 });
    this.attempts = options.attempts ?? 6;
    this.backoffMs = options.backoffMs ?? 250;
  }

  private async request<T>(method: Method, url: string, data?: unknown): Promise<T> {
    const what = `${method.toUpperCase()} ${url}`;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.http.request<T>({ method, url, data });
        return response.data;
      } catch (error) {
        const connectError = toConnectError(error, what);
        if (!connectError.retryable || attempt >= this.attempts) throw connectError;
        await sleep(this.backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  private static path(name: string): string {
    return `/connectors/${encodeURIComponent(name)}`;
  }

  serverInfo(): Promise<{ version: string; commit: string; kafka_cluster_id: string }> {
    return this.request('get', '/');
  }

  listConnectors(): Promise<string[]> {
    return this.request('get', '/connectors');
  }

  /** Every connector with its status, in one call. */
  async listConnectorStatuses(): Promise<ConnectorStatus[]> {
    const expanded = await this.request<Record<string, { status: ConnectorStatus }>>(
      'get',
      '/connectors?expand=status',
    );
    return Object.values(expanded).map((entry) => entry.status);
  }

  getConnector(name: string): Promise<ConnectorInfo> {
    return this.request('get', ConnectClient.path(name));
  }

  getConfig(name: string): Promise<ConnectorConfig> {
    return this.request('get', `${ConnectClient.path(name)}/config`);
  }

  getStatus(name: string): Promise<ConnectorStatus> {
    return this.request('get', `${ConnectClient.path(name)}/status`);
  }

  /** Creates the connector or updates its config: the same call either way. */
  putConfig(name: string, config: ConnectorConfig): Promise<ConnectorInfo> {
    return this.request('put', `${ConnectClient.path(name)}/config`, { ...config, name });
  }

  async deleteConnector(name: string): Promise<void> {
    await this.request('delete', ConnectClient.path(name));
  }

  async restart(
    name: string,
    options: { includeTasks?: boolean; onlyFailed?: boolean } = {},
  ): Promise<void> {
    const query = `includeTasks=${options.includeTasks ?? false}&onlyFailed=${options.onlyFailed ?? false}`;
    await this.request('post', `${ConnectClient.path(name)}/restart?${query}`);
  }

  async pause(name: string): Promise<void> {
    await this.request('put', `${ConnectClient.path(name)}/pause`);
  }

  async resume(name: string): Promise<void> {
    await this.request('put', `${ConnectClient.path(name)}/resume`);
  }

  async stop(name: string): Promise<void> {
    await this.request('put', `${ConnectClient.path(name)}/stop`);
  }

  getOffsets(name: string): Promise<{ offsets: { partition: unknown; offset: unknown }[] }> {
    return this.request('get', `${ConnectClient.path(name)}/offsets`);
  }

  listPlugins(): Promise<ConnectorPlugin[]> {
    return this.request('get', '/connector-plugins');
  }

  validate(connectorClass: string, config: ConnectorConfig): Promise<ValidationResult> {
    const pluginName = connectorClass.split('.').pop() ?? connectorClass;
    return this.request(
      'put',
      `/connector-plugins/${encodeURIComponent(pluginName)}/config/validate`,
      config,
    );
  }
}

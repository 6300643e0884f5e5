import { retryPolicy, type RetryPolicy } from '@searchsync/retry';
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
  ConnectorOffsets,
  ConnectorPlugin,
  ConnectorStatus,
  TaskInfo,
  TaskStatus,
  ValidationResult,
} from './connect-types';

export interface ConnectClientOptions {
  /** Attempts for retryable failures (409 during rebalances, unreachable worker). */
  attempts?: number;
  /** First backoff delay; later ones grow with the house backoff (@searchsync/retry). */
  backoffMs?: number;
  timeoutMs?: number;
}

/** Classifies a failed Connect REST call: conflict (retryable), not found, or the rest. */
export function toConnectError(error: unknown, what: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof AxiosError) {
    if (!error.response) return new ConnectUnavailableError(`${what}: ${error.message}`);
    const status = error.response.status;
    const data = error.response.data as { message?: string } | string | undefined;
    const message = typeof data === 'string' ? data : (data?.message ?? error.message);
    if (status === 409 || /rebalance is expected/i.test(message)) {
      return new ConnectConflictError(`${what}: ${message}`);
    }
    if (status === 404) return new ConnectNotFoundError(`${what}: ${message}`);
    if (status >= 500) return new ConnectUnavailableError(`${what}: ${message}`, status);
    return new ConnectRequestError(`${what}: ${message}`, status);
  }
  return new ConnectRequestError(`${what}: ${(error as Error).message}`, 500);
}

/** Typed client for the Kafka Connect REST API with its conflict semantics. */
export class ConnectClient {
  private readonly http: AxiosInstance;
  private readonly retry: RetryPolicy;

  constructor(baseURL: string, options: ConnectClientOptions = {}) {
    // Connect answers 415 to a body-less POST that axios would label as form data.
    this.http = axios.create({
      baseURL,
      timeout: options.timeoutMs ?? 30_000,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    });
    this.retry = retryPolicy({
      initialDelayMs: options.backoffMs ?? 250,
      maxRetries: (options.attempts ?? 6) - 1,
      // 5xx from Connect is usually a request that failed inside the worker: not retried.
      retryable: (error) =>
        error instanceof ConnectConflictError ||
        (error instanceof ConnectUnavailableError && error.statusCode === undefined),
    });
  }

  private async call<T>(
    method: Method,
    url: string,
    data?: unknown,
  ): Promise<{ status: number; data: T }> {
    const what = `${method.toUpperCase()} ${url}`;
    return this.retry.execute(async () => {
      try {
        const response = await this.http.request<T>({ method, url, data });
        return { status: response.status, data: response.data };
      } catch (error) {
        throw toConnectError(error, what);
      }
    });
  }

  private async request<T>(method: Method, url: string, data?: unknown): Promise<T> {
    return (await this.call<T>(method, url, data)).data;
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

  /** Every connector with its status and definition (`expand=status&expand=info`). */
  async listConnectorsExpanded(): Promise<{ status: ConnectorStatus; info: ConnectorInfo }[]> {
    const expanded = await this.request<
      Record<string, { status: ConnectorStatus; info: ConnectorInfo }>
    >('get', '/connectors?expand=status&expand=info');
    return Object.values(expanded);
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

  listTasks(name: string): Promise<TaskInfo[]> {
    return this.request('get', `${ConnectClient.path(name)}/tasks`);
  }

  getTaskStatus(name: string, task: number): Promise<TaskStatus> {
    return this.request('get', `${ConnectClient.path(name)}/tasks/${task}/status`);
  }

  async restartTask(name: string, task: number): Promise<void> {
    await this.request('post', `${ConnectClient.path(name)}/tasks/${task}/restart`);
  }

  /** Creates the connector or replaces its config: the same call either way. */
  async putConfig(
    name: string,
    config: ConnectorConfig,
  ): Promise<ConnectorInfo & { created: boolean }> {
    const response = await this.call<ConnectorInfo>('put', `${ConnectClient.path(name)}/config`, {
      ...config,
      name,
    });
    return { ...response.data, created: response.status === 201 };
  }

  /** Changes only the given keys (a `null` value removes a key). */
  patchConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo> {
    return this.request('patch', `${ConnectClient.path(name)}/config`, patch);
  }

  async deleteConnector(name: string): Promise<void> {
    await this.request('delete', ConnectClient.path(name));
  }

  async restart(
    name: string,
    options: { includeTasks?: boolean; onlyFailed?: boolean } = {},
  ): Promise<ConnectorStatus | null> {
    const query = `includeTasks=${options.includeTasks ?? false}&onlyFailed=${options.onlyFailed ?? false}`;
    const response = await this.call<ConnectorStatus | ''>(
      'post',
      `${ConnectClient.path(name)}/restart?${query}`,
    );
    return typeof response.data === 'object' ? response.data : null;
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

  getOffsets(name: string): Promise<ConnectorOffsets> {
    return this.request('get', `${ConnectClient.path(name)}/offsets`);
  }

  /** Alters offsets; Connect requires the connector to be STOPPED. */
  alterOffsets(name: string, offsets: ConnectorOffsets): Promise<{ message: string }> {
    return this.request('patch', `${ConnectClient.path(name)}/offsets`, offsets);
  }

  /** Resets offsets; Connect requires the connector to be STOPPED. */
  resetOffsets(name: string): Promise<{ message: string }> {
    return this.request('delete', `${ConnectClient.path(name)}/offsets`);
  }

  /** Topics the connector has used (KIP-558). */
  async topics(name: string): Promise<string[]> {
    const response = await this.request<Record<string, { topics: string[] }>>(
      'get',
      `${ConnectClient.path(name)}/topics`,
    );
    return response[name]?.topics ?? [];
  }

  async resetTopics(name: string): Promise<void> {
    await this.request('put', `${ConnectClient.path(name)}/topics/reset`);
  }

  listPlugins(): Promise<ConnectorPlugin[]> {
    return this.request('get', '/connector-plugins');
  }

  /** Connect's own validation of a config against the plugin's definitions. */
  validate(connectorClass: string, config: ConnectorConfig): Promise<ValidationResult> {
    return this.request(
      'put',
      `/connector-plugins/${encodeURIComponent(connectorClass)}/config/validate`,
      { ...config, 'connector.class': connectorClass },
    );
  }
}

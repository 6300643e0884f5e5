import { ConnectClient, type ConnectClientOptions } from './connect-client';
import type { ConnectorConfig, ConnectorOffsets, ConnectorStatus } from './connect-types';
import {
  firstLine,
  type BackendCapabilities,
  type ConnectorBackend,
  type ConnectorView,
  type ValidationOutcome,
} from './connector-backend';
import { redactText } from './redact';

function view(status: ConnectorStatus): ConnectorView {
  const trace = firstLine(status.connector.trace);
  return {
    name: status.name,
    type: status.type,
    state: status.connector.state,
    tasks: status.tasks
      .map((task) => {
        const taskTrace = firstLine(task.trace);
        return {
          id: task.id,
          state: task.state,
          ...(taskTrace ? { trace: redactText(taskTrace) } : {}),
        };
      })
      .sort((a, b) => a.id - b.id),
    ...(trace ? { trace: redactText(trace) } : {}),
  };
}

/** Self-hosted Kafka Connect over its REST API: every capability. */
export class KafkaConnectBackend implements ConnectorBackend {
  readonly kind = 'kafka-connect' as const;
  readonly capabilities: BackendCapabilities = {
    create: true,
    pauseResume: true,
    stop: true,
    restartTasks: true,
    offsets: true,
    validate: true,
    taskStatus: true,
  };
  readonly client: ConnectClient;

  constructor(url: string, options: ConnectClientOptions = {}) {
    this.client = new ConnectClient(url, options);
  }

  async info(): Promise<{ version: string }> {
    return { version: (await this.client.serverInfo()).version };
  }

  async list(): Promise<ConnectorView[]> {
    const statuses = await this.client.listConnectorStatuses();
    return statuses.map(view).sort((a, b) => a.name.localeCompare(b.name));
  }

  async status(name: string): Promise<ConnectorView> {
    return view(await this.client.getStatus(name));
  }

  config(name: string): Promise<ConnectorConfig> {
    return this.client.getConfig(name);
  }

  async apply(name: string, config: ConnectorConfig): Promise<{ created: boolean }> {
    const { created } = await this.client.putConfig(name, config);
    return { created };
  }

  delete(name: string): Promise<void> {
    return this.client.deleteConnector(name);
  }

  pause(name: string): Promise<void> {
    return this.client.pause(name);
  }

  resume(name: string): Promise<void> {
    return this.client.resume(name);
  }

  stop(name: string): Promise<void> {
    return this.client.stop(name);
  }

  async restart(
    name: string,
    options: { includeTasks: boolean; onlyFailed: boolean },
  ): Promise<void> {
    await this.client.restart(name, options);
  }

  restartTask(name: string, task: number): Promise<void> {
    return this.client.restartTask(name, task);
  }

  offsets(name: string): Promise<ConnectorOffsets> {
    return this.client.getOffsets(name);
  }

  async validate(name: string, config: ConnectorConfig): Promise<ValidationOutcome> {
    const connectorClass = config['connector.class'] ?? '';
    const result = await this.client.validate(connectorClass, { ...config, name });
    const errors = result.configs.flatMap(({ value }) =>
      [...new Set(value.errors)].map((message) => ({
        key: value.name,
        message: redactText(message),
      })),
    );
    return { valid: result.error_count === 0 && errors.length === 0, errors };
  }
}

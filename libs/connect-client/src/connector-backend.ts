import type { ConnectorConfig, ConnectorOffsets } from './connect-types';

/** What a backend can do; the admin answers 501 for the rest and says which flag is off. */
export interface BackendCapabilities {
  create: boolean;
  pauseResume: boolean;
  stop: boolean;
  restartTasks: boolean;
  offsets: boolean;
  validate: boolean;
  /** Per-task states (MSK Connect reports the connector's state only). */
  taskStatus: boolean;
}

export type BackendKind = 'kafka-connect' | 'msk-connect';

export interface TaskView {
  id: number;
  state: string;
  /** First line of the failure trace, secrets redacted. */
  trace?: string;
}

export interface ConnectorView {
  name: string;
  type: string;
  state: string;
  tasks: TaskView[];
  trace?: string;
}

export interface ValidationIssue {
  key: string;
  message: string;
}

export interface ValidationOutcome {
  valid: boolean;
  errors: ValidationIssue[];
}

/** One interface over self-hosted Kafka Connect and Amazon MSK Connect. */
export interface ConnectorBackend {
  readonly kind: BackendKind;
  readonly capabilities: BackendCapabilities;
  /** Reachability and version of the control API. */
  info(): Promise<{ version: string }>;
  list(): Promise<ConnectorView[]>;
  status(name: string): Promise<ConnectorView>;
  /** The stored config, unredacted: callers redact before it leaves the process. */
  config(name: string): Promise<ConnectorConfig>;
  /** Creates the connector or updates its config (idempotent). */
  apply(name: string, config: ConnectorConfig): Promise<{ created: boolean }>;
  delete(name: string): Promise<void>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  restart(name: string, options: { includeTasks: boolean; onlyFailed: boolean }): Promise<void>;
  restartTask(name: string, task: number): Promise<void>;
  offsets(name: string): Promise<ConnectorOffsets>;
  validate(name: string, config: ConnectorConfig): Promise<ValidationOutcome>;
}

/** First line of a Java stack trace: enough to say what failed. */
export function firstLine(trace: string | undefined): string | undefined {
  if (!trace) return undefined;
  return trace.split('\n')[0]?.trim();
}

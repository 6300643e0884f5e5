export type ConnectorConfig = Record<string, string>;

export type ConnectorState =
  'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'RESTARTING';

export interface TaskStatus {
  id: number;
  state: ConnectorState;
  worker_id: string;
  trace?: string;
}

export interface ConnectorStatus {
  name: string;
  connector: { state: ConnectorState; worker_id: string; trace?: string };
  tasks: TaskStatus[];
  type: 'source' | 'sink' | 'unknown';
}

export interface ConnectorInfo {
  name: string;
  config: ConnectorConfig;
  tasks: { connector: string; task: number }[];
  type: 'source' | 'sink' | 'unknown';
}

export interface TaskInfo {
  id: { connector: string; task: number };
  config: ConnectorConfig;
}

export interface ConnectorPlugin {
  class: string;
  type: string;
  version: string;
}

export interface ValidationResult {
  name: string;
  error_count: number;
  configs: { value: { name: string; value: string | null; errors: string[] } }[];
}

/** Source offsets of a connector (KIP-875): `partition` and `offset` are connector-defined maps. */
export interface ConnectorOffsets {
  offsets: { partition: Record<string, unknown>; offset: Record<string, unknown> | null }[];
}

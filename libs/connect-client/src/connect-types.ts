export type ConnectorConfig = Record<string, string>;

export type ConnectorState =
  'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'RESTARTING';

export interface ConnectorStatus {
  name: string;
  connector: { state: ConnectorState; worker_id: string; trace?: string };
  tasks: { id: number; state: ConnectorState; worker_id: string; trace?: string }[];
  type: 'source' | 'sink' | 'unknown';
}

export interface ConnectorInfo {
  name: string;
  config: ConnectorConfig;
  tasks: { connector: string; task: number }[];
  type: 'source' | 'sink' | 'unknown';
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

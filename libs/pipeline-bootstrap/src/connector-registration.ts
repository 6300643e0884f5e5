import {
  ConnectClient,
  ConnectError,
  ConnectNotFoundError,
  databaseTemplateEnv,
  loadConnectorTemplate,
  type ConnectorConfig,
  type ConnectorStatus,
} from '@searchsync/connect-client';
import type { SearchsyncConfig } from '@searchsync/config';
import { sleep } from '@searchsync/retry';
import { Pool } from 'pg';
import { ConnectorStartTimeoutError, ConnectorTaskFailedError } from './bootstrap.errors';
import { DEPENDENCY_RETRY, retrying, type RetrySchedule } from './bootstrap-retry';
import type { ConnectorSettings } from './bootstrap-settings';
import type { PublicationSteps } from './publication-steps';

/** What the connector is rendered from, besides the template and the environment. */
export interface ConnectorInputs {
  databaseUrl: string;
  name: string;
  topicPrefix: string;
  schemas: readonly string[];
  publication: string;
}

/**
 * The variables the connector template is rendered with: the environment (so every `${VAR}` of
 * the template can be set, e.g. SEARCHSYNC_SLOT_NAME), the connection parts of DATABASE_URL, and
 * the bootstrap's own settings, which win — the connector then captures exactly the schemas
 * and reads exactly the publication that were just prepared. Pure.
 */
export function connectorTemplateEnv(
  inputs: ConnectorInputs,
  env: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...env,
    ...databaseTemplateEnv(inputs.databaseUrl),
    SEARCHSYNC_CONNECTOR_NAME: inputs.name,
    SEARCHSYNC_TOPIC_PREFIX: inputs.topicPrefix,
    SEARCHSYNC_SCHEMAS: inputs.schemas.join(','),
    SEARCHSYNC_PUBLICATION: inputs.publication,
  };
}

/** The rendered connector template (connectors/debezium-postgres.json), before exclusions. */
export function renderConnector(
  templatePath: string,
  inputs: ConnectorInputs,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; config: ConnectorConfig } {
  return loadConnectorTemplate(templatePath, connectorTemplateEnv(inputs, env));
}

/** Connect answers GET /config with the name inside; PUT takes it from the path. Pure. */
export function sameConnectorConfig(running: ConnectorConfig, wanted: ConnectorConfig): boolean {
  const strip = (config: ConnectorConfig) =>
    Object.entries(config)
      .filter(([key]) => key !== 'name')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(strip(running)) === JSON.stringify(strip(wanted));
}

/** Kafka Connect calls worth another attempt: rebalancing (409), unreachable, 5xx. */
export function retryableConnectError(error: Error): boolean {
  return error instanceof ConnectError ? error.retryable : true;
}

type ConnectorControl = Pick<ConnectClient, 'getStatus' | 'restart'>;

export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  /** How long a task may stay FAILED after its one restart before we give up. */
  failedGraceMs: number;
}

export const CONNECTOR_WAIT: WaitOptions = {
  timeoutMs: 120_000,
  pollMs: 1000,
  failedGraceMs: 15_000,
};

/**
 * Waits until the connector and its task run. A task that failed before this run (the database
 * was down, or the worker resumed an earlier run's config before ours replaced it) gets one
 * restart with the current config; failing again for `failedGraceMs` after that is final.
 * Status calls that fail (a rebalance, the worker busy) are simply asked again.
 */
export async function waitForConnectorRunning(
  connect: ConnectorControl,
  name: string,
  say: (line: string) => void,
  options: WaitOptions = CONNECTOR_WAIT,
): Promise<ConnectorStatus> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  let restartedAt = 0;
  while (Date.now() < deadline) {
    const status = await connect.getStatus(name).catch((error: Error) => {
      last = error.message;
      return null;
    });
    const task = status?.tasks[0];
    if (status) last = `connector ${status.connector.state}, task ${task?.state ?? 'not assigned'}`;
    if (status?.connector.state === 'RUNNING' && task?.state === 'RUNNING') return status;
    if (task?.state === 'FAILED') {
      if (restartedAt > 0 && Date.now() - restartedAt > options.failedGraceMs)
        throw new ConnectorTaskFailedError(name, task.trace ?? '');
      if (restartedAt === 0) {
        say(`connector ${name} has a failed task; restarting it with the current config`);
        // A rebalance (409, often right after the config PUT) refuses it: the next poll asks again.
        const restarted = await connect
          .restart(name, { includeTasks: true, onlyFailed: true })
          .then(() => true)
          .catch((error: Error) => {
            last = `restart refused: ${error.message}`;
            return false;
          });
        if (restarted) restartedAt = Date.now();
      }
    }
    await sleep(options.pollMs);
  }
  throw new ConnectorStartTimeoutError(name, options.timeoutMs, last);
}

export interface ConnectorRegistration {
  databaseUrl: string;
  connector: ConnectorSettings;
  schemas: readonly string[];
  publication: string;
  tableConfig: SearchsyncConfig;
  /** The template's `${VARS}` (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  retry?: RetrySchedule;
  wait?: WaitOptions;
}

/**
 * Renders the connector template, adds the column exclusions (so the initial snapshot leaves out
 * what the stream leaves out, and excluded columns never reach Kafka), creates or updates the
 * connector when its config differs (PUT /connectors/<name>/config), and waits for RUNNING.
 * Idempotent: a connector already running with this config is left alone.
 */
export async function registerConnector(
  registration: ConnectorRegistration,
  steps: Pick<PublicationSteps, 'withColumnExclusions'>,
  say: (line: string) => void,
): Promise<void> {
  const { connector } = registration;
  const { name, config: template } = renderConnector(
    connector.templatePath,
    {
      databaseUrl: registration.databaseUrl,
      name: connector.name,
      topicPrefix: connector.topicPrefix,
      schemas: registration.schemas,
      publication: registration.publication,
    },
    registration.env,
  );
  const pool = new Pool({ connectionString: registration.databaseUrl, max: 1 });
  const config = await steps
    .withColumnExclusions(
      pool,
      { publication: registration.publication, schemas: [...registration.schemas] },
      template,
      registration.tableConfig,
      say,
    )
    .finally(() => pool.end());
  // One attempt per call: the retries are ours, with one schedule for every call.
  const connect = new ConnectClient(connector.connectUrl, { attempts: 1 });
  const schedule = registration.retry ?? DEPENDENCY_RETRY;
  const running = await retrying('Kafka Connect', schedule, retryableConnectError, say, () =>
    connect.getConfig(name).catch((error: unknown) => {
      if (error instanceof ConnectNotFoundError) return null;
      throw error;
    }),
  );
  if (running && sameConnectorConfig(running, config)) {
    say(`connector ${name} already has this config`);
  } else {
    const applied = await retrying('Kafka Connect', schedule, retryableConnectError, say, () =>
      connect.putConfig(name, config),
    );
    say(`connector ${name} ${applied.created ? 'created' : 'updated'}`);
  }
  await waitForConnectorRunning(connect, name, say, registration.wait);
  say(`connector ${name} running`);
}

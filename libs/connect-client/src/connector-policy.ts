import type { ConnectorConfig } from './connect-types';

export interface PolicyViolation {
  key: string;
  message: string;
}

export interface ConnectorPolicyOptions {
  /** Connector classes that may be created. */
  allowedClasses: string[];
  /** Keys and values of our own template: these pass even when a rule would refuse them. */
  trusted?: ConnectorConfig;
}

/** Keys that run SQL on the source database. */
const SQL_KEYS = [
  'heartbeat.action.query',
  'database.initial.statements',
  'snapshot.select.statement.overrides',
];

function refusal(key: string): string | null {
  if (/(^|\.)override\./.test(key)) {
    return 'client overrides (*.override.*) can redirect the connector or change its credentials';
  }
  if (key === 'sasl.jaas.config' || key.endsWith('.sasl.jaas.config')) {
    return 'JAAS configuration carries credentials and login modules';
  }
  if (key === 'config.providers' || key.startsWith('config.providers.')) {
    return 'config providers read files and secrets on the worker';
  }
  if (SQL_KEYS.some((sql) => key === sql || key.startsWith(`${sql}.`))) {
    return 'runs SQL on the source database';
  }
  return null;
}

/**
 * Checks a connector config before it reaches Connect: the class must be allowlisted, and
 * override, JAAS, config-provider and SQL-bearing keys are refused unless they carry exactly the
 * value of our own template.
 */
export function checkConnectorPolicy(
  config: ConnectorConfig,
  options: ConnectorPolicyOptions,
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const connectorClass = config['connector.class'];
  if (!connectorClass) {
    violations.push({ key: 'connector.class', message: 'connector.class is required' });
  } else if (!options.allowedClasses.includes(connectorClass)) {
    violations.push({
      key: 'connector.class',
      message: `connector class ${connectorClass} is not allowed (allowed: ${options.allowedClasses.join(', ')})`,
    });
  }
  for (const [key, value] of Object.entries(config)) {
    const reason = refusal(key);
    if (!reason) continue;
    if (options.trusted?.[key] !== undefined && options.trusted[key] === value) continue;
    violations.push({ key, message: `${key} is refused: ${reason}` });
  }
  return violations;
}

import { readFileSync } from 'node:fs';
import type { ConnectorConfig } from './connect-types';

/** A `${VAR}` in a template whose variable is not set and has no `${VAR:-default}`. */
export class ConnectorTemplateError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ConnectorTemplateError';
  }
}

const PLACEHOLDER = /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in every value of a connector template. */
export function renderConnectorTemplate(
  template: { name: string; config: ConnectorConfig },
  env: NodeJS.ProcessEnv = process.env,
): { name: string; config: ConnectorConfig } {
  const missing = new Set<string>();
  const render = (text: string) =>
    text.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      missing.add(name);
      return '';
    });
  const config = Object.fromEntries(
    Object.entries(template.config).map(([key, value]) => [key, render(String(value))]),
  );
  const name = render(template.name);
  if (missing.size > 0) {
    throw new ConnectorTemplateError(
      `connector template "${template.name}" needs these environment variables: ${[...missing].join(', ')}`,
    );
  }
  return { name, config };
}

export function loadConnectorTemplate(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; config: ConnectorConfig } {
  const template = JSON.parse(readFileSync(path, 'utf8')) as {
    name: string;
    config: ConnectorConfig;
  };
  return renderConnectorTemplate(template, env);
}

/** `debezium-postgres` → `<dir>/debezium-postgres.json`; names are plain file stems only. */
export function templatePath(dir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(name) || name.includes('..')) {
    throw new ConnectorTemplateError(`"${name}" is not a template name`);
  }
  return `${dir.replace(/\/$/, '')}/${name.replace(/\.json$/, '')}.json`;
}

/** The connection parts of a PostgreSQL URL as the templates' `PG*` variables. */
export function databaseTemplateEnv(databaseUrl: string): Record<string, string> {
  const url = new URL(databaseUrl);
  return {
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.replace(/^\//, '') || 'postgres',
  };
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONNECTOR_TEMPLATE = join('connectors', 'debezium-postgres.json');

export interface ConnectorTemplate {
  name: string;
  config: Record<string, string>;
}

export interface Placeholder {
  /** The config key (or "name") holding it. */
  key: string;
  variable: string;
  /** The text after ":-", or undefined for a plain ${VAR}. */
  fallback: string | undefined;
}

/** The same placeholder syntax as libs/connect-client/src/connector-template.ts. */
const PLACEHOLDER = /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g;

export function readConnectorTemplate(root: string): ConnectorTemplate {
  return JSON.parse(readFileSync(join(root, CONNECTOR_TEMPLATE), 'utf8')) as ConnectorTemplate;
}

export function placeholders(template: ConnectorTemplate): Placeholder[] {
  const strings: [string, string][] = [['name', template.name], ...Object.entries(template.config)];
  return strings.flatMap(([key, text]) =>
    [...String(text).matchAll(PLACEHOLDER)].map((match) => ({
      key,
      variable: match[1],
      fallback: match[2],
    })),
  );
}

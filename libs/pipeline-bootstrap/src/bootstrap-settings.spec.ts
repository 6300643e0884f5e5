import { join } from 'node:path';
import { ConfigInvalidError } from '@searchsync/config';
import { renderConnectorTemplate } from '@searchsync/connect-client';
import { readFileSync } from 'node:fs';
import {
  BOOTSTRAP_DEFAULTS,
  BOOTSTRAP_ENV,
  CONNECTOR_TEMPLATE,
  readBootstrapSettings,
} from './bootstrap-settings';

const ROOT = join(__dirname, '..', '..', '..');
const BASE = {
  DATABASE_URL: 'postgres://postgres:secret@db:5432/app',
  CONNECT_URL: 'http://connect:8083',
};

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    readBootstrapSettings(env, ROOT);
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error.problems;
    throw error;
  }
  return [];
}

describe('readBootstrapSettings', () => {
  it('defaults to what docker-compose and the connector template assume', () => {
    const settings = readBootstrapSettings(BASE, ROOT);
    expect(settings).toEqual({
      databaseUrl: BASE.DATABASE_URL,
      schemas: ['public'],
      publication: 'searchsync_pub',
      ddlTrigger: true,
      demo: false,
      singleNodeSearch: null,
      connector: {
        connectUrl: BASE.CONNECT_URL,
        name: 'searchsync-postgres',
        topicPrefix: 'searchsync',
        templatePath: join(ROOT, CONNECTOR_TEMPLATE),
      },
    });
  });

  it('reads configurable schemas, publication, prefix and switches', () => {
    const settings = readBootstrapSettings(
      {
        ...BASE,
        SEARCHSYNC_SCHEMAS: ' sales , hr ',
        SEARCHSYNC_PUBLICATION: 'bootstrap_pub',
        SEARCHSYNC_TOPIC_PREFIX: 'shop',
        ADMIN_PUBLICATION_DDL_TRIGGER: 'false',
        SEARCHSYNC_DEMO: 'true',
        SEARCHSYNC_SEARCH_SINGLE_NODE: 'true',
        SEARCH_URL: 'http://opensearch:9200',
      },
      ROOT,
    );
    expect(settings.schemas).toEqual(['sales', 'hr']);
    expect(settings.publication).toBe('bootstrap_pub');
    expect(settings.connector?.topicPrefix).toBe('shop');
    expect(settings.ddlTrigger).toBe(false);
    expect(settings.demo).toBe(true);
    expect(settings.singleNodeSearch).toEqual({ url: 'http://opensearch:9200', engine: 'auto' });
  });

  it('names the connector as the admin does: ADMIN_CONNECTOR_NAME, else the template variable', () => {
    const both = { ...BASE, ADMIN_CONNECTOR_NAME: 'admin', SEARCHSYNC_CONNECTOR_NAME: 'tpl' };
    expect(readBootstrapSettings(both, ROOT).connector?.name).toBe('admin');
    expect(
      readBootstrapSettings({ ...BASE, SEARCHSYNC_CONNECTOR_NAME: 'tpl' }, ROOT).connector?.name,
    ).toBe('tpl');
    // compose's `${VAR:-}` and an empty Helm value mean "not set"
    expect(
      readBootstrapSettings(
        { ...BASE, ADMIN_CONNECTOR_NAME: '', SEARCHSYNC_CONNECTOR_NAME: 'tpl' },
        ROOT,
      ).connector?.name,
    ).toBe('tpl');
  });

  it('prepares the database only with SEARCHSYNC_REGISTER_CONNECTOR=false, no CONNECT_URL needed', () => {
    const settings = readBootstrapSettings(
      { DATABASE_URL: BASE.DATABASE_URL, SEARCHSYNC_REGISTER_CONNECTOR: 'false' },
      ROOT,
    );
    expect(settings.connector).toBeNull();
  });

  it('names the variables that are missing or wrong, before anything is done', () => {
    expect(problems({})).toEqual([expect.stringMatching(/^DATABASE_URL: /)]);
    // Checks across variables run once each variable is valid on its own.
    expect(problems({ DATABASE_URL: BASE.DATABASE_URL })).toEqual([
      'CONNECT_URL: needed to register the connector (or set SEARCHSYNC_REGISTER_CONNECTOR=false)',
    ]);
    expect(problems({ ...BASE, SEARCHSYNC_SEARCH_SINGLE_NODE: 'true' })).toEqual([
      'SEARCH_URL: needed with SEARCHSYNC_SEARCH_SINGLE_NODE=true',
    ]);
    expect(problems({ ...BASE, SEARCHSYNC_DEMO: 'yes' })).toEqual([
      expect.stringMatching(/^SEARCHSYNC_DEMO: /),
    ]);
    expect(problems({ ...BASE, SEARCHSYNC_SCHEMAS: ' , ' })).toEqual([
      'SEARCHSYNC_SCHEMAS: names no schema',
    ]);
    expect(problems({ ...BASE, SEARCHSYNC_TOPIC_PREFIX: 'a.b' })).toEqual([
      expect.stringMatching(/^SEARCHSYNC_TOPIC_PREFIX: /),
    ]);
  });

  it('lists the variables it reads, for the deployment checks', () => {
    expect(BOOTSTRAP_ENV).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'CONNECT_URL',
        'SEARCHSYNC_SCHEMAS',
        'SEARCHSYNC_PUBLICATION',
        'ADMIN_CONNECTOR_NAME',
        'SEARCHSYNC_REGISTER_CONNECTOR',
        'SEARCHSYNC_DEMO',
        'SEARCHSYNC_SEARCH_SINGLE_NODE',
        'ADMIN_PUBLICATION_DDL_TRIGGER',
      ]),
    );
  });

  it("keeps the connector template's own defaults", () => {
    const template = JSON.parse(readFileSync(join(ROOT, CONNECTOR_TEMPLATE), 'utf8')) as {
      name: string;
      config: Record<string, string>;
    };
    const rendered = renderConnectorTemplate(template, { PGHOST: 'db', PGDATABASE: 'app' });
    expect(rendered.name).toBe(BOOTSTRAP_DEFAULTS.connectorName);
    expect(rendered.config['topic.prefix']).toBe(BOOTSTRAP_DEFAULTS.topicPrefix);
    expect(rendered.config['publication.name']).toBe(BOOTSTRAP_DEFAULTS.publication);
    expect(rendered.config['schema.include.list']).toBe(BOOTSTRAP_DEFAULTS.schemas.join(','));
  });
});

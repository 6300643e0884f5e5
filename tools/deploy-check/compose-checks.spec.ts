/* eslint-disable @typescript-eslint/no-explicit-any -- the tests edit parsed YAML freely */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPOSE_FILE, checkCompose, interpolate, loadCompose } from './compose-checks';
import { findRepoRoot } from './repo-paths';

const root = findRepoRoot(__dirname);
const compose = loadCompose(readFileSync(join(root, COMPOSE_FILE), 'utf8'));

/** A deep copy of the compose file with one change applied. */
function changed(
  edit: (services: Record<string, any>, file: Record<string, any>) => void,
): Record<string, unknown> {
  const copy = structuredClone(compose) as Record<string, any>;
  edit(copy.services, copy);
  return copy;
}

const problemsOf = (file: Record<string, unknown>) => checkCompose(root, file).join('\n');

describe('compose interpolation', () => {
  it('substitutes ${VAR:-default}, ${VAR-default}, ${VAR} and $$ like compose', () => {
    expect(interpolate('a ${X:-d} ${Y-e} ${Z} $$HOME', {})).toBe('a d e  $HOME');
    expect(interpolate('${X:-d} ${Y-e}', { X: '', Y: '' })).toBe('d ');
    expect(interpolate({ k: ['${X:-d}'] }, { X: 'x' })).toEqual({ k: ['x'] });
  });
});

describe('docker-compose.yml', () => {
  it('passes', () => {
    expect(checkCompose(root, compose)).toEqual([]);
  });

  it('resolves the YAML anchors: the apps share one image and the shared variables', () => {
    const services = compose.services as Record<string, any>;
    for (const app of ['api', 'connector-admin', 'indexer', 'register']) {
      expect(services[app].image).toBe('searchsync:local');
      expect(services[app].environment.KAFKA_BROKERS).toBe('kafka:29092');
    }
  });

  it.each<[string, (s: Record<string, any>, f: Record<string, any>) => void, RegExp]>([
    ['a service removed', (s) => delete s.opensearch, /service opensearch is missing/],
    [
      'a misspelt service key',
      (s) => (s.opensearch.enviroment = { A: 'b' }),
      /opensearch: unknown key enviroment/,
    ],
    [
      'a misspelt healthcheck key',
      (s) => (s.kafka.healthcheck.intervall = '5s'),
      /kafka: unknown healthcheck key intervall/,
    ],
    ['a misspelt top-level key', (_s, f) => (f.volume = {}), /unknown top-level key volume/],
    [
      'PostgreSQL without logical decoding',
      (s) => (s.postgres.command = ['postgres']),
      /wal_level=logical/,
    ],
    ['PostgreSQL 14', (s) => (s.postgres.image = 'postgres:14'), /PostgreSQL 15\+/],
    [
      'Kafka of another version',
      (s) => (s.kafka.image = 'apache/kafka:3.9.0'),
      /apache\/kafka:4\.3\.0/,
    ],
    [
      'Kafka without KRaft controller',
      (s) => (s.kafka.environment.KAFKA_PROCESS_ROLES = 'broker'),
      /KRaft/,
    ],
    [
      'a healthcheck removed',
      (s) => delete s.postgres.healthcheck,
      /postgres: healthcheck is missing[\s\S]*no healthcheck/,
    ],
    [
      'an app without healthcheck',
      (s) => delete s.indexer.healthcheck,
      /indexer: healthcheck is missing/,
    ],
    [
      'depends_on without condition',
      (s) => (s.api.depends_on = ['opensearch']),
      /api: depends_on must use the long form/,
    ],
    [
      'depends_on service_started',
      (s) => (s.api.depends_on.opensearch.condition = 'service_started'),
      /api: must wait for opensearch with condition service_healthy/,
    ],
    [
      'a dependency cycle',
      (s) => (s.postgres.depends_on = { api: { condition: 'service_healthy' } }),
      /depends_on cycle/,
    ],
    [
      'the indexer not waiting for the registration',
      (s) => (s.indexer.depends_on.register.condition = 'service_healthy'),
      /service_completed_successfully/,
    ],
    [
      'an app on loopback',
      (s) => (s.api.environment.API_HOST = '127.0.0.1'),
      /API_HOST must be 0\.0\.0\.0/,
    ],
    [
      'an app on another port',
      (s) => (s['connector-admin'].environment.ADMIN_PORT = '4000'),
      /ADMIN_PORT must be 3001/,
    ],
    [
      'a variable the app does not read',
      (s) => (s.api.environment.INDEXER_BULK_MAX_ACTIONS = 'x'),
      /api: env INDEXER_BULK_MAX_ACTIONS is not read by api/,
    ],
    [
      'the table configuration not mounted',
      (s) => (s.api.volumes = []),
      /api: no host directory is mounted at \/etc\/searchsync/,
    ],
    [
      'the table configuration writable',
      (s) => (s.register.volumes = ['./config:/etc/searchsync']),
      /register: \/etc\/searchsync must be mounted read-only/,
    ],
    [
      'SEARCHSYNC_CONFIG elsewhere',
      (s) => (s.indexer.environment.SEARCHSYNC_CONFIG = '/app/searchsync.yaml'),
      /indexer: env SEARCHSYNC_CONFIG must be \/etc\/searchsync/,
    ],
    [
      'a shared variable missing',
      (s) => delete s.indexer.environment.SEARCH_URL,
      /indexer: env SEARCH_URL is missing/,
    ],
    [
      'the wrong entry point',
      (s) => (s.indexer.command = ['dist/apps/api/src/main.js']),
      /indexer: command must be dist\/apps\/indexer\/src\/main\.js/,
    ],
    [
      'a healthcheck on the wrong port',
      (s) => (s.api.healthcheck.test = ['CMD', 'true']),
      /api: the healthcheck must call \/health on port 3000/,
    ],
    ['a writable app', (s) => (s.api.read_only = false), /read-only root/],
    [
      'a port open to the network',
      (s) => (s.connect.ports = ['8083:8083']),
      /connect: host port 8083:8083 must be bound to 127\.0\.0\.1/,
    ],
    [
      'Kafka brokers that are not advertised',
      (s) => (s.indexer.environment.KAFKA_BROKERS = 'kafka:9092'),
      /KAFKA_BROKERS kafka:9092 is not an advertised Kafka listener/,
    ],
    [
      'a DATABASE_URL with other credentials',
      (s) => (s.api.environment.DATABASE_URL = 'postgres://postgres:nope@postgres:5432/app'),
      /credentials differ/,
    ],
    [
      'a wrong Connect URL',
      (s) => (s['connector-admin'].environment.CONNECT_URL = 'http://connect:8084'),
      /CONNECT_URL must be http:\/\/connect:8083/,
    ],
    [
      'OpenSearch with security on',
      (s) => (s.opensearch.environment.DISABLE_SECURITY_PLUGIN = 'false'),
      /DISABLE_SECURITY_PLUGIN/,
    ],
    [
      'a restarting one-shot',
      (s) => (s.register.restart = 'always'),
      /a one-shot must not restart/,
    ],
    [
      'the registration not run',
      (s) => (s.register.command = ['dist/apps/api/src/main.js']),
      /register: must run the pipeline bootstrap, dist\/tools\/pipeline-bootstrap\/main\.js/,
    ],
    [
      'an unknown registration variable',
      (s) => (s.register.environment.PGPASS = 'x'),
      /register: env PGPASS is read neither/,
    ],
    [
      'an undeclared volume',
      (_s, f) => delete f.volumes['kafka-data'],
      /kafka: volume kafka-data is not declared/,
    ],
    [
      'Connect without the plugin healthcheck',
      (s) => (s.connect.healthcheck.test = ['CMD', 'true']),
      /Debezium PostgreSQL plugin/,
    ],
  ])('fails with %s', (_name, edit, problem) => {
    expect(problemsOf(changed(edit))).toMatch(problem);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import {
  APPS,
  BOOTSTRAP_ENTRY,
  BOOTSTRAP_SOURCE,
  REGISTER_ENV,
  REQUIRED_SHARED_ENV,
  TABLE_CONFIG_DIR,
  TABLE_CONFIG_ENV,
  entryExists,
} from './app-facts';
import { placeholders, readConnectorTemplate } from './connector-template-vars';
import { asArray, asRecord, asString, at, isRecord, text, type Problems } from './data-access';
import { CONNECT_PROPERTIES, localStackVersions, parseProperties } from './dockerfile-checks';

export const COMPOSE_FILE = 'docker-compose.yml';

/** `${VAR}`, `${VAR:-default}` and `${VAR-default}` as compose substitutes them with `env`. */
export function interpolate(value: unknown, env: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    return value
      .replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
        (_m, name: string, op: string | undefined, fallback: string | undefined) => {
          const set = env[name];
          if (op === ':-') return set ? set : (fallback ?? '');
          if (op === '-') return set !== undefined ? set : (fallback ?? '');
          return set ?? '';
        },
      )
      .replace(/\$\$/g, '$');
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

/** docker-compose.yml parsed (YAML anchors and merge keys resolved) and interpolated with defaults. */
export function loadCompose(text: string): Record<string, unknown> {
  return asRecord(interpolate(load(text)));
}

function environment(service: unknown): Record<string, string> {
  const env = at(service, 'environment');
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const [key, ...rest] = String(entry).split('=');
        return [key, rest.join('=')];
      }),
    );
  }
  return Object.fromEntries(Object.entries(asRecord(env)).map(([k, v]) => [k, text(v)]));
}

function command(service: unknown): string[] {
  const value = at(service, 'command');
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' ? value.split(/\s+/) : [];
}

function healthcheckText(service: unknown): string {
  const test = at(service, 'healthcheck', 'test');
  return Array.isArray(test) ? test.map(String).join(' ') : text(test);
}

function hostPorts(service: unknown): string[] {
  return asArray(at(service, 'ports')).map(String);
}

function dependsOn(service: unknown): Record<string, string | undefined> | 'short' {
  const value = at(service, 'depends_on');
  if (Array.isArray(value)) return 'short';
  return Object.fromEntries(
    Object.entries(asRecord(value)).map(([name, spec]) => [name, asString(at(spec, 'condition'))]),
  );
}

const INFRASTRUCTURE = ['postgres', 'kafka', 'connect', 'opensearch'] as const;

/** Keys of the Compose specification, so that a misspelt key fails without any compose tool. */
const TOP_LEVEL_KEYS = [
  'version',
  'name',
  'include',
  'services',
  'networks',
  'volumes',
  'configs',
  'secrets',
];
const SERVICE_KEYS = [
  'annotations',
  'attach',
  'blkio_config',
  'build',
  'cap_add',
  'cap_drop',
  'cgroup',
  'cgroup_parent',
  'command',
  'configs',
  'container_name',
  'cpu_count',
  'cpu_percent',
  'cpu_period',
  'cpu_quota',
  'cpu_rt_period',
  'cpu_rt_runtime',
  'cpu_shares',
  'cpus',
  'cpuset',
  'credential_spec',
  'depends_on',
  'deploy',
  'develop',
  'device_cgroup_rules',
  'devices',
  'dns',
  'dns_opt',
  'dns_search',
  'domainname',
  'entrypoint',
  'env_file',
  'environment',
  'expose',
  'extends',
  'external_links',
  'extra_hosts',
  'gpus',
  'group_add',
  'healthcheck',
  'hostname',
  'image',
  'init',
  'ipc',
  'isolation',
  'labels',
  'links',
  'logging',
  'mac_address',
  'mem_limit',
  'mem_reservation',
  'mem_swappiness',
  'memswap_limit',
  'network_mode',
  'networks',
  'oom_kill_disable',
  'oom_score_adj',
  'pid',
  'pids_limit',
  'platform',
  'ports',
  'post_start',
  'pre_stop',
  'privileged',
  'profiles',
  'pull_policy',
  'read_only',
  'restart',
  'runtime',
  'scale',
  'secrets',
  'security_opt',
  'shm_size',
  'stdin_open',
  'stop_grace_period',
  'stop_signal',
  'storage_opt',
  'sysctls',
  'tmpfs',
  'tty',
  'ulimits',
  'user',
  'userns_mode',
  'uts',
  'volumes',
  'volumes_from',
  'working_dir',
];
const HEALTHCHECK_KEYS = [
  'test',
  'interval',
  'timeout',
  'retries',
  'start_period',
  'start_interval',
  'disable',
];
const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'];

function checkSpecKeys(compose: Record<string, unknown>): Problems {
  const problems: Problems = [];
  for (const key of Object.keys(compose)) {
    if (!key.startsWith('x-') && !TOP_LEVEL_KEYS.includes(key))
      problems.push(`unknown top-level key ${key}`);
  }
  for (const [name, service] of Object.entries(asRecord(compose.services))) {
    for (const key of Object.keys(asRecord(service))) {
      if (!key.startsWith('x-') && !SERVICE_KEYS.includes(key))
        problems.push(`${name}: unknown key ${key}`);
    }
    for (const key of Object.keys(asRecord(at(service, 'healthcheck')))) {
      if (!HEALTHCHECK_KEYS.includes(key)) problems.push(`${name}: unknown healthcheck key ${key}`);
    }
    const restart = at(service, 'restart');
    if (restart !== undefined && !RESTART_POLICIES.includes(text(restart).replace(/:\d+$/, ''))) {
      problems.push(`${name}: restart ${text(restart)} is not a restart policy`);
    }
  }
  return problems;
}

/** Problems of docker-compose.yml, checked against the apps, the Dockerfiles and the local stack. */
export function checkCompose(root: string, compose: Record<string, unknown>): Problems {
  const problems: Problems = checkSpecKeys(compose);
  const services = asRecord(compose.services);
  const expected = [...INFRASTRUCTURE, 'register', ...APPS.map((a) => a.name)];
  for (const name of expected)
    if (!isRecord(services[name])) problems.push(`service ${name} is missing`);
  if (problems.length > 0) return problems;

  // PostgreSQL with logical decoding
  const postgres = services.postgres;
  const pgMajor = Number(/^postgres:(\d+)/.exec(String(at(postgres, 'image')))?.[1]);
  if (!(pgMajor >= 15))
    problems.push(`postgres: image ${String(at(postgres, 'image'))}, PostgreSQL 15+ needed`);
  if (!command(postgres).includes('wal_level=logical'))
    problems.push('postgres: must run with -c wal_level=logical');
  const pgEnv = environment(postgres);

  // Kafka (KRaft) and Connect: the local stack's versions
  const versions = localStackVersions(root);
  if (at(services.kafka, 'image') !== `apache/kafka:${versions.kafka}`)
    problems.push(`kafka: image must be apache/kafka:${versions.kafka} (the local stack's Kafka)`);
  const kafkaEnv = environment(services.kafka);
  if (
    !/controller/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? '') ||
    !/broker/.test(kafkaEnv.KAFKA_PROCESS_ROLES ?? '')
  ) {
    problems.push('kafka: KAFKA_PROCESS_ROLES must be broker,controller (KRaft, one node)');
  }
  const advertised = (kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '')
    .split(',')
    .map((l) => l.replace(/^[A-Z_]+:\/\//, ''));
  const connectBuild = asRecord(at(services.connect, 'build'));
  if (
    connectBuild.context !== 'deploy/compose' ||
    connectBuild.dockerfile !== 'connect.Dockerfile'
  ) {
    problems.push('connect: must build deploy/compose/connect.Dockerfile');
  }
  const connectProps = parseProperties(readFileSync(join(root, CONNECT_PROPERTIES), 'utf8'));
  for (const broker of (connectProps['bootstrap.servers'] ?? '').split(',')) {
    if (!advertised.includes(broker))
      problems.push(
        `${CONNECT_PROPERTIES}: bootstrap.servers ${broker} is not an advertised Kafka listener`,
      );
  }
  if (!/PostgresConnector/.test(healthcheckText(services.connect)))
    problems.push('connect: the healthcheck must wait for the Debezium PostgreSQL plugin');

  // OpenSearch, single node, no security plugin
  if (!/^opensearchproject\/opensearch:2\.19\.\d+$/.test(String(at(services.opensearch, 'image'))))
    problems.push('opensearch: image must be opensearchproject/opensearch:2.19.x');
  const searchEnv = environment(services.opensearch);
  if (searchEnv['discovery.type'] !== 'single-node')
    problems.push('opensearch: discovery.type must be single-node');
  if (searchEnv.DISABLE_SECURITY_PLUGIN !== 'true')
    problems.push('opensearch: DISABLE_SECURITY_PLUGIN must be true (as the local stack)');

  // Every long-running service has a healthcheck; every dependency waits for a condition.
  for (const [name, service] of Object.entries(services)) {
    if (name !== 'register' && at(service, 'healthcheck', 'test') === undefined)
      problems.push(`${name}: healthcheck is missing`);
    const deps = dependsOn(service);
    if (deps === 'short') {
      problems.push(`${name}: depends_on must use the long form with a condition`);
      continue;
    }
    for (const [dep, condition] of Object.entries(deps)) {
      if (!isRecord(services[dep])) problems.push(`${name}: depends on unknown service ${dep}`);
      else if (dep === 'register') {
        if (condition !== 'service_completed_successfully')
          problems.push(
            `${name}: must wait for register with condition service_completed_successfully`,
          );
      } else if (condition !== 'service_healthy')
        problems.push(`${name}: must wait for ${dep} with condition service_healthy`);
      else if (at(services[dep], 'healthcheck', 'test') === undefined)
        problems.push(`${name}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
    }
    for (const port of hostPorts(service)) {
      if (!port.startsWith('127.0.0.1:'))
        problems.push(`${name}: host port ${port} must be bound to 127.0.0.1`);
    }
    for (const volume of asArray(at(service, 'volumes')).map(String)) {
      const source = volume.split(':')[0];
      if (
        !source.startsWith('.') &&
        !source.startsWith('/') &&
        !(source in asRecord(compose.volumes))
      ) {
        problems.push(`${name}: volume ${source} is not declared`);
      }
    }
  }
  const seen = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (path.includes(name)) {
      problems.push(`depends_on cycle: ${[...path, name].join(' -> ')}`);
      return;
    }
    if (seen.has(name)) return;
    seen.add(name);
    const deps = dependsOn(services[name]);
    if (deps !== 'short')
      for (const dep of Object.keys(deps)) if (isRecord(services[dep])) visit(dep, [...path, name]);
  };
  Object.keys(services).forEach((name) => visit(name, []));

  // The one-shot registration
  const register = services.register;
  const templateVars = placeholders(readConnectorTemplate(root)).map((p) => p.variable);
  if (!command(register).includes(BOOTSTRAP_ENTRY))
    problems.push(`register: must run the pipeline bootstrap, ${BOOTSTRAP_ENTRY}`);
  if (!existsSync(join(root, BOOTSTRAP_SOURCE)))
    problems.push(`${BOOTSTRAP_SOURCE} (the source of ${BOOTSTRAP_ENTRY}) does not exist`);
  if ((text(at(register, 'restart')) || 'no') !== 'no')
    problems.push('register: a one-shot must not restart');
  const registerDeps = dependsOn(register);
  for (const dep of ['postgres', 'connect']) {
    if (registerDeps === 'short' || registerDeps[dep] !== 'service_healthy')
      problems.push(`register: must wait for ${dep} to be healthy`);
  }
  for (const name of Object.keys(environment(register))) {
    if (!(REGISTER_ENV as readonly string[]).includes(name) && !templateVars.includes(name)) {
      problems.push(
        `register: env ${name} is read neither by the pipeline bootstrap nor by the connector template`,
      );
    }
  }

  // The apps: entry point, port, variables (the names of libs/config/src/env-schemas.ts)
  for (const app of APPS) {
    const service = services[app.name];
    const where = app.name;
    if (
      at(service, 'build', 'context') !== '.' ||
      at(service, 'build', 'dockerfile') !== 'Dockerfile'
    )
      problems.push(`${where}: must build the repository's Dockerfile`);
    if (command(service)[0] !== app.entry) problems.push(`${where}: command must be ${app.entry}`);
    if (!entryExists(root, app))
      problems.push(`${where}: apps/${app.name}/src/main.ts does not exist`);
    const env = environment(service);
    for (const name of [...REQUIRED_SHARED_ENV, app.hostEnv, app.portEnv])
      if (!(name in env)) problems.push(`${where}: env ${name} is missing`);
    for (const name of Object.keys(env))
      if (!app.knownEnv.includes(name))
        problems.push(`${where}: env ${name} is not read by ${app.name}`);
    if (env[app.hostEnv] !== '0.0.0.0')
      problems.push(`${where}: ${app.hostEnv} must be 0.0.0.0 in a container`);
    if (env[app.portEnv] !== String(app.port))
      problems.push(`${where}: ${app.portEnv} must be ${app.port}`);
    if (!hostPorts(service).some((p) => p.endsWith(`:${app.port}`)))
      problems.push(`${where}: container port ${app.port} is not published`);
    if (!healthcheckText(service).includes(`:${app.port}/health`))
      problems.push(`${where}: the healthcheck must call /health on port ${app.port}`);
    if (at(service, 'read_only') !== true)
      problems.push(`${where}: must run with a read-only root file system (read_only: true)`);
  }

  // The table configuration: a host directory, read-only, where SEARCHSYNC_CONFIG points.
  for (const name of ['register', ...APPS.map((a) => a.name)]) {
    const service = services[name];
    if (environment(service)[TABLE_CONFIG_ENV] !== TABLE_CONFIG_DIR)
      problems.push(`${name}: env ${TABLE_CONFIG_ENV} must be ${TABLE_CONFIG_DIR}`);
    const mount = asArray(at(service, 'volumes'))
      .map(String)
      .map((volume) => volume.split(':'))
      .find((parts) => parts[1] === TABLE_CONFIG_DIR);
    if (!mount) problems.push(`${name}: no host directory is mounted at ${TABLE_CONFIG_DIR}`);
    else if (mount[2] !== 'ro')
      problems.push(`${name}: ${TABLE_CONFIG_DIR} must be mounted read-only (:ro)`);
  }

  // Addresses agree with the services behind them.
  for (const name of ['register', ...APPS.map((a) => a.name)]) {
    const env = environment(services[name]);
    const where = `${name}:`;
    try {
      const db = new URL(env.DATABASE_URL);
      if (db.hostname !== 'postgres' || (db.port || '5432') !== '5432')
        problems.push(`${where} DATABASE_URL must point at postgres:5432`);
      if (db.pathname.slice(1) !== pgEnv.POSTGRES_DB)
        problems.push(`${where} DATABASE_URL database must be ${pgEnv.POSTGRES_DB}`);
      if (
        decodeURIComponent(db.username) !== pgEnv.POSTGRES_USER ||
        decodeURIComponent(db.password) !== pgEnv.POSTGRES_PASSWORD
      ) {
        problems.push(`${where} DATABASE_URL credentials differ from the postgres service's`);
      }
    } catch {
      problems.push(`${where} DATABASE_URL is not a URL`);
    }
    if (env.KAFKA_BROKERS) {
      for (const broker of env.KAFKA_BROKERS.split(','))
        if (!advertised.includes(broker))
          problems.push(`${where} KAFKA_BROKERS ${broker} is not an advertised Kafka listener`);
    }
    if (env.SEARCH_URL && env.SEARCH_URL.replace(/\/$/, '') !== 'http://opensearch:9200')
      problems.push(`${where} SEARCH_URL must be http://opensearch:9200`);
    const connectPort = /:(\d+)$/.exec(connectProps.listeners ?? '')?.[1];
    if (env.CONNECT_URL && env.CONNECT_URL.replace(/\/$/, '') !== `http://connect:${connectPort}`)
      problems.push(`${where} CONNECT_URL must be http://connect:${connectPort}`);
  }
  return problems;
}

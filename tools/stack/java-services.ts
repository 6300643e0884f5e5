import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { resolveJars } from './maven-jars';
import type { StackPaths } from './stack-paths';
import { engineLabel, type StackEngine, type StackSettings } from './stack-settings';
import type { ServiceSpec } from './supervisor';

export interface JavaDirs {
  kafka: string;
  /** The chosen engine's node: jars, config and the Java that runs it. */
  engine: { name: StackEngine; dir: string; java: string };
  java: string;
}

export class JavaSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JavaSetupError';
  }
}

/** The Java feature version of a `java` binary, or null when it does not run. */
function javaVersion(java: string): number | null {
  const result = spawnSync(java, ['-XshowSettings:properties', '-version'], { encoding: 'utf8' });
  const match = /java\.specification\.version = (\d+)/.exec(result.stderr ?? '');
  return result.status === 0 && match ? Number(match[1]) : null;
}

/** Java feature versions a part of the stack runs on. */
interface JavaRange {
  min: number;
  max: number;
  why: string;
}

/**
 * OpenSearch 2.19 needs the SecurityManager, which Java 24 removed, and Debezium 3 needs 17;
 * Elasticsearch 9 needs 21 or later.
 */
const STACK_JAVA: JavaRange = { min: 17, max: 23, why: 'Kafka, Debezium and OpenSearch 2.19' };
const ELASTICSEARCH_JAVA: JavaRange = { min: 21, max: 99, why: 'Elasticsearch 9' };

/** The first JDK within `range`: JAVA_HOME, then PATH, then /usr/lib/jvm. */
export function findJava(settings: StackSettings, range: JavaRange = STACK_JAVA): string {
  const jvmDir = '/usr/lib/jvm';
  const candidates = [
    ...(settings.javaHome ? [join(settings.javaHome, 'bin', 'java')] : []),
    'java',
    ...(existsSync(jvmDir)
      ? readdirSync(jvmDir)
          .sort()
          .map((dir) => join(jvmDir, dir, 'bin', 'java'))
      : []),
  ];
  const seen: string[] = [];
  for (const java of candidates) {
    const version = javaVersion(java);
    if (version === null) continue;
    if (version >= range.min && version <= range.max) return java;
    seen.push(`${java} (Java ${version})`);
  }
  const wanted = range.max >= 99 ? `${range.min}+` : `${range.min}-${range.max}`;
  throw new JavaSetupError(
    `no Java ${wanted} found for ${range.why}${seen.length ? ` (found ${seen.join(', ')})` : ''}: install a JDK ${range.min} (e.g. apt install openjdk-${range.min}-jdk-headless) or point JAVA_HOME at one`,
  );
}

function render(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (match, name: string) => values[name] ?? match);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function httpOk(
  url: string,
  accept: (body: string) => boolean = () => true,
): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return response.ok && accept(await response.text());
}

/** Resolves the jars, renders configs into .stack/run and formats Kafka's storage once. */
export function prepareJavaServices(
  paths: StackPaths,
  settings: StackSettings,
  say: (line: string) => void,
): JavaDirs {
  const java = findJava(settings);
  const kafka = resolveJars(paths, 'kafka', say);
  const engine = prepareEngine(paths, settings, java, say);
  const source = join(paths.root, 'deploy', 'local', 'kafka');
  mkdirSync(paths.run, { recursive: true });
  const kafkaData = paths.data('kafka');
  writeFileSync(
    join(paths.run, 'server.properties'),
    render(readFileSync(join(source, 'server.properties'), 'utf8'), {
      KAFKA_DATA_DIR: kafkaData,
      KAFKA_PORT: String(settings.kafkaPort),
      KAFKA_CONTROLLER_PORT: String(settings.kafkaControllerPort),
    }),
  );
  writeFileSync(
    join(paths.run, 'connect-distributed.properties'),
    render(readFileSync(join(source, 'connect-distributed.properties'), 'utf8'), {
      KAFKA_BOOTSTRAP: `127.0.0.1:${settings.kafkaPort}`,
      CONNECT_PORT: String(settings.connectPort),
      CONNECT_PLUGIN_PATH: join(kafka, 'plugins'),
    }),
  );
  if (!existsSync(join(kafkaData, 'meta.properties'))) {
    say('… formatting Kafka storage (first start)');
    const classpath = join(kafka, 'lib', '*');
    const clusterId = execFileSync(
      java,
      ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'],
      {
        encoding: 'utf8',
      },
    ).trim();
    execFileSync(
      java,
      [
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '--cluster-id',
        clusterId,
        '--config',
        join(paths.run, 'server.properties'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }
  return { kafka, engine, java };
}

/** The Java for the local Elasticsearch node: ELASTICSEARCH_JAVA_HOME, then as findJava. */
export function findElasticsearchJava(settings: StackSettings): string {
  return findJava(
    { ...settings, javaHome: process.env.ELASTICSEARCH_JAVA_HOME },
    ELASTICSEARCH_JAVA,
  );
}

/** Resolves the jars of the engine the stack runs, and the Java it needs. */
function prepareEngine(
  paths: StackPaths,
  settings: StackSettings,
  stackJava: string,
  say: (line: string) => void,
): JavaDirs['engine'] {
  if (settings.engine === 'opensearch') {
    return { name: 'opensearch', dir: resolveJars(paths, 'opensearch', say), java: stackJava };
  }
  const java = findElasticsearchJava(settings);
  // The launcher is compiled for Java 21 by that JDK's javac when Maven runs on an older one.
  const javaHome = dirname(dirname(realpathSync(whichJava(java))));
  const version = settings.elasticsearchVersion;
  const dir = resolveJars(
    paths,
    'elasticsearch',
    say,
    { 'es.javaHome': javaHome, ...(version ? { 'elasticsearch.version': version } : {}) },
    version ? `elasticsearch-${version}` : undefined,
  );
  return { name: 'elasticsearch', dir, java };
}

/** The path of a `java` command, resolved through PATH when it has no directory. */
function whichJava(java: string): string {
  if (java.includes('/')) return java;
  const found = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new JavaSetupError('java is on no PATH entry');
  return found;
}

function jvmOptionsOf(dir: string): string[] {
  return readFileSync(join(dir, 'config', 'jvm.options'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

/** The search engine node, on the search port: OpenSearch or Elasticsearch (SEARCHSYNC_ENGINE). */
function engineServiceSpec(
  paths: StackPaths,
  settings: StackSettings,
  engine: JavaDirs['engine'],
): ServiceSpec {
  const state = paths.data(engineLabel(settings));
  for (const dir of ['data', 'logs', 'tmp']) mkdirSync(join(state, dir), { recursive: true });
  const health = {
    healthy: () =>
      httpOk(
        `http://127.0.0.1:${settings.searchPort}/_cluster/health`,
        (body) => !body.includes('"status":"red"'),
      ),
    startTimeoutMs: 120_000,
    stopTimeoutMs: 30_000,
    url: `http://127.0.0.1:${settings.searchPort}`,
  };
  if (engine.name === 'elasticsearch') {
    const cds = join(engine.dir, 'elasticsearch-cds.jsa');
    return {
      name: 'elasticsearch',
      command: engine.java,
      args: [
        ...jvmOptionsOf(engine.dir),
        // JDK 19+: records the classes at the first exit, maps them at later starts.
        '-XX:+AutoCreateSharedArchive',
        `-XX:SharedArchiveFile=${cds}`,
        '-Xlog:cds=off',
        '-Xlog:cds+dynamic=off',
        `-Djava.io.tmpdir=${join(state, 'tmp')}`,
        `-Dsearchsync.es.home=${state}`,
        `-Dsearchsync.es.data=${join(state, 'data')}`,
        `-Dsearchsync.es.logs=${join(state, 'logs')}`,
        `-Dsearchsync.es.httpPort=${settings.searchPort}`,
        `-Dsearchsync.es.transportPort=${settings.searchTransportPort}`,
        '-cp',
        join(engine.dir, 'lib', '*'),
        'dev.searchsync.locales.EmbeddedElasticsearch',
      ],
      ...health,
    };
  }
  const cds = join(engine.dir, 'opensearch-cds.jsa');
  // Class-data sharing: the first run records the classes at exit, later runs start ~2x faster.
  const cdsOptions = existsSync(cds)
    ? [`-XX:SharedArchiveFile=${cds}`]
    : [`-XX:ArchiveClassesAtExit=${cds}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];
  return {
    name: 'opensearch',
    command: engine.java,
    args: [
      ...jvmOptionsOf(engine.dir),
      ...cdsOptions,
      `-Djava.io.tmpdir=${join(state, 'tmp')}`,
      `-Dopensearch.path.home=${engine.dir}`,
      `-Dopensearch.path.conf=${join(engine.dir, 'config')}`,
      '-cp',
      join(engine.dir, 'lib', '*'),
      'org.opensearch.bootstrap.OpenSearch',
      `-Epath.data=${join(state, 'data')}`,
      `-Epath.logs=${join(state, 'logs')}`,
      `-Ehttp.port=${settings.searchPort}`,
      `-Etransport.port=${settings.searchTransportPort}`,
    ],
    ...health,
  };
}

export function javaServiceSpecs(
  paths: StackPaths,
  settings: StackSettings,
  dirs: JavaDirs,
): ServiceSpec[] {
  const source = join(paths.root, 'deploy', 'local', 'kafka');
  const kafkaLogs = join(paths.logs, 'kafka-files');
  const connectLogs = join(paths.logs, 'connect-files');
  return [
    engineServiceSpec(paths, settings, dirs.engine),
    {
      name: 'kafka',
      command: dirs.java,
      args: [
        '-Xms256m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        `-Dlog4j2.configurationFile=${join(source, 'log4j2-broker.xml')}`,
        `-Dkafka.logs.dir=${kafkaLogs}`,
        '-cp',
        join(dirs.kafka, 'lib', '*'),
        'kafka.Kafka',
        join(paths.run, 'server.properties'),
      ],
      healthy: () => tcpOpen(settings.kafkaPort),
      startTimeoutMs: 90_000,
      stopTimeoutMs: 30_000,
      url: `127.0.0.1:${settings.kafkaPort}`,
    },
    {
      name: 'kafka-connect',
      command: dirs.java,
      args: [
        '-Xms256m',
        '-Xmx768m',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        `-Dlog4j2.configurationFile=${join(source, 'log4j2-connect.xml')}`,
        `-Dkafka.logs.dir=${connectLogs}`,
        '-cp',
        join(dirs.kafka, 'lib', '*'),
        'org.apache.kafka.connect.cli.ConnectDistributed',
        join(paths.run, 'connect-distributed.properties'),
      ],
      healthy: () =>
        httpOk(`http://127.0.0.1:${settings.connectPort}/connector-plugins`, (body) =>
          body.includes('io.debezium.connector.postgresql.PostgresConnector'),
        ),
      startTimeoutMs: 120_000,
      stopTimeoutMs: 30_000,
      url: `http://127.0.0.1:${settings.connectPort}`,
    },
  ];
}

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { resolveJars } from './maven-jars';
import type { StackPaths } from './stack-paths';
import type { StackSettings } from './stack-settings';
import type { ServiceSpec } from './supervisor';

export interface JavaDirs {
  kafka: string;
  opensearch: string;
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

/**
 * OpenSearch 2.19 needs the SecurityManager, which Java 24 removed, and Debezium 3 needs 17:
 * take the first JDK from 17 to 23 — JAVA_HOME, then PATH, then /usr/lib/jvm.
 */
export function findJava(settings: StackSettings): string {
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
    if (version >= 17 && version <= 23) return java;
    seen.push(`${java} (Java ${version})`);
  }
  throw new JavaSetupError(
    `no Java 17-23 found${seen.length ? ` (found ${seen.join(', ')})` : ''}: install a JDK 17 (e.g. apt install openjdk-17-jdk-headless) or point JAVA_HOME at one`,
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
  const opensearch = resolveJars(paths, 'opensearch', say);
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
  return { kafka, opensearch, java };
}

export function javaServiceSpecs(
  paths: StackPaths,
  settings: StackSettings,
  dirs: JavaDirs,
): ServiceSpec[] {
  const source = join(paths.root, 'deploy', 'local', 'kafka');
  const opensearchState = paths.data('opensearch');
  for (const dir of ['data', 'logs', 'tmp'])
    mkdirSync(join(opensearchState, dir), { recursive: true });
  const jvmOptions = readFileSync(join(dirs.opensearch, 'config', 'jvm.options'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const cds = join(dirs.opensearch, 'opensearch-cds.jsa');
  // Class-data sharing: the first run records the classes at exit, later runs start ~2x faster.
  const cdsOptions = existsSync(cds)
    ? [`-XX:SharedArchiveFile=${cds}`]
    : [`-XX:ArchiveClassesAtExit=${cds}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];
  const kafkaLogs = join(paths.logs, 'kafka-files');
  const connectLogs = join(paths.logs, 'connect-files');
  return [
    {
      name: 'opensearch',
      command: dirs.java,
      args: [
        ...jvmOptions,
        ...cdsOptions,
        `-Djava.io.tmpdir=${join(opensearchState, 'tmp')}`,
        `-Dopensearch.path.home=${dirs.opensearch}`,
        `-Dopensearch.path.conf=${join(dirs.opensearch, 'config')}`,
        '-cp',
        join(dirs.opensearch, 'lib', '*'),
        'org.opensearch.bootstrap.OpenSearch',
        `-Epath.data=${join(opensearchState, 'data')}`,
        `-Epath.logs=${join(opensearchState, 'logs')}`,
        `-Ehttp.port=${settings.searchPort}`,
        `-Etransport.port=${settings.searchTransportPort}`,
      ],
      healthy: () =>
        httpOk(
          `http://127.0.0.1:${settings.searchPort}/_cluster/health`,
          (body) => !body.includes('"status":"red"'),
        ),
      startTimeoutMs: 120_000,
      stopTimeoutMs: 30_000,
      url: `http://127.0.0.1:${settings.searchPort}`,
    },
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

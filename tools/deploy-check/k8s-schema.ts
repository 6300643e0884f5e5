import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as ts from 'typescript';
import { asArray, asRecord, asString, at, isRecord, type Problems } from './data-access';

/**
 * Validation of rendered Kubernetes objects against the Kubernetes API schemas:
 * 1. kubernetes-models: each object is constructed with its model class and `.validate()`d
 *    (JSON schema of the Kubernetes OpenAPI: required fields, types, enums, formats);
 * 2. the same models' TypeScript declarations, through the TypeScript compiler: every object
 *    becomes an object literal of its interface type, so excess-property checking reports
 *    unknown (e.g. misspelt) fields at any depth, which the JSON schemas let through;
 * 3. the custom resources the chart renders (ServiceMonitor, Strimzi KafkaConnect and
 *    KafkaConnector), for which kubernetes-models has no models, by hand-written structural
 *    rules taken from their CRDs.
 */

const load = createRequire(__filename);

type ModelClass = new (data: unknown) => { validate(): void };

function modelModule(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** The kubernetes-models class of a built-in kind, or undefined for custom resources. */
function modelClass(apiVersion: string, kind: string): ModelClass | undefined {
  let exported: unknown;
  try {
    exported = load(modelModule(apiVersion, kind));
  } catch {
    return undefined;
  }
  const candidate = asRecord(exported)[kind];
  return typeof candidate === 'function' ? (candidate as ModelClass) : undefined;
}

export function describe(object: unknown): string {
  return `${asString(at(object, 'kind')) ?? '?'}/${asString(at(object, 'metadata', 'name')) ?? '?'}`;
}

// --- custom resources ----------------------------------------------------------------------

function unknownKeys(where: string, value: unknown, allowed: readonly string[]): Problems {
  return Object.keys(asRecord(value))
    .filter((key) => !allowed.includes(key))
    .map((key) => `${where}: unknown field "${key}"`);
}

const DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

const SERVICE_MONITOR_SPEC = [
  'attachMetadata',
  'bodySizeLimit',
  'endpoints',
  'fallbackScrapeProtocol',
  'jobLabel',
  'keepDroppedTargets',
  'labelLimit',
  'labelNameLengthLimit',
  'labelValueLengthLimit',
  'namespaceSelector',
  'nativeHistogramBucketLimit',
  'nativeHistogramMinBucketFactor',
  'podTargetLabels',
  'sampleLimit',
  'scrapeClass',
  'scrapeProtocols',
  'selector',
  'selectorMechanism',
  'targetLabels',
  'targetLimit',
] as const;

const SERVICE_MONITOR_ENDPOINT = [
  'authorization',
  'basicAuth',
  'bearerTokenFile',
  'bearerTokenSecret',
  'enableHttp2',
  'filterRunning',
  'followRedirects',
  'honorLabels',
  'honorTimestamps',
  'interval',
  'metricRelabelings',
  'oauth2',
  'params',
  'path',
  'port',
  'proxyUrl',
  'relabelings',
  'scheme',
  'scrapeTimeout',
  'targetPort',
  'tlsConfig',
  'trackTimestampsStaleness',
] as const;

function validateServiceMonitor(object: Record<string, unknown>): Problems {
  const name = describe(object);
  const problems: Problems = [];
  const spec = at(object, 'spec');
  if (!isRecord(spec)) return [`${name}: spec is missing`];
  problems.push(...unknownKeys(`${name} spec`, spec, SERVICE_MONITOR_SPEC));
  const selector = at(spec, 'selector');
  if (!isRecord(selector)) problems.push(`${name}: spec.selector is required`);
  else
    problems.push(
      ...unknownKeys(`${name} spec.selector`, selector, ['matchLabels', 'matchExpressions']),
    );
  const endpoints = asArray(at(spec, 'endpoints'));
  if (endpoints.length === 0) problems.push(`${name}: spec.endpoints must not be empty`);
  endpoints.forEach((endpoint, i) => {
    const where = `${name} spec.endpoints[${i}]`;
    problems.push(...unknownKeys(where, endpoint, SERVICE_MONITOR_ENDPOINT));
    for (const key of ['interval', 'scrapeTimeout']) {
      const value = at(endpoint, key);
      if (value !== undefined && !(typeof value === 'string' && DURATION.test(value))) {
        problems.push(`${where}.${key}: ${JSON.stringify(value)} is not a Prometheus duration`);
      }
    }
    if (at(endpoint, 'port') === undefined && at(endpoint, 'targetPort') === undefined) {
      problems.push(`${where}: needs port or targetPort`);
    }
  });
  return problems;
}

const KAFKA_CONNECT_SPEC = [
  'authentication',
  'bootstrapServers',
  'build',
  'clientRackInitImage',
  'config',
  'externalConfiguration',
  'image',
  'jmxOptions',
  'jvmOptions',
  'livenessProbe',
  'logging',
  'metricsConfig',
  'plugins',
  'rack',
  'readinessProbe',
  'replicas',
  'resources',
  'template',
  'tracing',
  'version',
] as const;

/** Worker options Strimzi manages itself and refuses in spec.config. */
const STRIMZI_FORBIDDEN_CONNECT_CONFIG = [
  'ssl.',
  'sasl.',
  'security.',
  'listeners',
  'plugin.path',
  'rest.',
  'bootstrap.servers',
  'consumer.interceptor.classes',
  'producer.interceptor.classes',
];
const STRIMZI_ALLOWED_SSL_CONFIG = [
  'ssl.endpoint.identification.algorithm',
  'ssl.cipher.suites',
  'ssl.protocol',
  'ssl.enabled.protocols',
];

function isScalar(value: unknown): boolean {
  return ['string', 'number', 'boolean'].includes(typeof value);
}

function validateKafkaConnect(object: Record<string, unknown>): Problems {
  const name = describe(object);
  const problems: Problems = [];
  const spec = at(object, 'spec');
  if (!isRecord(spec)) return [`${name}: spec is missing`];
  problems.push(...unknownKeys(`${name} spec`, spec, KAFKA_CONNECT_SPEC));
  if (typeof spec.bootstrapServers !== 'string' || spec.bootstrapServers === '') {
    problems.push(`${name}: spec.bootstrapServers is required`);
  }
  if (
    spec.replicas !== undefined &&
    !(Number.isInteger(spec.replicas) && Number(spec.replicas) >= 0)
  ) {
    problems.push(`${name}: spec.replicas must be a non-negative integer`);
  }
  if (spec.version !== undefined && typeof spec.version !== 'string') {
    problems.push(`${name}: spec.version must be a string`);
  }
  for (const [key, value] of Object.entries(asRecord(spec.config))) {
    if (!isScalar(value)) problems.push(`${name}: spec.config.${key} must be a scalar`);
    const forbidden = STRIMZI_FORBIDDEN_CONNECT_CONFIG.some(
      (prefix) => key === prefix || (prefix.endsWith('.') && key.startsWith(prefix)),
    );
    if (forbidden && !STRIMZI_ALLOWED_SSL_CONFIG.includes(key)) {
      problems.push(`${name}: spec.config.${key} is managed by Strimzi and not allowed`);
    }
  }
  if (spec.build !== undefined) {
    const build = asRecord(spec.build);
    problems.push(...unknownKeys(`${name} spec.build`, build, ['output', 'plugins', 'resources']));
    const output = asRecord(build.output);
    if (!['docker', 'imagestream'].includes(String(output.type))) {
      problems.push(`${name}: spec.build.output.type must be docker or imagestream`);
    }
    if (typeof output.image !== 'string' || output.image === '') {
      problems.push(`${name}: spec.build.output.image is required`);
    }
    problems.push(
      ...unknownKeys(`${name} spec.build.output`, output, [
        'type',
        'image',
        'pushSecret',
        'additionalKanikoOptions',
        'additionalBuildOptions',
        'additionalPushOptions',
      ]),
    );
    const plugins = asArray(build.plugins);
    if (plugins.length === 0) problems.push(`${name}: spec.build.plugins must not be empty`);
    plugins.forEach((plugin, i) => {
      const where = `${name} spec.build.plugins[${i}]`;
      problems.push(...unknownKeys(where, plugin, ['name', 'artifacts']));
      if (!/^[a-z0-9][-_a-z0-9]*[a-z0-9]$/.test(String(at(plugin, 'name')))) {
        problems.push(`${where}.name is not a valid plugin name`);
      }
      const artifacts = asArray(at(plugin, 'artifacts'));
      if (artifacts.length === 0) problems.push(`${where}.artifacts must not be empty`);
      artifacts.forEach((artifact, j) => {
        const a = `${where}.artifacts[${j}]`;
        problems.push(
          ...unknownKeys(a, artifact, [
            'type',
            'url',
            'sha512sum',
            'fileName',
            'insecure',
            'artifact',
            'group',
            'version',
            'repository',
          ]),
        );
        if (!['jar', 'tgz', 'zip', 'maven', 'other'].includes(String(at(artifact, 'type')))) {
          problems.push(`${a}.type must be jar, tgz, zip, maven or other`);
        }
        const url = at(artifact, 'url');
        if (
          at(artifact, 'type') !== 'maven' &&
          !(typeof url === 'string' && /^https:\/\//.test(url))
        ) {
          problems.push(`${a}.url must be an https URL`);
        }
        const sha = at(artifact, 'sha512sum');
        if (sha !== undefined && !(typeof sha === 'string' && /^[0-9a-f]{128}$/.test(sha))) {
          problems.push(`${a}.sha512sum must be 128 hex digits`);
        }
      });
    });
  }
  if (spec.build === undefined && spec.image === undefined) {
    problems.push(`${name}: needs spec.image (with the Debezium plugin) or spec.build`);
  }
  return problems;
}

function validateKafkaConnector(object: Record<string, unknown>): Problems {
  const name = describe(object);
  const problems: Problems = [];
  if (typeof at(object, 'metadata', 'labels', 'strimzi.io/cluster') !== 'string') {
    problems.push(`${name}: label strimzi.io/cluster (the KafkaConnect name) is required`);
  }
  const spec = at(object, 'spec');
  if (!isRecord(spec)) return [...problems, `${name}: spec is missing`];
  problems.push(
    ...unknownKeys(`${name} spec`, spec, [
      'alterOffsets',
      'autoRestart',
      'class',
      'config',
      'listOffsets',
      'pause',
      'state',
      'tasksMax',
      'version',
    ]),
  );
  if (typeof spec.class !== 'string' || spec.class === '')
    problems.push(`${name}: spec.class is required`);
  if (!(Number.isInteger(spec.tasksMax) && Number(spec.tasksMax) >= 1)) {
    problems.push(`${name}: spec.tasksMax must be an integer >= 1`);
  }
  const config = asRecord(spec.config);
  for (const [key, value] of Object.entries(config)) {
    if (!isScalar(value)) problems.push(`${name}: spec.config.${key} must be a scalar`);
  }
  for (const key of ['connector.class', 'tasks.max']) {
    if (key in config)
      problems.push(`${name}: spec.config.${key} belongs in spec.class / spec.tasksMax`);
  }
  return problems;
}

const CUSTOM_RESOURCES: Record<string, (object: Record<string, unknown>) => Problems> = {
  'monitoring.coreos.com/v1/ServiceMonitor': validateServiceMonitor,
  'kafka.strimzi.io/v1beta2/KafkaConnect': validateKafkaConnect,
  'kafka.strimzi.io/v1/KafkaConnect': validateKafkaConnect,
  'kafka.strimzi.io/v1beta2/KafkaConnector': validateKafkaConnector,
  'kafka.strimzi.io/v1/KafkaConnector': validateKafkaConnector,
};

// --- strict (unknown field) check through the TypeScript declarations ----------------------

function strictTypeCheck(
  root: string,
  objects: { object: Record<string, unknown>; apiVersion: string; kind: string }[],
): Problems {
  if (objects.length === 0) return [];
  const file = join(root, '__deploy_check_manifests__.ts');
  const imports: string[] = [];
  const ranges: { start: number; end: number; label: string }[] = [];
  const imported = new Map<string, string>();
  objects.forEach(({ apiVersion, kind }) => {
    const key = `${apiVersion}/${kind}`;
    let alias = imported.get(key);
    if (!alias) {
      alias = `T${imported.size}`;
      imported.set(key, alias);
      imports.push(`import type { I${kind} as ${alias} } from '${modelModule(apiVersion, kind)}';`);
    }
  });
  let text = `${imports.join('\n')}\n`;
  objects.forEach(({ object, apiVersion, kind }, i) => {
    const declaration = `export const m${i}: ${imported.get(`${apiVersion}/${kind}`)} = ${JSON.stringify(object, null, 1)};\n`;
    ranges.push({
      start: text.length,
      end: text.length + declaration.length,
      label: describe(object),
    });
    text += declaration;
  });

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    baseUrl: root,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
    name === file
      ? ts.createSourceFile(name, text, languageVersion)
      : getSourceFile(name, languageVersion, onError, shouldCreate);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const source = program.getSourceFile(file);
  if (!source) return ['internal: the manifest type check could not start'];
  return [
    ...program.getSyntacticDiagnostics(source),
    ...program.getSemanticDiagnostics(source),
  ].map((diagnostic) => {
    const start = diagnostic.start ?? 0;
    const owner = ranges.find((range) => start >= range.start && start < range.end);
    const { line } = source.getLineAndCharacterOfPosition(start);
    const path = owner ? jsonPathAt(text, owner.start, start) : '';
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    return `${owner?.label ?? `line ${line + 1}`}${path ? ` at ${path}` : ''}: ${message}`;
  });
}

/** The JSON path of the property at `position` inside the object literal starting at `from`. */
function jsonPathAt(text: string, from: number, position: number): string {
  const lineEnd = text.indexOf('\n', position);
  const lines = text.slice(from, lineEnd < 0 ? text.length : lineEnd).split('\n');
  const path: string[] = [];
  for (const line of lines) {
    const match = /^( *)"([^"]+)":/.exec(line);
    if (!match) continue;
    const depth = match[1].length;
    path.length = Math.min(path.length, depth);
    path[depth - 1] = match[2];
  }
  return path.filter(Boolean).join('.');
}

/** Every problem of every object; an empty list means all of them validate. */
export function validateManifests(root: string, objects: Record<string, unknown>[]): Problems {
  const problems: Problems = [];
  const builtIns: { object: Record<string, unknown>; apiVersion: string; kind: string }[] = [];
  for (const object of objects) {
    const apiVersion = asString(object.apiVersion);
    const kind = asString(object.kind);
    if (!apiVersion || !kind) {
      problems.push(`${describe(object)}: apiVersion and kind are required`);
      continue;
    }
    if (typeof at(object, 'metadata', 'name') !== 'string') {
      problems.push(`${describe(object)}: metadata.name is required`);
    }
    const custom = CUSTOM_RESOURCES[`${apiVersion}/${kind}`];
    if (custom) {
      problems.push(...custom(object));
      continue;
    }
    const Model = modelClass(apiVersion, kind);
    if (!Model) {
      problems.push(`${describe(object)}: no schema for ${apiVersion} ${kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(
        `${describe(object)}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    builtIns.push({ object, apiVersion, kind });
  }
  problems.push(...strictTypeCheck(root, builtIns));
  return problems;
}

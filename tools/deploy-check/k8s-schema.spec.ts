import { validateManifests } from './k8s-schema';
import { findRepoRoot } from './repo-paths';

const root = findRepoRoot(__dirname);

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api' },
  spec: {
    selector: { matchLabels: { app: 'api' } },
    template: {
      metadata: { labels: { app: 'api' } },
      spec: {
        containers: [
          {
            name: 'api',
            image: 'searchsync:0.1.0',
            ports: [{ name: 'http', containerPort: 3000 }],
            readinessProbe: { httpGet: { path: '/health', port: 'http' } },
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          },
        ],
      },
    },
  },
});

describe('validateManifests: built-in kinds (kubernetes-models)', () => {
  it('accepts a valid Deployment', () => {
    expect(validateManifests(root, [deployment()])).toEqual([]);
  });

  it('reports a wrong type through the model JSON schema', () => {
    const d = deployment();
    (d.spec.template.spec.containers[0].ports[0] as Record<string, unknown>).containerPort = 'http';
    expect(validateManifests(root, [d]).join('\n')).toMatch(
      /Deployment\/api: .*containerPort must be integer/,
    );
  });

  it('reports a missing required field', () => {
    const d = deployment() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    delete d.spec.selector;
    expect(validateManifests(root, [d]).join('\n')).toMatch(/selector/);
  });

  it('reports a misspelt field (unknown to the Kubernetes API) at any depth', () => {
    const d = deployment();
    const container = d.spec.template.spec.containers[0] as Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    expect(validateManifests(root, [d]).join('\n')).toMatch(
      /Deployment\/api.*'"readinesProbe"' does not exist in type 'IContainer'/,
    );
  });

  it('reports an unknown kind and a missing name', () => {
    expect(
      validateManifests(root, [
        { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      ]),
    ).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
    expect(
      validateManifests(root, [{ apiVersion: 'v1', kind: 'Service', metadata: {} }]).join('\n'),
    ).toMatch(/metadata\.name is required/);
  });
});

describe('validateManifests: custom resources', () => {
  const serviceMonitor = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'm' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      endpoints: [{ port: 'http', path: '/metrics', interval: '30s' }],
    },
  };
  const kafkaConnect = {
    apiVersion: 'kafka.strimzi.io/v1beta2',
    kind: 'KafkaConnect',
    metadata: { name: 'c' },
    spec: {
      replicas: 1,
      version: '4.3.0',
      bootstrapServers: 'kafka:9093',
      config: { 'group.id': 'g', 'key.converter.schemas.enable': true },
      build: {
        output: { type: 'docker', image: 'registry/x:1' },
        plugins: [
          {
            name: 'debezium',
            artifacts: [{ type: 'tgz', url: 'https://repo1.maven.org/x.tar.gz' }],
          },
        ],
      },
    },
  };
  const kafkaConnector = {
    apiVersion: 'kafka.strimzi.io/v1beta2',
    kind: 'KafkaConnector',
    metadata: { name: 'k', labels: { 'strimzi.io/cluster': 'c' } },
    spec: {
      class: 'io.debezium.connector.postgresql.PostgresConnector',
      tasksMax: 1,
      config: { 'topic.prefix': 'x' },
    },
  };

  it('accepts valid ServiceMonitor, KafkaConnect and KafkaConnector objects', () => {
    expect(validateManifests(root, [serviceMonitor, kafkaConnect, kafkaConnector])).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a ServiceMonitor without endpoints',
      { ...serviceMonitor, spec: { selector: {} } },
      /endpoints must not be empty/,
    ],
    [
      'a ServiceMonitor with a bad interval',
      {
        ...serviceMonitor,
        spec: { ...serviceMonitor.spec, endpoints: [{ port: 'http', interval: '30 seconds' }] },
      },
      /not a Prometheus duration/,
    ],
    [
      'a ServiceMonitor with an unknown field',
      { ...serviceMonitor, spec: { ...serviceMonitor.spec, endpoint: [] } },
      /unknown field "endpoint"/,
    ],
    [
      'a KafkaConnect without bootstrap servers',
      { ...kafkaConnect, spec: { ...kafkaConnect.spec, bootstrapServers: undefined } },
      /bootstrapServers is required/,
    ],
    [
      'a KafkaConnect setting what Strimzi manages',
      { ...kafkaConnect, spec: { ...kafkaConnect.spec, config: { 'sasl.mechanism': 'PLAIN' } } },
      /sasl\.mechanism is managed by Strimzi/,
    ],
    [
      'a KafkaConnect plugin over http',
      {
        ...kafkaConnect,
        spec: {
          ...kafkaConnect.spec,
          build: {
            ...kafkaConnect.spec.build,
            plugins: [{ name: 'p', artifacts: [{ type: 'tgz', url: 'http://x' }] }],
          },
        },
      },
      /https URL/,
    ],
    [
      'a KafkaConnect without image or build',
      { ...kafkaConnect, spec: { ...kafkaConnect.spec, build: undefined } },
      /needs spec\.image/,
    ],
    [
      'a KafkaConnector without its cluster label',
      { ...kafkaConnector, metadata: { name: 'k' } },
      /strimzi\.io\/cluster/,
    ],
    [
      'a KafkaConnector with tasks.max in config',
      { ...kafkaConnector, spec: { ...kafkaConnector.spec, config: { 'tasks.max': '1' } } },
      /belongs in spec\.class \/ spec\.tasksMax/,
    ],
    [
      'a KafkaConnector without class',
      { ...kafkaConnector, spec: { tasksMax: 1 } },
      /spec\.class is required/,
    ],
  ])('reports %s', (_name, object, problem) => {
    expect(validateManifests(root, [object as Record<string, unknown>]).join('\n')).toMatch(
      problem,
    );
  });
});

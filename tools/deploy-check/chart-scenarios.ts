import { APPS } from './app-facts';
import type { ChartExpectations } from './chart-checks';
import type { RenderOptions } from './helm';

/** One rendering of the chart and what it must contain. */
export interface ChartScenario {
  name: string;
  options: RenderOptions;
  expect: ChartExpectations;
}

const ALL_APPS = APPS.map((app) => app.name);

const base: ChartExpectations = {
  namespace: 'searchsync',
  deployments: ALL_APPS,
  autoscaled: ['api', 'indexer'],
  serviceMonitor: false,
  strimzi: false,
  topicPartitions: 3,
};

const strimziValues = {
  'strimzi.enabled': true,
  'strimzi.connect.build.outputImage':
    'registry.example.com/searchsync/connect:4.3.0-debezium-3.6.3',
  'strimzi.connector.database.host': 'orders-db.example.internal',
  'strimzi.connector.database.port': 6432,
  'strimzi.connector.database.user': 'debezium',
  'strimzi.connector.database.name': 'orders',
  'strimzi.connector.passwordSecret.name': 'orders-debezium',
  'strimzi.connector.passwordSecret.key': 'pw',
  'strimzi.connector.vars.SEARCHSYNC_SLOT_NAME': 'orders_slot',
  'config.topicPrefix': 'orders',
  'config.schemas': 'public,sales',
  'config.connectorName': 'orders-postgres',
  'config.topicPartitions': 4,
  'config.topicReplicationFactor': 2,
  // A table configuration: rendered into the ConfigMap every app mounts.
  tableConfig: 'tables:\n  staff:\n    exclude: [password]\n',
};

export const CHART_SCENARIOS: ChartScenario[] = [
  { name: 'defaults, no Prometheus Operator', options: {}, expect: base },
  {
    name: 'defaults, Prometheus Operator CRDs installed',
    options: { apiVersions: ['monitoring.coreos.com/v1'] },
    expect: { ...base, serviceMonitor: true },
  },
  {
    name: 'fixed replicas, ServiceMonitor off',
    options: {
      apiVersions: ['monitoring.coreos.com/v1'],
      set: {
        'api.autoscaling.enabled': false,
        'indexer.autoscaling.enabled': false,
        'indexer.replicaCount': 3,
        'metrics.serviceMonitor.enabled': false,
      },
    },
    expect: { ...base, autoscaled: [] },
  },
  {
    name: 'Strimzi KafkaConnect + KafkaConnector from connectors/debezium-postgres.json',
    options: { namespace: 'cdc', apiVersions: ['monitoring.coreos.com/v1'], set: strimziValues },
    expect: {
      ...base,
      namespace: 'cdc',
      serviceMonitor: true,
      strimzi: true,
      topicPartitions: 4,
      strimziVars: {
        PGHOST: 'orders-db.example.internal',
        PGPORT: '6432',
        PGUSER: 'debezium',
        PGDATABASE: 'orders',
        SEARCHSYNC_CONNECTOR_NAME: 'orders-postgres',
        SEARCHSYNC_TOPIC_PREFIX: 'orders',
        SEARCHSYNC_SCHEMAS: 'public,sales',
        SEARCHSYNC_TOPIC_PARTITIONS: '4',
        SEARCHSYNC_TOPIC_REPLICATION: '2',
        SEARCHSYNC_SLOT_NAME: 'orders_slot',
      },
    },
  },
];

/** Values the chart must refuse, and the reason it must give. */
export const REJECTED_VALUES: { name: string; options: RenderOptions; error: RegExp }[] = [
  {
    name: 'indexer HPA maximum above the partitions per topic',
    options: { set: { 'indexer.autoscaling.maxReplicas': 4 } },
    error: /maxReplicas \(4\) exceeds config\.topicPartitions \(3\)/,
  },
  {
    name: 'indexer replicas above the partitions per topic',
    options: { set: { 'indexer.autoscaling.enabled': false, 'indexer.replicaCount': 5 } },
    error: /replicaCount \(5\) exceeds config\.topicPartitions \(3\)/,
  },
  {
    name: 'a writable root file system',
    options: { set: { 'securityContext.readOnlyRootFilesystem': false } },
    error: /readOnlyRootFilesystem/,
  },
  {
    name: 'pods allowed to run as root',
    options: { set: { 'podSecurityContext.runAsNonRoot': false } },
    error: /runAsNonRoot/,
  },
  {
    name: 'no existing Secret for DATABASE_URL',
    options: { set: { 'secrets.existingSecret': '' } },
    error: /existingSecret/,
  },
  {
    name: 'a misspelt value',
    options: { set: { 'api.replicas': 2 } },
    error: /Additional property replicas is not allowed/,
  },
  {
    name: 'a tableConfig that is not a YAML mapping',
    options: { set: { tableConfig: '- staff' } },
    error: /tableConfig is not a YAML mapping/,
  },
  {
    name: 'Strimzi without a Connect image or build output',
    options: { set: { 'strimzi.enabled': true } },
    error: /strimzi\.connect\.image/,
  },
];

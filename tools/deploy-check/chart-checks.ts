import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConnectorTemplate } from '@searchsync/connect-client';
import {
  APPS,
  BOOTSTRAP_ENTRY,
  REQUIRED_SHARED_ENV,
  SECRET_NAME,
  TABLE_CONFIG_DIR,
  TABLE_CONFIG_ENV,
  URL_WITH_PASSWORD,
  entryExists,
} from './app-facts';
import { CONNECTOR_TEMPLATE, readConnectorTemplate } from './connector-template-vars';
import {
  allStrings,
  asArray,
  asRecord,
  asString,
  at,
  isRecord,
  selects,
  text,
  type Problems,
} from './data-access';
import { CHART_DIR } from './helm';
import { describe } from './k8s-schema';

type Manifest = Record<string, unknown>;

/** What one rendering of the chart is expected to contain. */
export interface ChartExpectations {
  namespace: string;
  /** App components with a Deployment (by app.kubernetes.io/component). */
  deployments: string[];
  /** Components with a HorizontalPodAutoscaler. */
  autoscaled: string[];
  /** Whether the cluster serves monitoring.coreos.com/v1 (and the ServiceMonitor is on). */
  serviceMonitor: boolean;
  /** Strimzi KafkaConnect + KafkaConnector rendered. */
  strimzi: boolean;
  /** config.topicPartitions: the upper bound of indexer replicas. */
  topicPartitions: number;
  /** Values the Strimzi connector was rendered with (for the template cross-check). */
  strimziVars?: Record<string, string>;
}

const component = (object: unknown) =>
  asString(at(object, 'metadata', 'labels', 'app.kubernetes.io/component'));
const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);

function podSpec(deployment: Manifest): Record<string, unknown> {
  return asRecord(at(deployment, 'spec', 'template', 'spec'));
}

function containerPortNames(deployment: Manifest): Map<string, number> {
  const ports = new Map<string, number>();
  for (const container of asArray(podSpec(deployment).containers)) {
    for (const port of asArray(at(container, 'ports'))) {
      const name = asString(at(port, 'name'));
      const number = at(port, 'containerPort');
      if (name && typeof number === 'number') ports.set(name, number);
    }
  }
  return ports;
}

function resolvesToPort(deployment: Manifest, port: unknown): boolean {
  const ports = containerPortNames(deployment);
  return typeof port === 'string' ? ports.has(port) : [...ports.values()].includes(Number(port));
}

function checkContainerSecurity(where: string, pod: Record<string, unknown>): Problems {
  const problems: Problems = [];
  const podContext = asRecord(pod.securityContext);
  if (podContext.runAsNonRoot !== true)
    problems.push(`${where}: pod securityContext.runAsNonRoot must be true`);
  if (podContext.runAsUser === 0) problems.push(`${where}: pod runs as uid 0`);
  for (const container of asArray(pod.containers)) {
    const name = `${where} container ${asString(at(container, 'name')) ?? '?'}`;
    const context = asRecord(at(container, 'securityContext'));
    if (context.readOnlyRootFilesystem !== true)
      problems.push(`${name}: readOnlyRootFilesystem must be true`);
    if (context.allowPrivilegeEscalation !== false)
      problems.push(`${name}: allowPrivilegeEscalation must be false`);
    if (context.runAsNonRoot !== true && podContext.runAsNonRoot !== true)
      problems.push(`${name}: must run as non-root`);
    if (context.runAsUser === 0) problems.push(`${name}: runs as uid 0`);
    if (context.privileged === true) problems.push(`${name}: must not be privileged`);
    if (!asArray(at(context, 'capabilities', 'drop')).includes('ALL'))
      problems.push(`${name}: must drop ALL capabilities`);
    const resources = asRecord(at(container, 'resources'));
    for (const key of ['cpu', 'memory']) {
      if (at(resources, 'requests', key) === undefined)
        problems.push(`${name}: resources.requests.${key} is missing`);
    }
    if (at(resources, 'limits', 'memory') === undefined)
      problems.push(`${name}: resources.limits.memory is missing`);
  }
  return problems;
}

/** Secrets only by reference: no literal value for a secret-looking variable, no credentials in URLs. */
function checkSecretsByReference(objects: Manifest[]): Problems {
  const problems: Problems = [];
  for (const object of objects) {
    if (object.kind === 'Secret')
      problems.push(`${describe(object)}: the chart must not create Secrets (existingSecret only)`);
    for (const { path, value } of allStrings(object)) {
      if (URL_WITH_PASSWORD.test(value))
        problems.push(`${describe(object)} ${path}: URL with an inline password`);
    }
    const pod = at(object, 'spec', 'template', 'spec');
    for (const container of asArray(at(pod, 'containers'))) {
      for (const env of asArray(at(container, 'env'))) {
        const name = asString(at(env, 'name')) ?? '';
        if (SECRET_NAME.test(name)) {
          if (at(env, 'value') !== undefined)
            problems.push(`${describe(object)}: ${name} has a literal value; use a secretKeyRef`);
          else if (at(env, 'valueFrom', 'secretKeyRef', 'name') === undefined) {
            problems.push(`${describe(object)}: ${name} must come from a secretKeyRef`);
          }
        }
      }
    }
  }
  return problems;
}

function checkDeployments(root: string, objects: Manifest[], expect: ChartExpectations): Problems {
  const problems: Problems = [];
  const deployments = ofKind(objects, 'Deployment');
  const found = deployments.map(component).sort();
  if (JSON.stringify(found) !== JSON.stringify([...expect.deployments].sort())) {
    problems.push(
      `Deployments for [${found.join(', ')}], expected [${expect.deployments.join(', ')}]`,
    );
  }
  for (const deployment of deployments) {
    const where = describe(deployment);
    const app = APPS.find((a) => a.name === component(deployment));
    if (!app) {
      problems.push(`${where}: unknown component ${component(deployment)}`);
      continue;
    }
    const pod = podSpec(deployment);
    const selector = at(deployment, 'spec', 'selector', 'matchLabels');
    if (!selects(selector, at(deployment, 'spec', 'template', 'metadata', 'labels'))) {
      problems.push(`${where}: spec.selector does not match the pod template labels`);
    }
    const containers = asArray(pod.containers);
    if (containers.length !== 1) problems.push(`${where}: expected one container`);
    const container = containers[0];
    const args = asArray(at(container, 'args'));
    if (args[0] !== app.entry)
      problems.push(`${where}: runs ${String(args[0])}, expected ${app.entry}`);
    if (!entryExists(root, app))
      problems.push(`${where}: apps/${app.name}/src/main.ts does not exist`);
    if (
      !resolvesToPort(deployment, 'http') ||
      containerPortNames(deployment).get('http') !== Number(containerEnv(container, app.portEnv))
    ) {
      problems.push(`${where}: container port "http" must exist and equal ${app.portEnv}`);
    }
    const readiness = asRecord(at(container, 'readinessProbe'));
    if (at(readiness, 'httpGet', 'path') !== '/health')
      problems.push(`${where}: readinessProbe must be httpGet /health`);
    else if (!resolvesToPort(deployment, at(readiness, 'httpGet', 'port')))
      problems.push(`${where}: readinessProbe port is not a container port`);
    const liveness = asRecord(at(container, 'livenessProbe'));
    if (Object.keys(liveness).length === 0) problems.push(`${where}: livenessProbe is missing`);
    const livenessPort = at(liveness, 'httpGet', 'port') ?? at(liveness, 'tcpSocket', 'port');
    if (livenessPort !== undefined && !resolvesToPort(deployment, livenessPort))
      problems.push(`${where}: livenessProbe port is not a container port`);
    problems.push(...checkContainerSecurity(where, pod));

    const env = asArray(at(container, 'env'));
    const names = env.map((e) => asString(at(e, 'name')) ?? '');
    for (const name of [...REQUIRED_SHARED_ENV, app.hostEnv, app.portEnv]) {
      if (!names.includes(name)) problems.push(`${where}: env ${name} is missing`);
    }
    if (containerEnv(container, app.hostEnv) !== '0.0.0.0')
      problems.push(`${where}: ${app.hostEnv} must be 0.0.0.0 in a container`);
    for (const name of names) {
      if (!app.knownEnv.includes(name))
        problems.push(
          `${where}: env ${name} is not read by ${app.name} (libs/config/src/env-schemas.ts)`,
        );
    }
    const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
    if (duplicates.length > 0) problems.push(`${where}: env set twice: ${duplicates.join(', ')}`);

    const autoscaled = expect.autoscaled.includes(app.name);
    const replicas = at(deployment, 'spec', 'replicas');
    if (autoscaled && replicas !== undefined)
      problems.push(`${where}: spec.replicas must be left to the HPA`);
    if (!autoscaled && typeof replicas !== 'number')
      problems.push(`${where}: spec.replicas is missing`);
    if (
      app.name === 'indexer' &&
      typeof replicas === 'number' &&
      replicas > expect.topicPartitions
    ) {
      problems.push(`${where}: ${replicas} replicas for ${expect.topicPartitions} partitions`);
    }
  }
  return problems;
}

function containerEnv(container: unknown, name: string): string | undefined {
  const entry = asArray(at(container, 'env')).find((e) => at(e, 'name') === name);
  return asString(at(entry, 'value'));
}

function checkServicesAndBudgets(objects: Manifest[], expect: ChartExpectations): Problems {
  const problems: Problems = [];
  const services = ofKind(objects, 'Service');
  for (const deployment of ofKind(objects, 'Deployment')) {
    const where = describe(deployment);
    const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels');
    const service = services.find((s) => selects(at(s, 'spec', 'selector'), podLabels));
    if (!service) problems.push(`${where}: no Service selects its pods`);
    else {
      for (const port of asArray(at(service, 'spec', 'ports'))) {
        if (!resolvesToPort(deployment, at(port, 'targetPort')))
          problems.push(
            `${describe(service)}: targetPort ${String(at(port, 'targetPort'))} is not a container port of ${where}`,
          );
      }
    }
    const budget = ofKind(objects, 'PodDisruptionBudget').find((p) =>
      selects(at(p, 'spec', 'selector', 'matchLabels'), podLabels),
    );
    if (!budget) problems.push(`${where}: no PodDisruptionBudget covers its pods`);
  }
  const hpas = ofKind(objects, 'HorizontalPodAutoscaler');
  const scaled = hpas.map(component).sort();
  if (JSON.stringify(scaled) !== JSON.stringify([...expect.autoscaled].sort())) {
    problems.push(
      `HorizontalPodAutoscalers for [${scaled.join(', ')}], expected [${expect.autoscaled.join(', ')}]`,
    );
  }
  for (const hpa of hpas) {
    const target = at(hpa, 'spec', 'scaleTargetRef');
    const deployment = ofKind(objects, 'Deployment').find(
      (d) => at(d, 'metadata', 'name') === at(target, 'name'),
    );
    if (at(target, 'kind') !== 'Deployment' || !deployment)
      problems.push(`${describe(hpa)}: scaleTargetRef is not a rendered Deployment`);
    const min = Number(at(hpa, 'spec', 'minReplicas'));
    const max = Number(at(hpa, 'spec', 'maxReplicas'));
    if (!(min >= 1 && min <= max))
      problems.push(`${describe(hpa)}: minReplicas ${min} / maxReplicas ${max}`);
    if (component(hpa) === 'indexer' && max > expect.topicPartitions) {
      problems.push(
        `${describe(hpa)}: maxReplicas ${max} exceeds the ${expect.topicPartitions} partitions per topic`,
      );
    }
  }
  return problems;
}

function checkServiceMonitor(objects: Manifest[], expect: ChartExpectations): Problems {
  const monitors = ofKind(objects, 'ServiceMonitor');
  if (!expect.serviceMonitor) {
    return monitors.length > 0
      ? ['ServiceMonitor rendered although the cluster has no monitoring.coreos.com/v1']
      : [];
  }
  if (monitors.length !== 1) return [`expected one ServiceMonitor, found ${monitors.length}`];
  const problems: Problems = [];
  const monitor = monitors[0];
  const services = ofKind(objects, 'Service').filter((s) =>
    selects(at(monitor, 'spec', 'selector', 'matchLabels'), at(s, 'metadata', 'labels')),
  );
  for (const deployment of ofKind(objects, 'Deployment')) {
    const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels');
    if (!services.some((s) => selects(at(s, 'spec', 'selector'), podLabels)))
      problems.push(`ServiceMonitor does not reach ${describe(deployment)}`);
  }
  for (const endpoint of asArray(at(monitor, 'spec', 'endpoints'))) {
    if (at(endpoint, 'path') !== '/metrics')
      problems.push('ServiceMonitor endpoint path must be /metrics');
    for (const service of services) {
      if (
        !asArray(at(service, 'spec', 'ports')).some((p) => at(p, 'name') === at(endpoint, 'port'))
      ) {
        problems.push(
          `ServiceMonitor port ${String(at(endpoint, 'port'))} is not a port of ${describe(service)}`,
        );
      }
    }
  }
  return problems;
}

function checkStrimzi(root: string, objects: Manifest[], expect: ChartExpectations): Problems {
  const connects = ofKind(objects, 'KafkaConnect');
  const connectors = ofKind(objects, 'KafkaConnector');
  if (!expect.strimzi) {
    return connects.length + connectors.length > 0
      ? ['Strimzi resources rendered although strimzi.enabled is false']
      : [];
  }
  if (connects.length !== 1 || connectors.length !== 1)
    return [
      `expected one KafkaConnect and one KafkaConnector, found ${connects.length} and ${connectors.length}`,
    ];
  const problems: Problems = [];
  const [connect] = connects;
  const [connector] = connectors;
  const connectName = asString(at(connect, 'metadata', 'name'));
  if (at(connect, 'metadata', 'annotations', 'strimzi.io/use-connector-resources') !== 'true') {
    problems.push(
      `${describe(connect)}: needs annotation strimzi.io/use-connector-resources: "true"`,
    );
  }
  if (at(connector, 'metadata', 'labels', 'strimzi.io/cluster') !== connectName)
    problems.push(`${describe(connector)}: strimzi.io/cluster must name ${connectName}`);
  const workerConfig = asRecord(at(connect, 'spec', 'config'));
  for (const side of ['key', 'value']) {
    if (workerConfig[`${side}.converter`] !== 'org.apache.kafka.connect.json.JsonConverter')
      problems.push(`${describe(connect)}: ${side}.converter must be the JsonConverter`);
    if (
      workerConfig[`${side}.converter.schemas.enable`] !== true &&
      workerConfig[`${side}.converter.schemas.enable`] !== 'true'
    ) {
      problems.push(`${describe(connect)}: ${side}.converter.schemas.enable must be true`);
    }
  }
  const providers = text(workerConfig['config.providers'])
    .split(',')
    .map((p) => p.trim());
  if (
    !providers.includes('secrets') ||
    workerConfig['config.providers.secrets.class'] !==
      'io.strimzi.kafka.KubernetesSecretConfigProvider'
  ) {
    problems.push(
      `${describe(connect)}: needs config provider "secrets" (io.strimzi.kafka.KubernetesSecretConfigProvider)`,
    );
  }

  // The KafkaConnector is our template, rendered exactly as the apps' own renderer would.
  const chartCopy = readFileSync(join(root, CHART_DIR, 'files', 'debezium-postgres.json'), 'utf8');
  if (chartCopy !== readFileSync(join(root, CONNECTOR_TEMPLATE), 'utf8')) {
    problems.push(
      `${CHART_DIR}/files/debezium-postgres.json differs from ${CONNECTOR_TEMPLATE}: copy it again`,
    );
  }
  const template = readConnectorTemplate(root);
  const config = asRecord(at(connector, 'spec', 'config'));
  const password = asString(config['database.password']) ?? '';
  const reference = /^\$\{secrets:([^/]+)\/([^:]+):([^}]+)\}$/.exec(password);
  if (!reference)
    problems.push(
      `${describe(connector)}: database.password must be a \${secrets:<namespace>/<secret>:<key>} reference`,
    );
  else if (reference[1] !== expect.namespace)
    problems.push(
      `${describe(connector)}: the password reference names namespace ${reference[1]}, not ${expect.namespace}`,
    );
  if (expect.strimziVars) {
    try {
      const expected = renderConnectorTemplate(template, {
        ...expect.strimziVars,
        PGPASSWORD: password,
      });
      const { 'connector.class': connectorClass, 'tasks.max': tasksMax, ...rest } = expected.config;
      if (at(connector, 'metadata', 'name') !== expected.name)
        problems.push(`${describe(connector)}: name should be ${expected.name}`);
      if (at(connector, 'spec', 'class') !== connectorClass)
        problems.push(`${describe(connector)}: spec.class should be ${connectorClass}`);
      if (at(connector, 'spec', 'tasksMax') !== Number(tasksMax))
        problems.push(`${describe(connector)}: spec.tasksMax should be ${tasksMax}`);
      const keys = new Set([...Object.keys(rest), ...Object.keys(config)]);
      for (const key of keys) {
        if (String(config[key]) !== rest[key]) {
          problems.push(
            `${describe(connector)}: config ${key} is ${JSON.stringify(config[key])}, the template renders ${JSON.stringify(rest[key])}`,
          );
        }
      }
    } catch (error) {
      problems.push(
        `connector template does not render: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  // The Connect pods may read exactly the password Secret.
  const secretName = reference?.[2];
  const roles = ofKind(objects, 'Role');
  const grant = roles.find((role) =>
    asArray(role.rules).some(
      (rule) =>
        asArray(at(rule, 'resources')).includes('secrets') &&
        JSON.stringify(asArray(at(rule, 'resourceNames'))) === JSON.stringify([secretName]) &&
        JSON.stringify(asArray(at(rule, 'verbs'))) === JSON.stringify(['get']),
    ),
  );
  if (!grant) problems.push(`no Role grants only "get" on Secret ${String(secretName)}`);
  for (const role of roles) {
    for (const rule of asArray(role.rules)) {
      if (
        asArray(at(rule, 'resources')).includes('secrets') &&
        asArray(at(rule, 'resourceNames')).length === 0
      ) {
        problems.push(`${describe(role)}: grants access to every Secret`);
      }
      if (asArray(at(rule, 'verbs')).includes('*'))
        problems.push(`${describe(role)}: grants every verb`);
    }
  }
  const binding = ofKind(objects, 'RoleBinding').find(
    (b) => at(b, 'roleRef', 'name') === at(grant, 'metadata', 'name'),
  );
  const subjects = asArray(at(binding, 'subjects'));
  if (
    !subjects.some(
      (s) => at(s, 'kind') === 'ServiceAccount' && at(s, 'name') === `${connectName}-connect`,
    )
  ) {
    problems.push(
      `the secret Role is not bound to ServiceAccount ${connectName}-connect (Strimzi's Connect pods)`,
    );
  }
  return problems;
}

/**
 * values.tableConfig reaches every app and the database-setup Job: a ConfigMap with
 * searchsync.yaml, mounted read-only as a directory (a subPath mount never sees an update, and
 * the apps re-read the file live) at the path SEARCHSYNC_CONFIG names.
 */
function checkTableConfig(objects: Manifest[]): Problems {
  const problems: Problems = [];
  const maps = ofKind(objects, 'ConfigMap').filter(
    (m) => typeof at(m, 'data', 'searchsync.yaml') === 'string',
  );
  if (maps.length !== 1)
    problems.push(`expected one ConfigMap with searchsync.yaml, found ${maps.length}`);
  const mapName = asString(at(maps[0], 'metadata', 'name'));
  for (const object of [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'Job')]) {
    const where = describe(object);
    const pod = asRecord(at(object, 'spec', 'template', 'spec'));
    for (const container of asArray(pod.containers)) {
      if (containerEnv(container, TABLE_CONFIG_ENV) !== TABLE_CONFIG_DIR)
        problems.push(`${where}: env ${TABLE_CONFIG_ENV} must be ${TABLE_CONFIG_DIR}`);
      const mount = asArray(at(container, 'volumeMounts')).find(
        (m) => at(m, 'mountPath') === TABLE_CONFIG_DIR,
      );
      if (!mount) {
        problems.push(`${where}: nothing is mounted at ${TABLE_CONFIG_DIR}`);
        continue;
      }
      if (at(mount, 'readOnly') !== true)
        problems.push(`${where}: the table configuration must be mounted readOnly`);
      if (at(mount, 'subPath') !== undefined)
        problems.push(`${where}: the table configuration must not be mounted with subPath`);
      const volume = asArray(pod.volumes).find((v) => at(v, 'name') === at(mount, 'name'));
      if (at(volume, 'configMap', 'name') !== mapName)
        problems.push(`${where}: ${TABLE_CONFIG_DIR} must be the ConfigMap ${mapName ?? '?'}`);
    }
  }
  return problems;
}

/**
 * The database-setup Job runs the pipeline bootstrap from the app image, the same program as
 * docker-compose's `register`, with the database and the switch that says who owns the connector.
 */
function checkDatabaseSetupJob(job: Manifest): Problems {
  const where = describe(job);
  const container = asRecord(asArray(at(job, 'spec', 'template', 'spec', 'containers'))[0]);
  const problems: Problems = [];
  const args = asArray(at(container, 'args'));
  if (args[0] !== BOOTSTRAP_ENTRY)
    problems.push(
      `${where}: runs ${String(args[0])}, expected the pipeline bootstrap ${BOOTSTRAP_ENTRY}`,
    );
  const env = new Set(asArray(at(container, 'env')).map((e) => asString(at(e, 'name'))));
  for (const name of ['DATABASE_URL', 'SEARCHSYNC_SCHEMAS', 'SEARCHSYNC_REGISTER_CONNECTOR'])
    if (!env.has(name)) problems.push(`${where}: env ${name} is missing`);
  return problems;
}

/** Every policy problem of one rendering of the chart. */
export function checkRenderedChart(
  root: string,
  objects: Manifest[],
  expect: ChartExpectations,
): Problems {
  const problems = [
    ...checkDeployments(root, objects, expect),
    ...checkServicesAndBudgets(objects, expect),
    ...checkServiceMonitor(objects, expect),
    ...checkStrimzi(root, objects, expect),
    ...checkSecretsByReference(objects),
    ...checkTableConfig(objects),
  ];
  for (const job of ofKind(objects, 'Job')) {
    problems.push(
      ...checkContainerSecurity(describe(job), asRecord(at(job, 'spec', 'template', 'spec'))),
    );
    if (component(job) === 'database-setup') problems.push(...checkDatabaseSetupJob(job));
  }
  const names = objects.map((o) => `${String(o.kind)}/${String(at(o, 'metadata', 'name'))}`);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) problems.push(`objects rendered twice: ${duplicates.join(', ')}`);
  if (!objects.every((o) => isRecord(o.metadata))) problems.push('an object has no metadata');
  return problems;
}

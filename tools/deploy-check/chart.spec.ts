/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- the tests edit rendered manifests freely */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRenderedChart } from './chart-checks';
import { CHART_SCENARIOS, REJECTED_VALUES, type ChartScenario } from './chart-scenarios';
import { CHART_DIR, ensureHelm, helmLint, helmTemplate, parseManifests, renderNotes } from './helm';
import { validateManifests } from './k8s-schema';
import { findRepoRoot } from './repo-paths';

jest.setTimeout(120_000);

const root = findRepoRoot(__dirname);
let helm = '';
const rendered = new Map<string, Record<string, unknown>[]>();

beforeAll(() => {
  helm = ensureHelm(root);
  for (const scenario of CHART_SCENARIOS) {
    const result = helmTemplate(root, helm, scenario.options);
    if (!result.ok) throw new Error(`${scenario.name}: ${result.stderr}`);
    rendered.set(scenario.name, parseManifests(result.stdout));
  }
});

const [defaults, withOperator, fixedReplicas, strimzi] = CHART_SCENARIOS;

/**
 * A deep copy of one scenario's objects with one change applied, and the problems the chart
 * checks find (with `schemas`, also the Kubernetes schema validation, which takes a second).
 */
function problemsAfter(
  scenario: ChartScenario,
  edit: (objects: any[]) => void,
  schemas = false,
): string {
  const objects = structuredClone(rendered.get(scenario.name)) as any[];
  edit(objects);
  return [
    ...(schemas ? validateManifests(root, objects) : []),
    ...checkRenderedChart(root, objects, scenario.expect),
  ].join('\n');
}

const byComponent = (objects: any[], kind: string, component: string) =>
  objects.find(
    (o) => o.kind === kind && o.metadata.labels['app.kubernetes.io/component'] === component,
  );
const container = (objects: any[], component: string) =>
  byComponent(objects, 'Deployment', component).spec.template.spec.containers[0];

describe('helm chart deploy/helm/searchsync', () => {
  it('passes helm lint --strict, with defaults and with Strimzi', () => {
    for (const scenario of [defaults, strimzi]) {
      const result = helmLint(root, helm, scenario.options);
      expect(`${result.stdout}${result.stderr}`).toMatch(/0 chart\(s\) failed/);
      expect(result.ok).toBe(true);
    }
  });

  it.each(CHART_SCENARIOS.map((s) => [s.name, s] as const))(
    'renders valid manifests: %s',
    (_name, scenario) => {
      const objects = rendered.get(scenario.name) ?? [];
      expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(3);
      expect(validateManifests(root, objects)).toEqual([]);
      expect(checkRenderedChart(root, objects, scenario.expect)).toEqual([]);
    },
  );

  it('gates the ServiceMonitor on the monitoring.coreos.com/v1 API', () => {
    const kinds = (name: string) => (rendered.get(name) ?? []).map((o) => o.kind);
    expect(kinds(defaults.name)).not.toContain('ServiceMonitor');
    expect(kinds(withOperator.name)).toContain('ServiceMonitor');
    expect(kinds(fixedReplicas.name)).not.toContain('HorizontalPodAutoscaler');
  });

  it('keeps files/debezium-postgres.json identical to connectors/debezium-postgres.json', () => {
    expect(readFileSync(join(root, CHART_DIR, 'files', 'debezium-postgres.json'), 'utf8')).toBe(
      readFileSync(join(root, 'connectors', 'debezium-postgres.json'), 'utf8'),
    );
  });

  it('puts values.tableConfig into the ConfigMap the apps mount at /etc/searchsync', () => {
    const map = (scenario: ChartScenario) =>
      rendered
        .get(scenario.name)!
        .find(
          (o: any) => o.kind === 'ConfigMap' && o.data?.['searchsync.yaml'] !== undefined,
        ) as any;
    expect(map(strimzi).data['searchsync.yaml']).toBe(
      'tables:\n  staff:\n    exclude: [password]\n',
    );
    // Unset: a file that configures nothing, so the mount is always there.
    expect(map(defaults).data['searchsync.yaml']).toMatch(/^# No table configured/);
    // No checksum annotation: the apps re-read the file, a change must not roll the pods.
    const deployment = byComponent(rendered.get(defaults.name)!, 'Deployment', 'api');
    expect(deployment.spec.template.metadata.annotations ?? {}).toEqual({});
  });

  it('renders NOTES.txt', () => {
    expect(renderNotes(root, helm, defaults.options)).toMatch(
      /create secret generic searchsync[\s\S]*no ServiceMonitor was created/,
    );
    expect(renderNotes(root, helm, strimzi.options)).toMatch(/KafkaConnector "orders-postgres"/);
  });

  it.each(REJECTED_VALUES.map((r) => [r.name, r] as const))('refuses %s', (_name, rejected) => {
    const result = helmTemplate(root, helm, rejected.options);
    expect(result.ok).toBe(false);
    expect(result.stderr).toMatch(rejected.error);
  });
});

describe('the checks of a rendered chart fail when something required is gone', () => {
  it.each<[string, (objects: any[]) => void, RegExp]>([
    [
      'a Deployment',
      (o) => o.splice(o.indexOf(byComponent(o, 'Deployment', 'indexer')), 1),
      /Deployments for \[api, connector-admin\], expected/,
    ],
    [
      'the readiness probe',
      (o) => delete container(o, 'api').readinessProbe,
      /api.*readinessProbe must be httpGet \/health/,
    ],
    [
      '/health as probe path',
      (o) => (container(o, 'indexer').readinessProbe.httpGet.path = '/metrics'),
      /readinessProbe must be httpGet \/health/,
    ],
    [
      'the liveness probe',
      (o) => delete container(o, 'connector-admin').livenessProbe,
      /livenessProbe is missing/,
    ],
    [
      'resource requests',
      (o) => delete container(o, 'api').resources.requests,
      /resources\.requests\.cpu is missing/,
    ],
    [
      'the memory limit',
      (o) => delete container(o, 'indexer').resources.limits,
      /resources\.limits\.memory is missing/,
    ],
    [
      'the read-only root file system',
      (o) => (container(o, 'api').securityContext.readOnlyRootFilesystem = false),
      /readOnlyRootFilesystem must be true/,
    ],
    [
      'runAsNonRoot',
      (o) =>
        (byComponent(o, 'Deployment', 'indexer').spec.template.spec.securityContext.runAsNonRoot =
          false),
      /runAsNonRoot must be true/,
    ],
    [
      'dropped capabilities',
      (o) => delete container(o, 'api').securityContext.capabilities,
      /must drop ALL capabilities/,
    ],
    [
      'the api HPA',
      (o) => o.splice(o.indexOf(byComponent(o, 'HorizontalPodAutoscaler', 'api')), 1),
      /HorizontalPodAutoscalers for \[indexer\], expected \[api, indexer\]/,
    ],
    [
      'a PodDisruptionBudget',
      (o) => o.splice(o.indexOf(byComponent(o, 'PodDisruptionBudget', 'connector-admin')), 1),
      /connector-admin: no PodDisruptionBudget/,
    ],
    [
      'a Service',
      (o) => o.splice(o.indexOf(byComponent(o, 'Service', 'api')), 1),
      /api: no Service selects its pods/,
    ],
    [
      'the ServiceMonitor',
      (o) =>
        o.splice(
          o.findIndex((x) => x.kind === 'ServiceMonitor'),
          1,
        ),
      /expected one ServiceMonitor, found 0/,
    ],
    [
      'the pipeline bootstrap in the database-setup Job',
      (o) =>
        (byComponent(o, 'Job', 'database-setup').spec.template.spec.containers[0].args = [
          'deploy/compose/register-connector.mjs',
        ]),
      /database-setup.*expected the pipeline bootstrap dist\/tools\/pipeline-bootstrap\/main\.js/,
    ],
    [
      'the connector switch of the database-setup Job',
      (o) => {
        const job = byComponent(o, 'Job', 'database-setup').spec.template.spec.containers[0];
        job.env = job.env.filter((e: any) => e.name !== 'SEARCHSYNC_REGISTER_CONNECTOR');
      },
      /database-setup.*env SEARCHSYNC_REGISTER_CONNECTOR is missing/,
    ],
    [
      'a required variable',
      (o) =>
        (container(o, 'indexer').env = container(o, 'indexer').env.filter(
          (e: any) => e.name !== 'KAFKA_BROKERS',
        )),
      /indexer.*env KAFKA_BROKERS is missing/,
    ],
    [
      'the secret reference of DATABASE_URL',
      (o) =>
        (container(o, 'api').env.find((e: any) => e.name === 'DATABASE_URL').valueFrom = undefined),
      /DATABASE_URL must come from a secretKeyRef/,
    ],
    [
      'the table configuration mount',
      (o) =>
        (container(o, 'indexer').volumeMounts = container(o, 'indexer').volumeMounts.filter(
          (m: any) => m.mountPath !== '/etc/searchsync',
        )),
      /indexer: nothing is mounted at \/etc\/searchsync/,
    ],
    [
      'the table configuration ConfigMap',
      (o) =>
        o.splice(
          o.findIndex((x) => x.kind === 'ConfigMap' && x.data?.['searchsync.yaml'] !== undefined),
          1,
        ),
      /expected one ConfigMap with searchsync\.yaml, found 0/,
    ],
  ])('removed: %s', (_name, edit, problem) => {
    expect(problemsAfter(withOperator, edit)).toMatch(problem);
  });

  it.each<[string, (objects: any[]) => void, RegExp]>([
    [
      'an inline database password',
      (o) =>
        (container(o, 'api').env.find((e: any) => e.name === 'DATABASE_URL').value =
          'postgres://u:p@db/app'),
      /DATABASE_URL has a literal value[\s\S]*URL with an inline password|URL with an inline password/,
    ],
    [
      'a rendered Secret',
      (o) =>
        o.push({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's' },
          stringData: { a: 'b' },
        }),
      /must not create Secrets/,
    ],
    [
      'an indexer HPA above the partitions',
      (o) => (byComponent(o, 'HorizontalPodAutoscaler', 'indexer').spec.maxReplicas = 9),
      /maxReplicas 9 exceeds the 3 partitions/,
    ],
    [
      'replicas next to an HPA',
      (o) => (byComponent(o, 'Deployment', 'api').spec.replicas = 2),
      /spec\.replicas must be left to the HPA/,
    ],
    [
      'an app on loopback',
      (o) => (container(o, 'api').env.find((e: any) => e.name === 'API_HOST').value = '127.0.0.1'),
      /API_HOST must be 0\.0\.0\.0/,
    ],
    [
      'a variable no app reads',
      (o) => container(o, 'api').env.push({ name: 'API_PROT', value: '1' }),
      /env API_PROT is not read by api/,
    ],
    [
      'the wrong entry point',
      (o) => (container(o, 'indexer').args = ['dist/apps/api/src/main.js']),
      /runs dist\/apps\/api\/src\/main\.js, expected dist\/apps\/indexer/,
    ],
    [
      'a subPath mount of the table configuration (never updated)',
      (o) =>
        (container(o, 'api').volumeMounts.find(
          (m: any) => m.mountPath === '/etc/searchsync',
        ).subPath = 'searchsync.yaml'),
      /api: the table configuration must not be mounted with subPath/,
    ],
    [
      'a Service pointing at no container port',
      (o) => (byComponent(o, 'Service', 'api').spec.ports[0].targetPort = 'web'),
      /targetPort web is not a container port/,
    ],
  ])('added: %s', (_name, edit, problem) => {
    expect(problemsAfter(withOperator, edit)).toMatch(problem);
  });

  it('validates the edited objects against the Kubernetes schemas', () => {
    expect(
      problemsAfter(withOperator, (o) => (container(o, 'api').readinesProbe = {}), true),
    ).toMatch(/'"readinesProbe"' does not exist/);
    expect(
      problemsAfter(
        withOperator,
        (o) => (container(o, 'api').ports[0].containerPort = '3000'),
        true,
      ),
    ).toMatch(/containerPort must be integer/);
    expect(
      problemsAfter(
        strimzi,
        (o) => (o.find((x) => x.kind === 'KafkaConnector').spec.tasksMax = 0),
        true,
      ),
    ).toMatch(/tasksMax must be an integer >= 1/);
  });

  it('notices a ServiceMonitor the cluster cannot take', () => {
    const objects = [...(rendered.get(withOperator.name) ?? [])];
    expect(checkRenderedChart(root, objects, defaults.expect).join('\n')).toMatch(
      /ServiceMonitor rendered although/,
    );
  });

  it.each<[string, (objects: any[]) => void, RegExp]>([
    [
      'a connector value that differs from the template',
      (o) =>
        (o.find((x) => x.kind === 'KafkaConnector').spec.config['decimal.handling.mode'] =
          'double'),
      /config decimal\.handling\.mode is "double", the template renders "string"/,
    ],
    [
      'an inline connector password',
      (o) =>
        (o.find((x) => x.kind === 'KafkaConnector').spec.config['database.password'] = 'hunter2'),
      /database\.password must be a \$\{secrets:/,
    ],
    [
      'the secret provider',
      (o) => delete o.find((x) => x.kind === 'KafkaConnect').spec.config['config.providers'],
      /KubernetesSecretConfigProvider/,
    ],
    [
      'JSON schemas',
      (o) =>
        (o.find((x) => x.kind === 'KafkaConnect').spec.config['value.converter.schemas.enable'] =
          false),
      /value\.converter\.schemas\.enable must be true/,
    ],
    [
      'the secret Role',
      (o) =>
        o.splice(
          o.findIndex((x) => x.kind === 'Role'),
          1,
        ),
      /no Role grants only "get" on Secret orders-debezium/,
    ],
    [
      'a Role over every Secret',
      (o) => delete o.find((x) => x.kind === 'Role').rules[0].resourceNames,
      /grants access to every Secret/,
    ],
    [
      'the Connect service account binding',
      (o) => (o.find((x) => x.kind === 'RoleBinding').subjects[0].name = 'default'),
      /not bound to ServiceAccount searchsync-connect-connect/,
    ],
  ])('Strimzi: %s', (_name, edit, problem) => {
    expect(problemsAfter(strimzi, edit)).toMatch(problem);
  });
});

/**
 * `npm run check:deploy`: every offline validation of docker-compose.yml, the Dockerfiles, the
 * Helm chart and the Terraform module, and the variable tables of the docs (see docs/deploy.md,
 * "How the deployment is checked").
 * Prints one line per check and every problem found; exits 1 when there is any.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRenderedChart } from './chart-checks';
import { CHART_SCENARIOS, REJECTED_VALUES } from './chart-scenarios';
import { COMPOSE_FILE, checkCompose, loadCompose } from './compose-checks';
import { COMPOSE_INSTALL, composeConfig, findComposeCli, skipBanner } from './compose-cli';
import type { Problems } from './data-access';
import { checkEnvDocs } from './env-docs';
import {
  CONNECT_DOCKERFILE,
  CONNECT_PROPERTIES,
  checkAppDockerfile,
  checkConnectImage,
  readDockerignore,
} from './dockerfile-checks';
import { ensureHelm, helmLint, helmTemplate, parseManifests, renderNotes } from './helm';
import { validateManifests } from './k8s-schema';
import { findRepoRoot } from './repo-paths';
import { TERRAFORM_DIR, checkTerraform, loadTerraform } from './terraform-checks';

interface Outcome {
  problems: Problems;
  note?: string;
  skipped?: boolean;
}

const results: { title: string; outcome: Outcome; ms: number }[] = [];

async function check(title: string, run: () => Outcome | Promise<Outcome>): Promise<void> {
  const began = Date.now();
  let outcome: Outcome;
  try {
    outcome = await run();
  } catch (error) {
    outcome = { problems: [error instanceof Error ? error.message : String(error)] };
  }
  const ms = Date.now() - began;
  results.push({ title, outcome, ms });
  const mark = outcome.skipped ? '-' : outcome.problems.length === 0 ? '✓' : '✗';
  const note = outcome.note ? ` — ${outcome.note}` : '';
  console.log(`${mark} ${title}${note} (${ms} ms)`);
  for (const problem of outcome.problems) console.log(`    ${problem}`);
}

async function main(): Promise<number> {
  const began = Date.now();
  const root = findRepoRoot();
  const read = (path: string) => readFileSync(join(root, path), 'utf8');
  console.log('searchsync deploy checks (offline)\n');

  // --- Docker ----------------------------------------------------------------------------------
  await check('Dockerfile + .dockerignore (multi-stage, Node 24, non-root, entry points)', () => ({
    problems: checkAppDockerfile(root, read('Dockerfile'), readDockerignore(root)),
  }));
  await check(
    `${CONNECT_DOCKERFILE} + connect-distributed.properties (Kafka Connect + Debezium)`,
    () => ({
      problems: checkConnectImage(root, read(CONNECT_DOCKERFILE), read(CONNECT_PROPERTIES)),
    }),
  );
  await check(`${COMPOSE_FILE}: structure, healthchecks, depends_on, env names, addresses`, () => ({
    problems: checkCompose(root, loadCompose(read(COMPOSE_FILE))),
  }));
  await check(`${COMPOSE_FILE}: compose config -q`, () => {
    const cli = findComposeCli();
    if (!cli) {
      console.log(
        skipBanner(
          `${COMPOSE_FILE}: compose config -q (the structural checks above still ran)`,
          'neither `docker compose` nor `docker-compose` is available',
          COMPOSE_INSTALL,
        ),
      );
      return {
        problems: [],
        skipped: true,
        note: `skipped: no compose CLI (install: ${COMPOSE_INSTALL})`,
      };
    }
    const result = composeConfig(root, cli);
    return { problems: result.ok ? [] : [result.output], note: cli.version };
  });

  // --- Helm ------------------------------------------------------------------------------------
  let helm = '';
  await check('helm binary', () => {
    helm = ensureHelm(root);
    return { problems: [], note: helm.replace(`${root}/`, '') };
  });
  if (helm) {
    for (const scenario of [CHART_SCENARIOS[0], CHART_SCENARIOS[CHART_SCENARIOS.length - 1]]) {
      await check(`helm lint --strict (${scenario.name})`, () => {
        const result = helmLint(root, helm, scenario.options);
        return { problems: result.ok ? [] : [`${result.stdout}${result.stderr}`.trim()] };
      });
    }
    for (const scenario of CHART_SCENARIOS) {
      await check(`helm template: ${scenario.name}`, () => {
        const result = helmTemplate(root, helm, scenario.options);
        if (!result.ok) return { problems: [result.stderr.trim()] };
        const objects = parseManifests(result.stdout);
        const kinds = objects.map((o) => String(o.kind));
        const count = (kind: string) => kinds.filter((k) => k === kind).length;
        const schemaProblems = validateManifests(root, objects);
        return {
          problems: [...schemaProblems, ...checkRenderedChart(root, objects, scenario.expect)],
          note: `${objects.length} objects (${count('Deployment')} Deployments, ${count('HorizontalPodAutoscaler')} HPAs, ${count('ServiceMonitor')} ServiceMonitor, ${count('KafkaConnector')} KafkaConnector)${schemaProblems.length === 0 ? ', Kubernetes schemas ok' : ''}`,
        };
      });
    }
    for (const rejected of REJECTED_VALUES) {
      await check(`helm template refuses ${rejected.name}`, () => {
        const result = helmTemplate(root, helm, rejected.options);
        if (result.ok) return { problems: ['the chart rendered these values'] };
        return rejected.error.test(result.stderr)
          ? { problems: [] }
          : { problems: [`wrong reason: ${result.stderr.trim()}`] };
      });
    }
    await check('NOTES.txt renders (defaults and Strimzi)', () => {
      const problems: Problems = [];
      const plain = renderNotes(root, helm, CHART_SCENARIOS[0].options);
      if (!/create secret generic searchsync/.test(plain))
        problems.push('NOTES.txt must say how to create the existing Secret');
      if (!/no ServiceMonitor/.test(plain))
        problems.push('NOTES.txt must say when the ServiceMonitor is skipped');
      const strimzi = renderNotes(root, helm, CHART_SCENARIOS[CHART_SCENARIOS.length - 1].options);
      if (!/KafkaConnector/.test(strimzi))
        problems.push('NOTES.txt must describe the Strimzi resources when enabled');
      return { problems };
    });
  }

  // --- Terraform -------------------------------------------------------------------------------
  await check(
    `${TERRAFORM_DIR}: HCL parses (@cdktf/hcl2json); resources, variables, IAM, no inline secrets`,
    async () => {
      const { module, problems } = await loadTerraform(root);
      const resources = Object.values(module.resource).reduce(
        (n, byName) => n + Object.keys(byName).length,
        0,
      );
      return {
        problems: [...problems, ...checkTerraform(root, module)],
        note: `${Object.keys(module.files).length} files, ${resources} resources, ${Object.keys(module.variable).length} variables, ${Object.keys(module.output).length} outputs`,
      };
    },
  );

  // --- Docs ------------------------------------------------------------------------------------
  await check(
    'README.md + docs/deploy.md: a table row for every variable of the apps, the bootstrap and the connector template',
    () => ({ problems: checkEnvDocs(root) }),
  );

  const failed = results.filter((r) => r.outcome.problems.length > 0);
  const skipped = results.filter((r) => r.outcome.skipped);
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  console.log(
    failed.length === 0
      ? `\nall ${results.length - skipped.length} deploy checks passed${skipped.length ? `, ${skipped.length} skipped` : ''} in ${seconds}s`
      : `\n${failed.length} of ${results.length} deploy checks FAILED in ${seconds}s`,
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);

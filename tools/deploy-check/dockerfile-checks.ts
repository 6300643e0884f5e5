import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  APPS,
  BOOTSTRAP_ENTRY,
  BOOTSTRAP_SOURCE_DIR,
  TABLE_CONFIG_DIR,
  TABLE_CONFIG_ENV,
} from './app-facts';
import type { Problems } from './data-access';

export interface Instruction {
  instruction: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  /** The base image with build arguments resolved to their defaults. */
  from: string;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, continuation lines joined. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (!pending && /^\s*(#.*)?$/.test(line)) return;
    if (pending && /^\s*#/.test(line)) return;
    if (!pending) start = index + 1;
    if (/\\\s*$/.test(line)) {
      pending += line.replace(/\\\s*$/, ' ');
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match)
      instructions.push({
        instruction: match[1].toUpperCase(),
        args: match[2].trim(),
        line: start,
      });
  });
  return instructions;
}

function substitute(text: string, args: Record<string, string>): string {
  return text.replace(
    /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
    (whole, name: string) => args[name] ?? whole,
  );
}

/** The build stages, with ARG defaults (global and per stage) substituted. */
export function stages(instructions: Instruction[]): Stage[] {
  const globalArgs: Record<string, string> = {};
  const result: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.instruction === 'FROM') {
      const [image, as, name] = instruction.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      result.push({
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        from: substitute(image, globalArgs),
        instructions: [],
      });
      continue;
    }
    if (result.length === 0) {
      if (instruction.instruction === 'ARG') {
        const [key, value] = instruction.args.split('=');
        if (value !== undefined) globalArgs[key] = value;
      }
      continue;
    }
    result[result.length - 1].instructions.push(instruction);
  }
  return result;
}

/** ARG defaults visible in one stage (global ones and its own). */
function stageArgs(instructions: Instruction[], stage: Stage): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of [
    ...instructions.filter((i) => i.instruction === 'ARG'),
    ...stage.instructions.filter((i) => i.instruction === 'ARG'),
  ]) {
    const [key, value] = instruction.args.split('=');
    if (value !== undefined) args[key] = value;
  }
  return args;
}

/** JSON-array (exec) form of CMD / ENTRYPOINT, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

// --- .dockerignore ----------------------------------------------------------------------------

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether .dockerignore keeps `path` (relative to the context) out of the build context. */
export function ignoredByDockerignore(patterns: string[], path: string): boolean {
  const segments = path.split('/');
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = globToRegExp(pattern);
    const matches = segments.some((_, i) => regex.test(segments.slice(0, i + 1).join('/')));
    if (matches) ignored = !negate;
  }
  return ignored;
}

export function readDockerignore(root: string): string[] {
  const file = join(root, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

// --- the app image ----------------------------------------------------------------------------

/** The sources `COPY` brings from the context into a stage (the last argument is the target). */
function contextSources(stage: Stage): string[] {
  return stage.instructions
    .filter((i) => i.instruction === 'COPY' && !/--from=/.test(i.args))
    .flatMap((i) =>
      i.args
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(0, -1),
    )
    .map((source) => source.replace(/^\.\//, '').replace(/\/+$/, ''));
}

/**
 * The pipeline bootstrap (compose's `register`, the chart's Job) is compiled into dist with the
 * apps: tsconfig.build.json must include tools/, and the stage that runs `tsc -b` must have its
 * sources (tools/ itself or tools/pipeline-bootstrap).
 */
export function checkBootstrapBuild(root: string, all: Stage[]): Problems {
  const problems: Problems = [];
  const buildConfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
    include?: string[];
  };
  if (!(buildConfig.include ?? []).some((dir) => dir.replace(/\/.*$/, '') === 'tools'))
    problems.push(
      `tsconfig.build.json: include must hold tools (${BOOTSTRAP_ENTRY} is built from it)`,
    );
  const build = all.find((stage) =>
    stage.instructions.some(
      (i) => i.instruction === 'RUN' && /tsc\S*\s+-b\s+tsconfig\.build\.json/.test(i.args),
    ),
  );
  const sources = build ? contextSources(build) : [];
  if (!sources.some((s) => s === 'tools' || s === BOOTSTRAP_SOURCE_DIR))
    problems.push(
      `Dockerfile: the build stage must COPY ${BOOTSTRAP_SOURCE_DIR} (${BOOTSTRAP_ENTRY}, run by compose's register and the chart's Job)`,
    );
  return problems;
}

const NODE_24 = /^node:24([.-]|$)/;

/** Problems of the repository's app Dockerfile (with its .dockerignore). */
export function checkAppDockerfile(root: string, text: string, dockerignore: string[]): Problems {
  const problems: Problems = [];
  const instructions = parseDockerfile(text);
  const all = stages(instructions);
  if (all.length < 2)
    return ['Dockerfile: must be a multi-stage build (build stage + runtime stage)'];
  const runtime = all[all.length - 1];
  const names = new Set(all.map((s) => s.name).filter(Boolean));

  for (const stage of all) {
    const base = stage.from.split(' ')[0];
    if (!names.has(base) && !NODE_24.test(base))
      problems.push(`Dockerfile: stage ${stage.name ?? '?'} is based on ${base}, expected node:24`);
  }
  const runs = (stage: Stage) =>
    stage.instructions
      .filter((i) => i.instruction === 'RUN')
      .map((i) => i.args)
      .join('\n');
  const allRuns = all.map(runs).join('\n');
  if (
    !/tsc(\.js)?\S*\s+-b\s+tsconfig\.build\.json/.test(
      allRuns.replace(/node_modules\/typescript\/bin\//g, ''),
    )
  ) {
    problems.push('Dockerfile: no stage builds with `tsc -b tsconfig.build.json`');
  }
  if (
    !/tsc-alias\S*\s+-p\s+tsconfig\.build\.json/.test(
      allRuns.replace(/node_modules\/tsc-alias\/dist\/bin\/index\.js/g, 'tsc-alias'),
    )
  ) {
    problems.push(
      'Dockerfile: no stage rewrites path aliases with `tsc-alias -p tsconfig.build.json`',
    );
  }
  if (!/npm ci\b/.test(allRuns))
    problems.push('Dockerfile: dependencies must be installed with `npm ci` (the lock file)');

  const runtimeCopies = runtime.instructions.filter((i) => i.instruction === 'COPY');
  const fromStage = (copy: Instruction) => /--from=(\S+)/.exec(copy.args)?.[1];
  const modulesCopy = runtimeCopies.find((c) => /node_modules/.test(c.args) && fromStage(c));
  const modulesStage = all.find(
    (s) => s.name === (modulesCopy ? fromStage(modulesCopy) : undefined),
  );
  if (!modulesStage || !/npm ci[^\n]*--omit=dev/.test(runs(modulesStage))) {
    problems.push(
      'Dockerfile: the runtime image must take node_modules from an `npm ci --omit=dev` stage',
    );
  }
  if (!runtimeCopies.some((c) => fromStage(c) && /\/dist\b/.test(c.args)))
    problems.push('Dockerfile: the runtime image does not copy dist/ from the build stage');
  // The connector template the pipeline bootstrap renders, and the admin's templates directory.
  if (!runtimeCopies.some((c) => !fromStage(c) && c.args.split(/\s+/).includes('connectors')))
    problems.push('Dockerfile: the runtime image must COPY connectors');
  problems.push(...checkBootstrapBuild(root, all));

  // Every file copied from the context exists and is not excluded by .dockerignore.
  for (const stage of all) {
    for (const copy of stage.instructions.filter(
      (i) => i.instruction === 'COPY' && !fromStage(i),
    )) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        if (!existsSync(join(root, source)))
          problems.push(
            `Dockerfile line ${copy.line}: COPY ${source}: no such file in the repository`,
          );
        else if (ignoredByDockerignore(dockerignore, source))
          problems.push(
            `Dockerfile line ${copy.line}: COPY ${source} is excluded by .dockerignore`,
          );
      }
    }
  }
  for (const path of ['node_modules', 'dist', '.git', '.stack', '.env']) {
    if (!ignoredByDockerignore(dockerignore, path))
      problems.push(`.dockerignore must exclude ${path}`);
  }

  const user = runtime.instructions
    .filter((i) => i.instruction === 'USER')
    .pop()
    ?.args.split(':')[0];
  if (!user || user === 'root' || user === '0')
    problems.push('Dockerfile: the runtime stage must switch to a non-root USER');
  else if (!/^[0-9]+$/.test(user))
    problems.push('Dockerfile: USER should be numeric so Kubernetes runAsNonRoot can verify it');

  const env = runtime.instructions
    .filter((i) => i.instruction === 'ENV')
    .map((i) => i.args)
    .join(' ');
  for (const app of APPS) {
    if (!new RegExp(`\\b${app.hostEnv}=0\\.0\\.0\\.0\\b`).test(env))
      problems.push(`Dockerfile: runtime ENV ${app.hostEnv}=0.0.0.0 is missing`);
  }
  // Where docker-compose and the chart mount the table configuration.
  if (!env.split(/\s+/).includes(`${TABLE_CONFIG_ENV}=${TABLE_CONFIG_DIR}`))
    problems.push(`Dockerfile: runtime ENV ${TABLE_CONFIG_ENV}=${TABLE_CONFIG_DIR} is missing`);
  const exposed = runtime.instructions
    .filter((i) => i.instruction === 'EXPOSE')
    .flatMap((i) => i.args.split(/\s+/));
  for (const app of APPS) {
    if (!exposed.includes(String(app.port)))
      problems.push(`Dockerfile: EXPOSE ${app.port} (${app.name}) is missing`);
  }
  const entrypoint =
    execForm(
      runtime.instructions.filter((i) => i.instruction === 'ENTRYPOINT').pop()?.args ?? '',
    ) ?? [];
  const cmd =
    execForm(runtime.instructions.filter((i) => i.instruction === 'CMD').pop()?.args ?? '') ?? [];
  const command = [...entrypoint, ...cmd];
  if (command[0] !== 'node') problems.push('Dockerfile: ENTRYPOINT/CMD must run node (exec form)');
  if (!APPS.some((app) => command.includes(app.entry)))
    problems.push('Dockerfile: the default command must start one of the apps');
  return problems;
}

// --- the Kafka Connect image (docker-compose) --------------------------------------------------

export const CONNECT_DOCKERFILE = join('deploy', 'compose', 'connect.Dockerfile');
export const CONNECT_PROPERTIES = join('deploy', 'compose', 'connect-distributed.properties');

export function parseProperties(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([^#!\s][^=:]*?)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (match) result[match[1]] = match[2];
  }
  return result;
}

/** The Kafka and Debezium versions of the no-Docker local stack (deploy/local/kafka/pom.xml). */
export function localStackVersions(root: string): { kafka?: string; debezium?: string } {
  const pom = readFileSync(join(root, 'deploy', 'local', 'kafka', 'pom.xml'), 'utf8');
  return {
    kafka: /<kafka\.version>([^<]+)</.exec(pom)?.[1],
    debezium: /<debezium\.version>([^<]+)</.exec(pom)?.[1],
  };
}

export function checkConnectImage(root: string, dockerfile: string, properties: string): Problems {
  const problems: Problems = [];
  const instructions = parseDockerfile(dockerfile);
  const all = stages(instructions);
  const runtime = all[all.length - 1];
  if (!runtime) return [`${CONNECT_DOCKERFILE}: no FROM`];
  const versions = localStackVersions(root);
  if (runtime.from !== `apache/kafka:${versions.kafka}`) {
    problems.push(
      `${CONNECT_DOCKERFILE}: Connect runs ${runtime.from}, the local stack runs apache Kafka ${versions.kafka}`,
    );
  }
  const plugin = all.find((s) =>
    runtime.instructions.some(
      (i) => i.instruction === 'COPY' && i.args.includes(`--from=${s.name}`),
    ),
  );
  if (!plugin)
    return [
      ...problems,
      `${CONNECT_DOCKERFILE}: the Debezium plugin is not copied from a build stage`,
    ];
  const args = stageArgs(instructions, plugin);
  if (args.DEBEZIUM_VERSION !== versions.debezium) {
    problems.push(
      `${CONNECT_DOCKERFILE}: Debezium ${args.DEBEZIUM_VERSION}, the local stack runs ${versions.debezium}`,
    );
  }
  const pluginText = plugin.instructions
    .map((i) => substitute(`${i.instruction} ${i.args}`, args))
    .join('\n');
  if (
    !pluginText.includes(
      `https://repo1.maven.org/maven2/io/debezium/debezium-connector-postgres/${versions.debezium}/debezium-connector-postgres-${versions.debezium}-plugin.tar.gz`,
    )
  ) {
    problems.push(
      `${CONNECT_DOCKERFILE}: the plugin must come from Maven Central (debezium-connector-postgres-${versions.debezium}-plugin.tar.gz)`,
    );
  }
  if (
    !/^[0-9a-f]{64}$/.test(args.DEBEZIUM_PLUGIN_SHA256 ?? '') ||
    !/sha256sum -c/.test(pluginText)
  ) {
    problems.push(`${CONNECT_DOCKERFILE}: the plugin download must be verified with sha256sum -c`);
  }
  const props = parseProperties(properties);
  const pluginCopy = runtime.instructions.find(
    (i) => i.instruction === 'COPY' && i.args.includes(`--from=${plugin.name}`),
  );
  const pluginTarget = pluginCopy?.args.split(/\s+/).pop();
  if (!pluginTarget || props['plugin.path'] !== pluginTarget) {
    problems.push(
      `${CONNECT_PROPERTIES}: plugin.path (${props['plugin.path']}) is not where the image puts the plugin (${pluginTarget})`,
    );
  }
  for (const side of ['key', 'value']) {
    if (props[`${side}.converter`] !== 'org.apache.kafka.connect.json.JsonConverter')
      problems.push(`${CONNECT_PROPERTIES}: ${side}.converter must be the JsonConverter`);
    if (props[`${side}.converter.schemas.enable`] !== 'true')
      problems.push(`${CONNECT_PROPERTIES}: ${side}.converter.schemas.enable must be true`);
  }
  for (const key of [
    'bootstrap.servers',
    'group.id',
    'config.storage.topic',
    'offset.storage.topic',
    'status.storage.topic',
    'listeners',
  ]) {
    if (!props[key]) problems.push(`${CONNECT_PROPERTIES}: ${key} is missing`);
  }
  const propertiesCopy = runtime.instructions.find(
    (i) => i.instruction === 'COPY' && i.args.startsWith('connect-distributed.properties'),
  );
  const target = propertiesCopy?.args.split(/\s+/).pop();
  const cmd =
    execForm(runtime.instructions.filter((i) => i.instruction === 'CMD').pop()?.args ?? '') ?? [];
  if (!target || !cmd.some((c) => c.endsWith('connect-distributed.sh')) || !cmd.includes(target)) {
    problems.push(
      `${CONNECT_DOCKERFILE}: CMD must run connect-distributed.sh with the copied connect-distributed.properties`,
    );
  }
  return problems;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONNECT_DOCKERFILE,
  CONNECT_PROPERTIES,
  checkAppDockerfile,
  checkConnectImage,
  ignoredByDockerignore,
  parseDockerfile,
  readDockerignore,
  stages,
} from './dockerfile-checks';
import { findRepoRoot } from './repo-paths';

const root = findRepoRoot(__dirname);
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readDockerignore(root);
const connectDockerfile = readFileSync(join(root, CONNECT_DOCKERFILE), 'utf8');
const connectProperties = readFileSync(join(root, CONNECT_PROPERTIES), 'utf8');

/** The Dockerfile with one text replaced (the replaced text must be there). */
function mutate(text: string, from: string | RegExp, to: string): string {
  const result = text.replace(from, to);
  expect(result).not.toBe(text);
  return result;
}

describe('Dockerfile parsing', () => {
  it('joins continuation lines, drops comments and resolves ARG defaults in FROM', () => {
    const parsed = parseDockerfile(
      'ARG BASE=node:24-slim\n# comment\nFROM ${BASE} AS build\nRUN a \\\n  && b\nFROM build\nUSER 1000\n',
    );
    expect(parsed.map((i) => i.instruction)).toEqual(['ARG', 'FROM', 'RUN', 'FROM', 'USER']);
    expect(parsed[2].args).toBe('a    && b');
    expect(stages(parsed).map((s) => [s.name, s.from])).toEqual([
      ['build', 'node:24-slim'],
      [undefined, 'build'],
    ]);
  });

  it('applies .dockerignore patterns like Docker', () => {
    const patterns = ['node_modules', '**/*.spec.ts', '*.md', 'deploy/local', '!deploy/local/keep'];
    expect(ignoredByDockerignore(patterns, 'node_modules/x/y.js')).toBe(true);
    expect(ignoredByDockerignore(patterns, 'libs/a/src/b.spec.ts')).toBe(true);
    expect(ignoredByDockerignore(patterns, 'README.md')).toBe(true);
    expect(ignoredByDockerignore(patterns, 'docs/README.md')).toBe(false);
    expect(ignoredByDockerignore(patterns, 'deploy/local/kafka/pom.xml')).toBe(true);
    expect(ignoredByDockerignore(patterns, 'deploy/local/keep')).toBe(false);
    expect(ignoredByDockerignore(patterns, 'libs/a/src/b.ts')).toBe(false);
  });
});

describe('the app Dockerfile', () => {
  it('passes', () => {
    expect(checkAppDockerfile(root, dockerfile, dockerignore)).toEqual([]);
  });

  it.each([
    ['a root user', /USER 1000:1000/, 'USER root', /non-root USER/],
    ['no USER at all', /USER 1000:1000\n/, '', /non-root USER/],
    [
      'an old Node',
      'ARG NODE_IMAGE=node:24-bookworm-slim',
      'ARG NODE_IMAGE=node:20-bookworm-slim',
      /expected node:24/,
    ],
    ['no path alias rewrite', /&& node node_modules\/tsc-alias[^\n]*\n/, '\\\n', /tsc-alias/],
    ['dev dependencies in the runtime image', 'npm ci --omit=dev', 'npm ci', /--omit=dev/],
    ['no connector templates', 'COPY connectors ./connectors', '', /COPY connectors/],
    [
      'no pipeline bootstrap in the build',
      'COPY tools/pipeline-bootstrap ./tools/pipeline-bootstrap',
      '',
      /the build stage must COPY tools\/pipeline-bootstrap/,
    ],
    [
      'a file that does not exist',
      'nest-cli.json ./',
      'nest-cli.json missing.json ./',
      /missing\.json: no such file/,
    ],
    ['apps listening on loopback', 'API_HOST=0.0.0.0', 'API_HOST=127.0.0.1', /API_HOST=0\.0\.0\.0/],
    ['a port not exposed', 'EXPOSE 3000 3001 3002', 'EXPOSE 3000 3001', /EXPOSE 3002/],
    [
      'the table configuration elsewhere',
      'SEARCHSYNC_CONFIG=/etc/searchsync',
      'SEARCHSYNC_CONFIG=/app/searchsync.yaml',
      /SEARCHSYNC_CONFIG=\/etc\/searchsync is missing/,
    ],
    [
      'no app as the default command',
      'CMD ["dist/apps/api/src/main.js"]',
      'CMD ["server.js"]',
      /start one of the apps/,
    ],
    [
      'a single stage',
      /FROM \$\{NODE_IMAGE\} AS (deps|build|prod-deps)\n/g,
      '',
      /multi-stage|npm ci|--omit=dev/,
    ],
  ])('fails with %s', (_name, from, to, problem) => {
    const problems = checkAppDockerfile(root, mutate(dockerfile, from, to), dockerignore);
    expect(problems.join('\n')).toMatch(problem);
  });

  it('fails when .dockerignore lets node_modules or .env in, or keeps a copied source out', () => {
    expect(
      checkAppDockerfile(
        root,
        dockerfile,
        dockerignore.filter((p) => p !== 'node_modules'),
      ).join('\n'),
    ).toMatch(/must exclude node_modules/);
    expect(
      checkAppDockerfile(
        root,
        dockerfile,
        dockerignore.filter((p) => p !== '.env'),
      ).join('\n'),
    ).toMatch(/must exclude \.env/);
    expect(checkAppDockerfile(root, dockerfile, [...dockerignore, 'libs']).join('\n')).toMatch(
      /COPY libs is excluded by \.dockerignore/,
    );
    expect(checkAppDockerfile(root, dockerfile, [...dockerignore, 'tools']).join('\n')).toMatch(
      /COPY tools\/pipeline-bootstrap is excluded by \.dockerignore/,
    );
  });
});

describe('the Kafka Connect image', () => {
  it('passes', () => {
    expect(checkConnectImage(root, connectDockerfile, connectProperties)).toEqual([]);
  });

  it.each([
    [
      'another Kafka than the local stack',
      'apache/kafka:4.3.0',
      'apache/kafka:4.4.0',
      /the local stack runs apache Kafka 4\.3\.0/,
    ],
    [
      'another Debezium than the local stack',
      'DEBEZIUM_VERSION=3.6.3.Final',
      'DEBEZIUM_VERSION=3.7.0.Final',
      /Debezium 3\.7\.0\.Final, the local stack runs 3\.6\.3\.Final/,
    ],
    [
      'an unverified download',
      /echo "\$\{DEBEZIUM_PLUGIN_SHA256\} {2}\/tmp\/plugin\.tar\.gz" \| sha256sum -c - \\\n\s+&& /,
      '',
      /sha256sum -c/,
    ],
    [
      'no worker configuration',
      /CMD \[.*\]/,
      'CMD ["/opt/kafka/bin/kafka-server-start.sh"]',
      /connect-distributed\.sh/,
    ],
  ])('fails with %s', (_name, from, to, problem) => {
    expect(
      checkConnectImage(root, mutate(connectDockerfile, from, to), connectProperties).join('\n'),
    ).toMatch(problem);
  });

  it.each([
    [
      'schemas off',
      'value.converter.schemas.enable=true',
      'value.converter.schemas.enable=false',
      /value\.converter\.schemas\.enable must be true/,
    ],
    [
      'another converter',
      'key.converter=org.apache.kafka.connect.json.JsonConverter',
      'key.converter=org.apache.kafka.connect.storage.StringConverter',
      /key\.converter must be the JsonConverter/,
    ],
    [
      'the plugin elsewhere',
      'plugin.path=/opt/kafka/plugins',
      'plugin.path=/usr/share/java',
      /plugin\.path/,
    ],
    ['no storage topic', /offset\.storage\.topic=.*\n/, '', /offset\.storage\.topic is missing/],
  ])('fails when the worker properties have %s', (_name, from, to, problem) => {
    expect(
      checkConnectImage(root, connectDockerfile, mutate(connectProperties, from, to)).join('\n'),
    ).toMatch(problem);
  });
});

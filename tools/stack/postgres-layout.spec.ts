import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preparePostgresLayout, PostgresLayoutError, type LayoutHost } from './postgres-layout';
import { StackPaths } from './stack-paths';

/**
 * The server's user is simulated: the same uid as the test (so chown is a no-op) and a
 * reachability rule that closes the checkout to it, like a 0700 `mktemp -d` folder as root.
 */
describe('preparePostgresLayout', () => {
  let scratch: string;
  let checkout: string;
  let outside: string;
  let paths: StackPaths;
  let lines: string[];
  const say = (line: string) => lines.push(line);

  function host(closed: string[], overrides: Partial<LayoutHost> = {}): LayoutHost {
    const reachable = (dir: string) => !closed.some((c) => dir === c || dir.startsWith(`${c}/`));
    return {
      runAs: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, user: 'pgtest' },
      canWrite: reachable,
      canEnter: reachable,
      outsideParents: [outside],
      isAlive: () => false,
      ...overrides,
    };
  }

  beforeEach(() => {
    scratch = realpathSync(mkdtempSync(join(tmpdir(), 'searchsync-layout-')));
    checkout = join(scratch, 'home', 'clone');
    outside = join(scratch, 'var-tmp');
    mkdirSync(checkout, { recursive: true });
    mkdirSync(outside);
    paths = new StackPaths(checkout);
    lines = [];
  });

  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('keeps the cluster in .stack/data/postgres when the server user can reach it', () => {
    const layout = preparePostgresLayout(paths, host([]), say);
    expect(layout).toEqual({
      home: paths.data('postgres'),
      dataDir: join(paths.data('postgres'), 'pgdata'),
      outside: false,
    });
    expect(lstatSync(paths.data('postgres')).isDirectory()).toBe(true);
    expect(lines).toEqual([]);
  });

  it('never leaves the checkout when not running as another user', () => {
    const layout = preparePostgresLayout(
      paths,
      host([checkout], { runAs: undefined, canWrite: () => false }),
      say,
    );
    expect(layout.home).toBe(paths.data('postgres'));
    expect(layout.outside).toBe(false);
  });

  it('moves the cluster out of a checkout the server user cannot enter, with real paths', () => {
    const layout = preparePostgresLayout(paths, host([join(scratch, 'home')]), say);
    const home = join(outside, `searchsync-${paths.marker}`, 'postgres');
    expect(layout).toEqual({ home, dataDir: join(home, 'pgdata'), outside: true });
    // Nothing handed to the server may pass through the checkout, not even via the link.
    expect(layout.dataDir.startsWith(checkout)).toBe(false);
    expect(readlinkSync(paths.data('postgres'))).toBe(home);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(home);
    expect(lines[0]).toContain(`cannot enter ${join(scratch, 'home')}`);
  });

  it('finds the outside home again through the link on the next start', () => {
    const closed = host([join(scratch, 'home')]);
    const first = preparePostgresLayout(paths, closed, say);
    mkdirSync(first.dataDir);
    writeFileSync(join(first.dataDir, 'PG_VERSION'), '15\n');
    const second = preparePostgresLayout(paths, closed, say);
    expect(second).toEqual(first);
    expect(existsSync(join(second.dataDir, 'PG_VERSION'))).toBe(true);
  });

  it('recreates a removed outside home behind an existing link', () => {
    const closed = host([join(scratch, 'home')]);
    const first = preparePostgresLayout(paths, closed, say);
    rmSync(join(outside, `searchsync-${paths.marker}`), { recursive: true });
    const second = preparePostgresLayout(paths, closed, say);
    expect(second.home).toBe(first.home);
    expect(lstatSync(second.home).isDirectory()).toBe(true);
  });

  it('treats an outside cluster without its link as the leftover of a removed .stack/', () => {
    const closed = host([join(scratch, 'home')]);
    const first = preparePostgresLayout(paths, closed, say);
    mkdirSync(first.dataDir);
    writeFileSync(join(first.dataDir, 'PG_VERSION'), '15\n');
    rmSync(paths.stack, { recursive: true });
    const second = preparePostgresLayout(paths, closed, say);
    expect(second.home).toBe(first.home);
    expect(existsSync(second.dataDir)).toBe(false);
    expect(lines.some((line) => line.includes('left over'))).toBe(true);
  });

  it('removes such leftovers in every outside parent, not only the one it picks', () => {
    const earlier = join(scratch, 'earlier');
    const leftover = join(earlier, `searchsync-${paths.marker}`, 'postgres', 'pgdata');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'PG_VERSION'), '15\n');
    const layout = preparePostgresLayout(
      paths,
      host([join(scratch, 'home')], { outsideParents: [outside, earlier] }),
      say,
    );
    expect(layout.home).toBe(join(outside, `searchsync-${paths.marker}`, 'postgres'));
    expect(existsSync(leftover)).toBe(false);
  });

  it('refuses to remove an outside cluster whose server still runs', () => {
    const first = preparePostgresLayout(paths, host([join(scratch, 'home')]), say);
    mkdirSync(first.dataDir);
    writeFileSync(join(first.dataDir, 'postmaster.pid'), '4242\n/some/dir\n');
    rmSync(paths.stack, { recursive: true });
    const live = host([join(scratch, 'home')], { isAlive: (pid) => pid === 4242 });
    expect(() => preparePostgresLayout(paths, live, say)).toThrow(/still runs .*pid 4242/);
    expect(existsSync(join(first.dataDir, 'postmaster.pid'))).toBe(true);
  });

  it('skips an outside folder it does not own and takes the next parent', () => {
    const second = join(scratch, 'second');
    mkdirSync(second);
    symlinkSync(scratch, join(outside, `searchsync-${paths.marker}`));
    const layout = preparePostgresLayout(
      paths,
      host([join(scratch, 'home')], { outsideParents: [outside, second] }),
      say,
    );
    expect(layout.home).toBe(join(second, `searchsync-${paths.marker}`, 'postgres'));
  });

  it('says what to do when no outside folder is usable', () => {
    const attempt = () =>
      preparePostgresLayout(
        paths,
        host([join(scratch, 'home')], { outsideParents: [join(scratch, 'missing')] }),
        say,
      );
    expect(attempt).toThrow(PostgresLayoutError);
    expect(attempt).toThrow(/move the checkout somewhere pgtest can enter/);
  });

  it('does not abandon a cluster already inside a checkout that became unreachable', () => {
    mkdirSync(join(paths.data('postgres'), 'pgdata'), { recursive: true });
    writeFileSync(join(paths.data('postgres'), 'pgdata', 'PG_VERSION'), '15\n');
    expect(() => preparePostgresLayout(paths, host([join(scratch, 'home')]), say)).toThrow(
      /holds a PostgreSQL cluster the pgtest user cannot reach/,
    );
    expect(existsSync(join(paths.data('postgres'), 'pgdata', 'PG_VERSION'))).toBe(true);
  });
});

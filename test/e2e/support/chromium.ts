import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.SEARCHSYNC_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium for the status-page test: Debian's `chromium` package, installed here when
 * missing and we are root (CI on a fresh machine). Returns null — and says so loudly — when it
 * cannot be had; SEARCHSYNC_REQUIRE_CHROMIUM=1 turns that into a failure instead of a skip.
 */
export function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  let why = 'not running as root, so it cannot be installed';
  if (process.getuid?.() === 0) {
    try {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      try {
        execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
          stdio: 'ignore',
          env,
          timeout: 600_000,
        });
      } catch {
        execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
        execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
          stdio: 'ignore',
          env,
          timeout: 600_000,
        });
      }
      if (existsSync(CHROMIUM)) return CHROMIUM;
      why = `apt-get installed chromium but ${CHROMIUM} is missing`;
    } catch (error) {
      why = `apt-get install chromium failed: ${(error as Error).message}`;
    }
  }
  const message = `\n${'!'.repeat(78)}\n!! STATUS PAGE SCREENSHOT TEST SKIPPED: no headless Chromium at ${CHROMIUM} (${why}).\n!! Install Debian's chromium package (apt-get install -y chromium) to run it.\n${'!'.repeat(78)}\n`;
  if (process.env.SEARCHSYNC_REQUIRE_CHROMIUM === '1') throw new Error(message);
  console.warn(message);
  return null;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

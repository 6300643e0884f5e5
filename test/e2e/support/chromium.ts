import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.SEARCHSYNC_CHROMIUM ?? '/usr/bin/chromium';

/** What to run to have it: Debian's package (CI installs it beforehand, in .ci/run). */
export const CHROMIUM_INSTALL = 'apt-get install -y --no-install-recommends chromium';

/**
 * Headless Chromium for the status-page test, when the machine has it. Tests never install
 * anything: without it the test is skipped with a banner that names the install command;
 * SEARCHSYNC_REQUIRE_CHROMIUM=1 turns that into a failure instead.
 */
export function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  const bar = '!'.repeat(78);
  const message = [
    '',
    bar,
    `!! SKIPPED: the status page screenshot test — no headless Chromium at ${CHROMIUM}`,
    `!! (SEARCHSYNC_CHROMIUM names another binary). To run it, install: ${CHROMIUM_INSTALL}`,
    bar,
    '',
  ].join('\n');
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

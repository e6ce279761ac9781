// examples/browser-demo as a newcomer runs it: a copy of the folder (its node_modules holding
// the autobahn-browser this suite installed), Junction started on its config.json (port 0, the
// static folders made absolute), the page opened in headless Chromium, then the exact curl and
// `junction publish` lines of its README run against it (8080 replaced by the port): the page
// must show both events, newest first (screenshot: target/browser-artifacts/browser-demo.png).

import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { AUTOBAHN_BROWSER_DIR, TEST_MS, openReadyPage, withBrowserPage } from './browser_e2e.mjs';
import { JUNCTION_BIN, REPO_ROOT } from './harness.mjs';

const DEMO = path.join(REPO_ROOT, 'examples', 'browser-demo');

/** The shell lines of the README block after the `feed` marker. */
function feedLines() {
  const readme = readFileSync(path.join(DEMO, 'README.md'), 'utf8');
  const after = readme.split('<!-- feed:')[1];
  assert.ok(after, 'examples/browser-demo/README.md has no feed block');
  const block = after.split('```sh\n')[1].split('```')[0];
  return block.trim().split('\n');
}

function sh(line) {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', line], { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${line}\nfailed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

test('the browser demo shows what its README\'s curl and junction publish lines push', { timeout: TEST_MS }, async () => {
  const copy = mkdtempSync(path.join(tmpdir(), 'junction-demo-'));
  cpSync(DEMO, copy, { recursive: true });
  mkdirSync(path.join(copy, 'node_modules'), { recursive: true });
  symlinkSync(AUTOBAHN_BROWSER_DIR, path.join(copy, 'node_modules', 'autobahn-browser'));
  const config = JSON.parse(readFileSync(path.join(copy, 'config.json'), 'utf8'));
  const transport = config.workers[0].transports[0];
  transport.endpoint.port = 0;
  for (const p of Object.values(transport.paths)) {
    if (p.type === 'static') p.directory = path.join(copy, p.directory);
  }
  const lines = feedLines();
  assert.equal(lines.length, 2, `two feed lines: ${lines}`);
  assert.match(lines[0], /^curl /);
  assert.match(lines[1], /^junction publish /);

  await withBrowserPage(config, async (cx) => {
    const { router, base, page, waitFor, explain } = cx;
    await openReadyPage(cx, `${base}/`, 'subscribed');
    const port = String(router.ports[0]);
    const run = (line) => sh(line.replaceAll('8080', port).replace(/^junction /, `'${JUNCTION_BIN}' `));
    await run(lines[0]);
    await waitFor(page.locator('#events li'), 'the curl event in the page');
    await run(lines[1]);
    await waitFor(page.locator('#events li:nth-child(2)'), 'the junction publish event in the page');
    const shown = (await page.locator('#events li .payload').allTextContents()).map((t) => JSON.parse(t));
    assert.deepEqual(shown, [
      { args: ['Hello from junction publish'], kwargs: { n: 2 } },
      { args: ['Hello from curl'], kwargs: { n: 1 } },
    ], await explain('the page shows other events'));
    await cx.screenshot('browser-demo');
  });
});

// End-to-end through a real browser: Junction serves the page in browser/ on a `static` path
// and autobahn.min.js (npm autobahn-browser) on a second one; headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) opens it, the page joins over the transport
// under test and subscribes; real curl POSTs an event to the `publisher` path; the page must
// show the payload. A screenshot of the page goes to target/browser-artifacts/<name>.png.
// Shared by browser.test.mjs (WebSocket) and browser_longpoll.test.mjs.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import { chromium } from 'playwright-core';

import { ALLOW_ALL, REPO_ROOT, startRouter } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PAGE_DIR = path.join(HERE, 'browser');
export const AUTOBAHN_BROWSER_DIR = path.join(HERE, 'node_modules', 'autobahn-browser');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'target', 'browser-artifacts');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** Chromium's start on a busy 2-core machine. */
const LAUNCH_MS = 60000;
/** Page load, join, subscribe, an event's arrival. */
const PAGE_MS = 15000;
const CURL_MS = 10000;
/** A whole browser test, start to end: the bound over all the waits above. */
export const TEST_MS = 150000;

/**
 * A Crossbar-shaped config: one router worker with realm1 and one web transport holding the
 * page on `/`, autobahn.js on `/autobahn`, WAMP on `/ws`, a pusher on `/push`, plus `extraPaths`
 * (e.g. a `longpoll` path).
 */
export function pageConfig(extraPaths = {}) {
  return {
    version: 2,
    workers: [{
      type: 'router',
      realms: [{ name: 'realm1', roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }] }],
      transports: [{
        type: 'web',
        endpoint: { type: 'tcp', interface: '127.0.0.1', port: 0 },
        paths: {
          '/': { type: 'static', directory: PAGE_DIR, options: { cache_timeout: 0 } },
          autobahn: { type: 'static', directory: AUTOBAHN_BROWSER_DIR },
          ws: { type: 'websocket' },
          push: { type: 'publisher', realm: 'realm1', role: 'anonymous' },
          ...extraPaths,
        },
      }],
    }],
  };
}

/** POSTs `{topic, args, kwargs}` with the real curl; resolves to {status, body}. */
export function curlPublish(url, event) {
  return new Promise((resolve, reject) => {
    execFile('curl', [
      '--silent', '--show-error', '--max-time', String(CURL_MS / 1000),
      '-H', 'Content-Type: application/json',
      '--data-binary', JSON.stringify(event),
      '--write-out', '\n%{http_code}',
      url,
    ], { timeout: CURL_MS + 2000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`curl ${url} failed: ${err.message} ${stderr}`));
        return;
      }
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
    });
  });
}

/**
 * Starts Junction with `config` and headless Chromium with one page, runs
 * `body({router, base, page, waitFor, explain, screenshot})`, and closes both whatever happens.
 * `waitFor(locator, what)` waits (bounded) for an element; `explain(what)` makes a failure
 * message with the page's #status and #events, the browser console and the router log;
 * `screenshot(name)` saves target/browser-artifacts/<name>.png.
 */
export async function withBrowserPage(config, body) {
  assert.ok(existsSync(CHROMIUM),
    `${CHROMIUM} is missing: apt-get install chromium (./test.sh does), or set CHROMIUM_BIN`);
  assert.ok(existsSync(path.join(AUTOBAHN_BROWSER_DIR, 'autobahn.min.js')),
    'node_modules/autobahn-browser/autobahn.min.js is missing: run npm install in tests/interop/js');

  const browserLog = [];
  let router;
  let browser;
  try {
    router = await startRouter(config);
    const base = `http://127.0.0.1:${router.ports[0]}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: LAUNCH_MS });
    const page = await browser.newPage({ viewport: { width: 800, height: 400 } });
    page.on('console', (m) => browserLog.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => browserLog.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => browserLog.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));

    const explain = async (what) => {
      const status = await page.locator('#status').textContent({ timeout: 1000 }).catch(() => '<no #status>');
      const events = await page.locator('#events').innerText({ timeout: 1000 }).catch(() => '<no #events>');
      return `${what}\npage status: ${status}\npage events: ${events}\nbrowser console:\n  ${browserLog.join('\n  ')}\nrouter log:\n${router.log()}`;
    };
    const waitFor = async (locator, what) => {
      try {
        await locator.waitFor({ state: 'attached', timeout: PAGE_MS });
      } catch (e) {
        assert.fail(await explain(`timed out after ${PAGE_MS} ms waiting for ${what} (${e.message.split('\n')[0]})`));
      }
    };
    const screenshot = async (name) => {
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });
    };
    await body({ router, base, page, waitFor, explain, screenshot });
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (router) await router.stop();
  }
}

/**
 * Opens `url` and waits until #status says `ready` (data-state; `closed` fails at once).
 */
export async function openReadyPage({ page, waitFor, explain }, url, ready) {
  const response = await page.goto(url, { timeout: PAGE_MS });
  assert.equal(response?.status(), 200, await explain(`${url} did not load with 200`));
  // Ready, or closed: a refused connection fails now, not after the timeout.
  await waitFor(page.locator(`#status[data-state="${ready}"], #status[data-state="closed"]`),
    `the page to be ${ready}`);
  const state = await page.locator('#status').getAttribute('data-state');
  assert.equal(state, ready, await explain(`the page is not ${ready}`));
}

/**
 * The whole scenario for one transport. `query(router)` gives the page's query string (without
 * `?`); `screenshot` names the PNG in target/browser-artifacts. Browser and router are closed
 * whatever happens; a failure message carries the page's status, console and the router log.
 */
export async function runPageScenario({ extraPaths = {}, query = () => '', screenshot }) {
  await withBrowserPage(pageConfig(extraPaths), async (cx) => {
    const { router, base, page, waitFor, explain } = cx;
    const q = query(router);
    await openReadyPage(cx, `${base}/${q ? `?${q}` : ''}`, 'subscribed');

    const topic = 'com.example.browser';
    const kwargs = { note: 'through curl, the pusher and the browser', n: 42 };
    const pushed = await curlPublish(`${base}/push`, { topic, args: ['hello browser', 7], kwargs });
    assert.equal(pushed.status, 202, `POST /push answered ${pushed.status}: ${pushed.body}`);

    const item = page.locator('#events li');
    await waitFor(item, 'the event to appear in the page');
    const shown = await item.allTextContents();
    assert.equal(shown.length, 1, await explain('the page shows more than the one event'));
    // Parsed: the router need not keep the order of kwargs' keys.
    assert.deepEqual(JSON.parse(shown[0]), { args: ['hello browser', 7], kwargs },
      await explain('the page shows another payload'));

    await cx.screenshot(screenshot);
  });
}

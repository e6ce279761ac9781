// The same page as browser.test.mjs over WAMP long-poll: autobahn.js's `longpoll` transport
// against a `longpoll` path on `/lp` (screenshot: target/browser-artifacts/static-longpoll.png).
// See browser_e2e.mjs.

import { test } from 'node:test';

import { TEST_MS, runPageScenario } from './browser_e2e.mjs';

test('a page from a static path joins over long-poll and shows an event pushed with curl', { timeout: TEST_MS }, async () => {
  await runPageScenario({
    extraPaths: { lp: { type: 'longpoll' } },
    query: (router) => `transport=longpoll&url=${encodeURIComponent(`http://127.0.0.1:${router.ports[0]}/lp`)}`,
    screenshot: 'static-longpoll',
  });
});

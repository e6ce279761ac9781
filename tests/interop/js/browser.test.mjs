// A browser app over WebSocket: headless Chromium opens a page served by a `static` path,
// joins on `/ws`, and shows an event POSTed with curl to `/push`
// (screenshot: target/browser-artifacts/static-websocket.png). See browser_e2e.mjs.

import { test } from 'node:test';

import { TEST_MS, runPageScenario } from './browser_e2e.mjs';

test('a page from a static path joins over WebSocket and shows an event pushed with curl', { timeout: TEST_MS }, async () => {
  await runPageScenario({ screenshot: 'static-websocket' });
});

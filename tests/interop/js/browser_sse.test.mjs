// The `sse` path type through the browser's own EventSource in headless Chromium: the page
// opens a stream on two topics, curl pushes events through the HTTP pusher, and the page's
// onmessage gets each once, in order, with lastEventId the publication id (issue 18).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_MS, curlPublish, pageConfig, withBrowserPage } from './browser_e2e.mjs';

test('EventSource receives pushed events in order with their ids', { timeout: TEST_MS }, async () => {
  const config = pageConfig({ events: { type: 'sse', realm: 'realm1', role: 'anonymous' } });
  await withBrowserPage(config, async ({ base, page, explain, screenshot }) => {
    await page.goto(`${base}/`);
    await page.evaluate(() => {
      window.sseEvents = [];
      window.sseOpen = false;
      const source = new EventSource('/events?topic=com.sse.a&topic=com.sse.b');
      source.onopen = () => { window.sseOpen = true; };
      source.onmessage = (e) => window.sseEvents.push({ id: e.lastEventId, data: JSON.parse(e.data) });
    });
    await page.waitForFunction(() => window.sseOpen, null, { timeout: 10000 })
      .catch(async () => assert.fail(await explain('the EventSource did not open')));
    const sent = [['com.sse.a', 1], ['com.sse.b', 2], ['com.sse.other', 3], ['com.sse.a', 4]];
    for (const [topic, n] of sent) {
      const res = await curlPublish(`${base}/push`, { topic, args: [n] });
      assert.equal(res.status, 202, res.body);
    }
    await page.waitForFunction(() => window.sseEvents.length >= 3, null, { timeout: 10000 })
      .catch(async () => assert.fail(await explain('three events did not arrive')));
    const events = await page.evaluate(() => window.sseEvents);
    assert.deepEqual(events.map((e) => [e.data.topic, e.data.args[0]]),
      [['com.sse.a', 1], ['com.sse.b', 2], ['com.sse.a', 4]]);
    for (const e of events) assert.equal(e.id, String(e.data.publication));
    await screenshot('browser-sse');
  });
});

// The `sse` path type through the browser's own EventSource in headless Chromium: the page
// opens a stream on two topics, curl pushes events through the HTTP pusher, and the page's
// onmessage gets each once, in order, with lastEventId the publication id; and when the
// connection breaks, EventSource's own reconnect (with the Last-Event-ID it keeps) gets
// exactly the events published meanwhile, from event history, then live ones; and a stream on
// an http-poller topic starts with its snapshot, then its patches (issue 18).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

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

/** A TCP proxy to `port` whose connections the test can cut, refusing new ones until restored. */
async function cuttableProxy(port) {
  const open = new Set();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) { client.destroy(); return; }
    const upstream = net.connect(port, '127.0.0.1');
    const pair = [client, upstream];
    client.pipe(upstream);
    upstream.pipe(client);
    for (const socket of pair) {
      open.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => { open.delete(socket); for (const other of pair) other.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() { up = false; for (const socket of open) socket.destroy(); },
    restore() { up = true; },
    close() { this.cut(); server.close(); },
  };
}

test('EventSource reconnects by itself and gets the 100 events it missed, then live ones', { timeout: TEST_MS }, async () => {
  const config = pageConfig({ events: { type: 'sse', realm: 'realm1', role: 'anonymous', retry: 200 } });
  config.workers[0].realms[0].store = {
    type: 'memory', 'event-history': [{ uri: 'com.sse.', match: 'prefix', limit: 1000 }],
  };
  await withBrowserPage(config, async ({ base, page, explain }) => {
    const proxy = await cuttableProxy(Number(new URL(base).port));
    try {
      // The page and its stream both go through the proxy: one origin, one cut.
      await page.goto(`http://127.0.0.1:${proxy.port}/`);
      await page.evaluate(() => {
        window.sseEvents = [];
        window.sseOpens = 0;
        window.sseErrors = 0;
        const source = new EventSource('/events?topic=com.sse.r&match=prefix');
        source.onopen = () => { window.sseOpens += 1; };
        source.onerror = () => { window.sseErrors += 1; };
        source.onmessage = (e) => window.sseEvents.push({ id: e.lastEventId, data: JSON.parse(e.data) });
      });
      const waitFor = (fn, arg, what) => page.waitForFunction(fn, arg, { timeout: 20000 })
        .catch(async () => assert.fail(await explain(what)));
      const push = async (n) => {
        const res = await curlPublish(`${base}/push`, { topic: `com.sse.r.${n % 3}`, args: [n] });
        assert.equal(res.status, 202, res.body);
      };
      await waitFor(() => window.sseOpens === 1, null, 'the EventSource did not open');
      for (let n = 0; n < 3; n += 1) await push(n);
      await waitFor(() => window.sseEvents.length === 3, null, 'the first 3 events did not arrive');

      proxy.cut();
      await waitFor(() => window.sseErrors >= 1, null, 'the EventSource did not see the break');
      for (let n = 3; n < 103; n += 1) await push(n);
      proxy.restore();
      await waitFor(() => window.sseOpens === 2, null, 'the EventSource did not reconnect');
      await waitFor(() => window.sseEvents.length >= 103, null, 'the 100 missed events did not arrive');
      for (let n = 103; n < 105; n += 1) await push(n);
      await waitFor(() => window.sseEvents.length >= 105, null, 'live events did not follow');

      const events = await page.evaluate(() => window.sseEvents);
      assert.deepEqual(events.map((e) => e.data.args[0]), [...Array(105).keys()],
        'every event once, in order, across the reconnect');
      assert.equal(new Set(events.map((e) => e.id)).size, 105);
    } finally {
      proxy.close();
    }
  });
});

test('EventSource on a poller topic gets its snapshot, then patches with their seq', { timeout: TEST_MS }, async () => {
  // The upstream the poller polls: a real HTTP server whose document the test changes.
  // A long text keeps the document larger than a patch, so a change goes out as a patch.
  const about = 'Lorem ipsum dolor sit amet. '.repeat(20);
  let doc = { station: 'Nord', about, temps: [1.5] };
  const upstream = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(doc));
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const config = pageConfig({ events: { type: 'sse', realm: 'realm1', role: 'anonymous' } });
  config.workers[0].realms[0].topics = [{
    name: 'com.sse.poll.stations',
    publisher: {
      type: 'http-poller',
      alwaysOn: true,
      config: { url: `http://127.0.0.1:${upstream.address().port}/stations`, pollingPeriod: 'PT0.5S' },
    },
  }];
  config.workers[0].realms[0].store = { type: 'memory' };
  try {
    await withBrowserPage(config, async ({ base, page, explain }) => {
      await page.goto(`${base}/`);
      await page.evaluate(() => {
        window.sseEvents = [];
        const source = new EventSource('/events?topic=com.sse.poll.stations');
        source.onmessage = (e) => window.sseEvents.push(JSON.parse(e.data));
      });
      const waitFor = (n, what) => page.waitForFunction((k) => window.sseEvents.length >= k, n, { timeout: 20000 })
        .catch(async () => assert.fail(await explain(what)));
      await waitFor(1, 'the snapshot did not arrive');
      doc = { station: 'Nord', about, temps: [1.5, 2.25] };
      await waitFor(2, 'the patch did not arrive');
      const [snapshot, patch] = await page.evaluate(() => window.sseEvents);
      assert.deepEqual(snapshot.kwargs, { type: 'snapshot', seq: 1, data: { station: 'Nord', about, temps: [1.5] } });
      assert.equal(patch.kwargs.type, 'patch');
      assert.equal(patch.kwargs.seq, 2);
      assert.deepEqual(patch.kwargs.patch, [{ op: 'add', path: '/temps/1', value: 2.25 }]);
    });
  } finally {
    upstream.close();
  }
});

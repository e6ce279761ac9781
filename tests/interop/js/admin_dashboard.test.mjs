// The admin dashboard (`"type": "admin"`) in headless Chromium: Junction started with an admin
// path, a poller on a real local upstream HTTP server, and autobahn.js clients. Through the
// page: log in with the form, see the session list grow as clients join, kill one (the client
// is closed) and see it leave, see the poller's record and poll it now, see the messages chart
// move while a few hundred events are published and the bridge chart with curl pushes, and see
// an event in the live tail.
// Screenshot: target/browser-artifacts/admin-dashboard.png (the README's is a copy).

import http from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TEST_MS, curlPublish, withBrowserPage } from './browser_e2e.mjs';
import { ALLOW_ALL, connect, sleep, withTimeout } from './harness.mjs';

const PASSWORD = 'dashboard-test-password';

function upstream() {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits += 1;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ price: 100 + hits, at: Date.now() }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}/price`,
    close: () => new Promise((r) => server.close(r)),
  })));
}

function config(upstreamUrl) {
  return {
    version: 2,
    workers: [{
      type: 'router',
      realms: [{
        name: 'realm1',
        roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }],
        topics: [{ name: 'com.example.price', publisher: { type: 'http-poller', alwaysOn: true,
          config: { url: upstreamUrl, pollingPeriod: 'PT1H' } } }],
      }],
      transports: [{
        type: 'web',
        endpoint: { type: 'tcp', interface: '127.0.0.1', port: 0 },
        paths: {
          ws: { type: 'websocket' },
          push: { type: 'publisher', realm: 'realm1', role: 'anonymous' },
          admin: { type: 'admin', users: [{ user: 'ops', password: PASSWORD, role: 'admin' }] },
        },
      }],
    }],
  };
}

test('the admin dashboard: login, sessions, kill, pollers, charts, live tail', { timeout: TEST_MS }, async () => {
  const source = await upstream();
  const clients = [];
  try {
    await withBrowserPage(config(source.url), async (cx) => {
      const { router, base, page, waitFor, explain } = cx;
      await page.setViewportSize({ width: 1360, height: 900 });
      page.on('dialog', (dialog) => dialog.accept());

      // Log in through the form (a wrong password first).
      await page.goto(`${base}/admin`);
      await waitFor(page.locator('#login-form:visible'), 'the login form');
      await page.fill('#login-user', 'ops');
      await page.fill('#login-password', 'wrong');
      await page.click('#login-submit');
      await waitFor(page.locator('#login-error:text("wrong user or password")'), 'the refusal');
      await page.fill('#login-password', PASSWORD);
      await page.click('#login-submit');
      await waitFor(page.locator('#dash-view:visible'), 'the dashboard');
      assert.equal(await page.locator('#user').textContent(), 'ops');

      // The session list grows as clients join.
      const rows = page.locator('#sessions tbody tr[data-session]');
      for (let i = 1; i <= 3; i++) {
        clients.push(await connect(router.url));
        await page.waitForFunction((n) => document.querySelectorAll('#sessions tbody tr[data-session]').length === n,
          i, { timeout: 10000 }).catch(async () => assert.fail(await explain(`${i} sessions listed`)));
      }
      const realmCard = page.locator('.realm[data-realm="realm1"] .figure b').first();
      assert.equal(await realmCard.textContent(), '3');

      // Kill one: it leaves the list and its client is closed.
      const victim = clients[1];
      const id = victim.session.id;
      await page.click(`#sessions tr[data-session="${id}"] button.kill`);
      const closed = await withTimeout(victim.closed, 5000, 'the killed client closed');
      assert.ok(closed, 'closed');
      await page.waitForFunction((sid) => !document.querySelector(`#sessions tr[data-session="${sid}"]`),
        String(id), { timeout: 10000 }).catch(async () => assert.fail(await explain('the killed session left')));
      assert.equal(await rows.count(), 2);

      // The poller's record, then poll now.
      const poller = page.locator('#pollers tr[data-topic="com.example.price"]');
      await waitFor(poller.locator('.last-record:text("200")'), 'the poller record');
      assert.match(await poller.locator('.badge').textContent(), /healthy/);
      const pollsBefore = Number(await poller.locator('td').nth(5).textContent());
      await poller.locator('button.poll-now').click();
      await page.waitForFunction((before) => {
        const cell = document.querySelector('#pollers tr[data-topic="com.example.price"] td:nth-child(6)');
        return cell && Number(cell.textContent) > before;
      }, pollsBefore, { timeout: 10000 }).catch(async () => assert.fail(await explain('poll now polled')));

      // The charts while a load runs: a point a second, and the messages/s curve rising
      // with the router's message counters (read from the API the page reads, beside it).
      const stats = () => page.evaluate(() => fetch('api/stats').then((r) => r.json()));
      const points = () => page.evaluate(() => window.junctionCharts.messages.series.in.length);
      const before = await stats();
      const pointsBefore = await points();
      const publisher = clients[0].session;
      await clients[2].session.subscribe('com.example.load', () => {});
      await publisher.register('com.example.add', ([a, b]) => a + b);
      for (let round = 0; round < 6; round++) {
        const batch = [];
        for (let i = 0; i < 60; i++) {
          batch.push(publisher.publish('com.example.load', [round, i], {}, { acknowledge: true }));
          if (i % 6 === 0) batch.push(clients[2].session.call('com.example.add', [round, i]));
        }
        await Promise.all(batch);
        await sleep(300);
      }
      await sleep(1200);
      const after = await stats();
      assert.ok(await points() >= pointsBefore + 2, await explain('the charts got a point a second'));
      const drawn = JSON.parse(await page.locator('#chart-messages').getAttribute('data-series'));
      assert.equal(drawn.in.length, await points(), 'the canvas drew the series');
      assert.ok(after.messages_in - before.messages_in >= 360, `messages_in counted: ${JSON.stringify([before, after])}`);
      await page.waitForFunction(() => window.junctionCharts.messages.series.in.some((p) => p[1] > 0),
        null, { timeout: 10000 }).catch(async () => assert.fail(await explain('the messages chart moved')));
      for (const [chart, series] of [['deliveries', 'delivered'], ['latency', 'call']]) {
        await page.waitForFunction(([c, l]) => window.junctionCharts[c].series[l].some((p) => p[1] > 0),
          [chart, series], { timeout: 10000 }).catch(async () => assert.fail(await explain(`the ${chart} chart moved`)));
      }

      // A bridge request: its path and status in the table, the bridge chart rising.
      for (let i = 0; i < 20; i++) {
        const pushed = await curlPublish(`${base}/push`, { topic: 'com.example.load', args: [i] });
        assert.equal(pushed.status, 202, pushed.body);
      }
      await waitFor(page.locator('#bridge tbody tr:has-text("/push"):has-text("202")'), 'the bridge row');
      await page.waitForFunction(() => window.junctionCharts.bridge.series.requests.some((p) => p[1] > 0),
        null, { timeout: 10000 }).catch(async () => assert.fail(await explain('the bridge chart moved')));

      // The live tail shows an event published on the topic.
      await page.fill('#tail-topic', 'com.example');
      await page.selectOption('#tail-match', 'prefix');
      await page.click('#tail-start');
      await waitFor(page.locator('#tail-status:text("Tailing")'), 'the tail open');
      await publisher.publish('com.example.hello', ['Hello, tail'], { from: 'the admin test' }, { acknowledge: true });
      await waitFor(page.locator('#tail li:has-text("Hello, tail")'), 'the event in the live tail');
      assert.match(await page.locator('#tail li').first().textContent(), /com\.example\.hello/);

      await sleep(3000); // a last chart point, and the last toast gone
      await cx.screenshot('admin-dashboard');
    });
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await source.close();
  }
});

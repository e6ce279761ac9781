// Cookie auth in a real browser: headless Chromium logs in once by ticket on a page served by
// Junction, reloads and is joined again as the same authid by its cookie alone (authprovider
// `cookie`); with the cookie cleared it is refused; a logout ends the cookie's login. The WAMP
// client is autobahn.js (browser build); the cookie is the one Junction set on the upgrade (or,
// over long-poll, on the answer to `open`).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { AUTOBAHN_BROWSER_DIR, PAGE_DIR, TEST_MS, openReadyPage, withBrowserPage } from './browser_e2e.mjs';
import { ALLOW_ALL } from './harness.mjs';

const TICKET = 'joe-secret-ticket';

function cookieAuth() {
  return {
    cookie: { name: 'cbtid', max_age: 3600, store: { type: 'memory' } },
    auth: {
      ticket: { type: 'static', principals: { joe: { ticket: TICKET, role: 'user' } } },
      cookie: {},
    },
  };
}

function loginConfig() {
  return {
    version: 2,
    workers: [{
      type: 'router',
      realms: [{ name: 'realm1', roles: [{ name: 'user', permissions: [ALLOW_ALL] }] }],
      transports: [{
        type: 'web',
        endpoint: { type: 'tcp', interface: '127.0.0.1', port: 0 },
        paths: {
          '/': { type: 'static', directory: PAGE_DIR, options: { cache_timeout: 0 } },
          autobahn: { type: 'static', directory: AUTOBAHN_BROWSER_DIR },
          ws: { type: 'websocket', ...cookieAuth() },
          lp: { type: 'longpoll', ...cookieAuth() },
        },
      }],
    }],
  };
}

async function who(page) {
  return JSON.parse(await page.locator('#who').textContent());
}

test('a browser logged in by ticket rejoins after a reload by its cookie, until the cookie is gone', { timeout: TEST_MS }, async () => {
  await withBrowserPage(loginConfig(), async (cx) => {
    const { base, page, explain, router } = cx;
    await openReadyPage(cx, `${base}/login.html?authid=joe&ticket=${TICKET}`, 'joined');
    assert.deepEqual(await who(page),
      { authid: 'joe', authrole: 'user', authmethod: 'ticket', authprovider: 'static' },
      await explain('the first login is by ticket'));
    const cookies = await page.context().cookies();
    assert.ok(cookies.some((c) => c.name === 'cbtid' && c.value.length === 24),
      await explain(`the browser keeps the cbtid cookie: ${JSON.stringify(cookies.map((c) => c.name))}`));

    // Reload with no credentials at all: the cookie logs in.
    await openReadyPage(cx, `${base}/login.html`, 'joined');
    assert.deepEqual(await who(page),
      { authid: 'joe', authrole: 'user', authmethod: 'ticket', authprovider: 'cookie' },
      await explain('the reload is logged in by the cookie'));
    await cx.screenshot('cookie-login');

    // Cookie cleared: a new, unauthenticated cookie, and no ticket: refused.
    await page.context().clearCookies();
    await openReadyPage(cx, `${base}/login.html`, 'closed');
    const reason = await page.locator('#status').textContent();
    assert.match(reason, /^wamp\.error\./, await explain('refused with a wamp.error URI'));

    // The cookie's value never reaches the log.
    const value = cookies.find((c) => c.name === 'cbtid').value;
    assert.ok(!router.log().includes(value), 'the cookie is not in the router log');
  });
});

test('a logout ends the login of the cookie', { timeout: TEST_MS }, async () => {
  await withBrowserPage(loginConfig(), async (cx) => {
    const { base, page, explain } = cx;
    await openReadyPage(cx, `${base}/login.html?authid=joe&ticket=${TICKET}`, 'joined');
    await openReadyPage(cx, `${base}/login.html?logout=1`, 'left');
    assert.equal((await who(page)).authprovider, 'cookie', await explain('logged in by cookie before the logout'));
    await openReadyPage(cx, `${base}/login.html`, 'closed');
    const reason = await page.locator('#status').textContent();
    assert.match(reason, /^wamp\.error\./, await explain('no login after the logout'));
  });
});

test('over long-poll too: the cookie set on open logs the reloaded page in', { timeout: TEST_MS }, async () => {
  await withBrowserPage(loginConfig(), async (cx) => {
    const { base, page, explain } = cx;
    await openReadyPage(cx, `${base}/login.html?transport=longpoll&authid=joe&ticket=${TICKET}`, 'joined');
    assert.equal((await who(page)).authprovider, 'static', await explain('the first login is by ticket'));
    await openReadyPage(cx, `${base}/login.html?transport=longpoll`, 'joined');
    assert.deepEqual(await who(page),
      { authid: 'joe', authrole: 'user', authmethod: 'ticket', authprovider: 'cookie' },
      await explain('the reload over long-poll is logged in by the cookie'));
    await page.context().clearCookies();
    await openReadyPage(cx, `${base}/login.html?transport=longpoll`, 'closed');
  });
});

// WAMP over HTTP long-poll: autobahn.js's own `longpoll` transport against a Junction
// `longpoll` path, meeting WebSocket clients in the same realm.
//
// autobahn.js's long-poll transport uses XMLHttpRequest, which Node lacks: the
// xmlhttprequest-ssl package stands in for it, set as a global in this file only.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import {
  ARRIVAL_MS, assertRouterAlive, autobahn, closeAllClients, collector, connect, routerConfig,
  startRouter, uniqueUri, withTimeout,
} from './harness.mjs';

const require = createRequire(import.meta.url);
globalThis.XMLHttpRequest = require('xmlhttprequest-ssl');

let router;

before(async () => {
  const config = routerConfig();
  config.workers[0].transports[0].paths.lp = { type: 'longpoll', options: { request_timeout: 2 } };
  router = await startRouter(config);
});

afterEach(async () => {
  await closeAllClients();
  assertRouterAlive(router);
});

after(async () => {
  await closeAllClients();
  if (router) await router.stop();
});

/**
 * An autobahn.js connection over long-poll, resolved once joined:
 * {connection, session, closed} where `closed` resolves with the close reason.
 */
function connectLongPoll() {
  return withTimeout(new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({
      transports: [{ type: 'longpoll', url: `http://127.0.0.1:${router.ports[0]}/lp` }],
      realm: 'realm1',
      max_retries: 0,
      retry_if_unreachable: false,
    });
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    connection.onopen = (session) => resolve({ connection, session, closed });
    connection.onclose = (reason, details) => {
      closedResolve({ reason, details });
      reject(new Error(`long-poll connection closed before joining: ${reason}`));
      return true; // never reconnect
    };
    connection.open();
  }), ARRIVAL_MS, 'long-poll join');
}

describe('autobahn.js over long-poll', { timeout: 30000 }, () => {
  test('joins, receives an event a WebSocket client publishes, calls its procedure, closes', async () => {
    const lp = await connectLongPoll();
    assert.equal(lp.connection.transport.info.type, 'longpoll');
    assert.equal(lp.connection.transport.info.protocol, 'wamp.2.json');
    const ws = await connect(router.url);

    const info = await withTimeout(ws.session.call('wamp.session.get', [lp.session.id]), ARRIVAL_MS, 'session.get');
    assert.equal(info.transport.type, 'longpoll');

    // An event published over WebSocket, received by the long-poll subscriber.
    const topic = uniqueUri('com.example.lp.news');
    const events = collector();
    await withTimeout(lp.session.subscribe(topic, (args, kwargs) => events.push({ args, kwargs })),
      ARRIVAL_MS, 'SUBSCRIBED');
    await withTimeout(ws.session.publish(topic, ['hello'], { n: 1 }, { acknowledge: true }),
      ARRIVAL_MS, 'PUBLISHED');
    const event = await events.nth(1);
    assert.deepEqual(event.args, ['hello']);
    assert.deepEqual(event.kwargs, { n: 1 });

    // A procedure registered over WebSocket, called over long-poll.
    const proc = uniqueUri('com.example.lp.add');
    await withTimeout(ws.session.register(proc, (args) => args[0] + args[1]), ARRIVAL_MS, 'REGISTERED');
    const sum = await withTimeout(lp.session.call(proc, [20, 22]), ARRIVAL_MS, 'RESULT');
    assert.equal(sum, 42);

    // And the other way round: the long-poll session's procedure, called over WebSocket.
    const echo = uniqueUri('com.example.lp.echo');
    await withTimeout(lp.session.register(echo, (args) => `lp:${args[0]}`), ARRIVAL_MS, 'REGISTERED');
    assert.equal(await withTimeout(ws.session.call(echo, ['x']), ARRIVAL_MS, 'RESULT'), 'lp:x');

    // Close: GOODBYE, then the transport's close; the session is gone from the realm.
    lp.connection.close();
    const { reason } = await withTimeout(lp.closed, ARRIVAL_MS, 'long-poll close');
    assert.equal(reason, 'closed');
    const count = await withTimeout(ws.session.call('wamp.session.count'), ARRIVAL_MS, 'session.count');
    assert.equal(count, 1, 'only the WebSocket session is left');
  });
});

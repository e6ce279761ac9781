// Cases of autobahn.js's own test suite, reproduced with their exact URIs and values against
// Junction (the suite itself runs under vitest with a router at a fixed address, so its cases
// are restated here for node:test and a router on port 0):
//
// - packages/autobahn/test/test_pubsub_prefix_sub.vitest.js, "pubsub prefix sub > prefix
//   matching subscription": a `com.myapp` prefix subscriber gets seven publications, among them
//   `com.myapp2.foobar`, `com.myapp2` and `com.myapp.topi` (prefixes match on the string, as
//   the WAMP spec says), and not `com.app.topic1`, `com.myap` or `com`.
// - packages/autobahn/test/test_binary.vitest.js, "binary > binary CBOR": values echoed through
//   a CBOR callee come back unchanged, among them BigInt 2^128-1 (a CBOR bignum, tag 2); a
//   procedure nobody registered answers wamp.error.no_such_procedure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALL_SERIALIZERS, ARRIVAL_MS, assertRouterAlive, closeAllClients, collector, connect,
  expectWampError, routerConfig, sleep, startRouter, withTimeout,
} from './harness.mjs';

let router;

before(async () => {
  router = await startRouter(routerConfig({ serializers: ALL_SERIALIZERS }));
});

after(async () => {
  await closeAllClients();
  if (router) await router.stop();
});

describe('autobahn.js suite: pubsub prefix sub', () => {
  for (const ser of ALL_SERIALIZERS) {
    test(`prefix matching subscription (${ser})`, async () => {
      const session1 = (await connect(router.url, { serializer: ser })).session;
      const session2 = (await connect(router.url, { serializer: ser })).session;
      const events = collector();
      const msg = 'Hello prefix pattern subscriber!';
      await withTimeout(session2.subscribe('com.myapp', (args) => events.push(args), { match: 'prefix' }),
        ARRIVAL_MS, 'SUBSCRIBED');

      let counter = 0;
      // these are all received
      const received = ['com.myapp.topic1.foobar', 'com.myapp.topic1', 'com.myapp.topi', 'com.myapp2.foobar',
        'com.myapp2', 'com.myapp.2', 'com.myapp'];
      // these are not received
      const notReceived = ['com.app.topic1', 'com.myap', 'com'];
      for (const topic of [...received, ...notReceived]) {
        await withTimeout(session1.publish(topic, [msg, counter++], {}, { acknowledge: true }), ARRIVAL_MS,
          `PUBLISHED ${topic}`);
      }
      await events.nth(7, ARRIVAL_MS, 'the seventh event, as the suite waits for');
      await sleep(200);
      assert.deepEqual(events.items, [0, 1, 2, 3, 4, 5, 6].map((n) => [msg, n]));
      assertRouterAlive(router);
      await closeAllClients();
    });
  }
});

describe('autobahn.js suite: binary', () => {
  test('binary CBOR', async () => {
    const { session } = await connect(router.url, { serializer: 'cbor' });
    await withTimeout(session.register('com.myapp.echo', (args) => args[0]), ARRIVAL_MS, 'REGISTERED');
    const random = Buffer.from('9f3c51d2a07e48b6c1e5f20a7d93b4c8e6015fa2d7c3b9e8041a6f5d2c7b3e91', 'hex');
    const vals1 = [
      1.7,
      'hello',
      [1, 2, -3],
      { a: 5, b: 'hello2', c: [1, 2, 3] },
      [-9007199254740991, 9007199254740991],
      null,
      BigInt('1558266424841951553'),
      BigInt('340282366920938463463374607431768211455'),
      Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]),
      random,
      { a: 5, b: 'hello2', c: random },
    ];
    for (const value of vals1) {
      const echoed = await withTimeout(session.call('com.myapp.echo', [value]), ARRIVAL_MS,
        `RESULT of com.myapp.echo for ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)}`);
      // autobahn.js's CBOR decoder gives byte strings back as Buffer.
      const expected = value instanceof Uint8Array ? Buffer.from(value) : value;
      assert.deepEqual(echoed, expected);
    }
    for (const value of vals1) {
      await expectWampError(session.call('any.echo', [value]), 'wamp.error.no_such_procedure');
    }
    assertRouterAlive(router);
  });
});

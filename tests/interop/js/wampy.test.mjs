// wampy.js interop: the browser-and-Node client that reads WELCOME's broker and dealer
// `features` without guarding, over JSON and msgpack.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Wampy } from 'wampy';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import WebSocket from 'ws';

import { ARRIVAL_MS, assertRouterAlive, routerConfig, startRouter, uniqueUri, withTimeout } from './harness.mjs';

let router;
const clients = [];

before(async () => {
  router = await startRouter(routerConfig());
});

afterEach(async () => {
  while (clients.length) await clients.pop().disconnect().catch(() => {});
  assertRouterAlive(router);
});

after(async () => {
  if (router) await router.stop();
});

const SERIALIZERS = {
  json: () => new JsonSerializer(),
  msgpack: () => new MsgpackSerializer(),
};

async function join(ser) {
  const client = new Wampy(router.url, { realm: 'realm1', ws: WebSocket, autoReconnect: false, serializer: SERIALIZERS[ser]() });
  clients.push(client);
  await withTimeout(client.connect(), ARRIVAL_MS, 'wampy join');
  return client;
}

for (const ser of Object.keys(SERIALIZERS)) {
  describe(`wampy over ${ser}`, () => {
    test('joins and sees the features Junction announces', async () => {
      const client = await join(ser);
      const id = client.getSessionId();
      assert.ok(Number.isSafeInteger(Number(id)) && Number(id) >= 1, `session id ${id}`);
    });

    test('publish reaches a subscriber with args and kwargs', async () => {
      const [subscriber, publisher] = [await join(ser), await join(ser)];
      const topic = uniqueUri('com.example.wampy');
      const received = new Promise((resolve) => subscriber.subscribe(topic, (event) => resolve(event)));
      await new Promise((r) => setTimeout(r, 50));
      await publisher.publish(topic, { argsList: [1, 'two'], argsDict: { three: 3 } });
      const event = await withTimeout(received, ARRIVAL_MS, 'EVENT');
      assert.deepEqual(event.argsList, [1, 'two']);
      assert.deepEqual(event.argsDict, { three: 3 });
    });

    test('call returns the result, and an unknown procedure the right error', async () => {
      const [callee, caller] = [await join(ser), await join(ser)];
      const procedure = uniqueUri('com.example.wampy.add');
      await callee.register(procedure, ({ argsList }) => ({ argsList: [argsList[0] + argsList[1]] }));
      const result = await withTimeout(caller.call(procedure, [2, 3]), ARRIVAL_MS, 'RESULT');
      assert.deepEqual(result.argsList, [5]);
      await assert.rejects(caller.call(`${procedure}.missing`), (e) => {
        assert.equal(e.errorUri ?? e.error, 'wamp.error.no_such_procedure');
        return true;
      });
    });
  });
}

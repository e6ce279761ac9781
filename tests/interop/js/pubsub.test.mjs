// Broker interop: autobahn.js publishers and subscribers through Junction, over JSON and msgpack.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ARRIVAL_MS, SERIALIZERS, assertWampId, collector, connect, routerConfig, sleep, uniqueUri,
  useRouter, withTimeout,
} from './harness.mjs';

// A payload that exercises the value model: ints (negative, > 2^32, 2^53 - 1), floats,
// unicode, booleans, null, nesting, empty containers.
const ARGS = [1, -42, 1.5, 'hello', 'ünïcödé ✓ 日本', true, false, null, [1, [2, 3]], { nested: { a: [1, 2] } }, 9007199254740991];
const KWARGS = { str: 'x', num: 4294967296, neg: -1, flt: 0.25, list: ['a', 1], obj: { b: null }, empty_list: [], empty_obj: {} };

const router = useRouter(() => routerConfig());

function subscribeCollect(client, topic, options) {
  const events = collector();
  const p = client.session.subscribe(topic, (args, kwargs, details) => events.push({ args, kwargs, details }), options);
  return withTimeout(p, ARRIVAL_MS, `SUBSCRIBED ${topic}`).then((subscription) => ({ subscription, events }));
}

function publishAck(client, topic, args, kwargs, options = {}) {
  return withTimeout(client.session.publish(topic, args, kwargs, { ...options, acknowledge: true }), ARRIVAL_MS, `PUBLISHED ${topic}`);
}

for (const ser of SERIALIZERS) {
  describe(`pubsub over ${ser}`, { timeout: 20000 }, () => {
    test('the negotiated subprotocol is the one offered', async () => {
      const c = await connect(router.url, { serializer: ser });
      assert.equal(c.details.transport.protocol, `wamp.2.${ser}`);
      assertWampId(c.session.id, 'session id');
      assert.ok(c.details.roles && c.details.roles.broker && c.details.roles.dealer, 'WELCOME announces broker and dealer');
    });

    test('an event with args and kwargs reaches another session', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const topic = uniqueUri('com.example.pubsub.basic');
      const { subscription, events } = await subscribeCollect(sub, topic);
      assertWampId(subscription.id, 'subscription id');

      pub.session.publish(topic, ARGS, KWARGS);
      const ev = await events.nth(1, ARRIVAL_MS, 'EVENT');
      assert.deepEqual(ev.args, ARGS);
      assert.deepEqual(ev.kwargs, KWARGS);
      assertWampId(ev.details.publication, 'publication id');
      assert.equal(ev.details.topic, topic);
    });

    test('an event with kwargs only and one with no payload', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const topic = uniqueUri('com.example.pubsub.kwonly');
      const { events } = await subscribeCollect(sub, topic);

      await publishAck(pub, topic, undefined, { only: 'kw' });
      await publishAck(pub, topic);
      const first = await events.nth(1);
      assert.deepEqual(first.args, []);
      assert.deepEqual(first.kwargs, { only: 'kw' });
      const second = await events.nth(2);
      assert.deepEqual(second.args, []);
      assert.deepEqual(second.kwargs, {});
    });

    test('publish with acknowledge returns the publication id the subscribers see', async () => {
      const sub1 = await connect(router.url, { serializer: ser });
      const sub2 = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const topic = uniqueUri('com.example.pubsub.ack');
      const s1 = await subscribeCollect(sub1, topic);
      const s2 = await subscribeCollect(sub2, topic);

      const publication = await publishAck(pub, topic, ['ack'], { n: 1 });
      assertWampId(publication.id, 'PUBLISHED publication id');

      const e1 = await s1.events.nth(1);
      const e2 = await s2.events.nth(1);
      assert.equal(e1.details.publication, publication.id);
      assert.equal(e2.details.publication, publication.id);
      assert.deepEqual(e1.args, ['ack']);
      assert.deepEqual(e2.kwargs, { n: 1 });

      const second = await publishAck(pub, topic, ['again']);
      assertWampId(second.id, 'second publication id');
      assert.notEqual(second.id, publication.id, 'publication ids differ');
    });

    test('a publisher does not get its own event unless exclude_me is false', async () => {
      const pub = await connect(router.url, { serializer: ser });
      const other = await connect(router.url, { serializer: ser });
      const topic = uniqueUri('com.example.pubsub.excludeme');
      const own = await subscribeCollect(pub, topic);
      const theirs = await subscribeCollect(other, topic);

      await publishAck(pub, topic, ['default']);
      await publishAck(pub, topic, ['not excluded'], {}, { exclude_me: false });
      // Events from one publisher arrive in order, so had 'default' been delivered to the
      // publisher it would be its first event.
      const first = await own.events.nth(1, ARRIVAL_MS, 'own event with exclude_me: false');
      assert.deepEqual(first.args, ['not excluded']);
      assert.deepEqual((await theirs.events.nth(1)).args, ['default']);
      assert.deepEqual((await theirs.events.nth(2)).args, ['not excluded']);
      await sleep(100);
      assert.equal(own.events.items.length, 1, 'the publisher got exactly one of its own events');
    });

    test('after unsubscribe no more events arrive', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const topic = uniqueUri('com.example.pubsub.unsub');
      const sentinelTopic = uniqueUri('com.example.pubsub.sentinel');
      const { subscription, events } = await subscribeCollect(sub, topic);
      const sentinel = await subscribeCollect(sub, sentinelTopic);

      await publishAck(pub, topic, ['before']);
      assert.deepEqual((await events.nth(1)).args, ['before']);

      await withTimeout(subscription.unsubscribe(), ARRIVAL_MS, 'UNSUBSCRIBED');
      assert.equal(subscription.active, false);

      await publishAck(pub, topic, ['after']);
      await publishAck(pub, sentinelTopic, ['sentinel']);
      assert.deepEqual((await sentinel.events.nth(1, ARRIVAL_MS, 'sentinel event')).args, ['sentinel']);
      await sleep(200);
      assert.equal(events.items.length, 1, `no event after unsubscribe, got ${JSON.stringify(events.items.map((e) => e.args))}`);
    });

    test('prefix subscription: details.topic is the published URI', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const prefix = uniqueUri('com.example.pubsub.prefix');
      const { subscription, events } = await subscribeCollect(sub, prefix, { match: 'prefix' });
      assertWampId(subscription.id, 'subscription id');

      const t1 = `${prefix}.a.b`;
      const p1 = await publishAck(pub, t1, ['one'], { k: 1 });
      await publishAck(pub, 'com.example.pubsub.elsewhere', ['nomatch']);
      const t2 = `${prefix}.c`;
      await publishAck(pub, t2, ['two']);

      const e1 = await events.nth(1, ARRIVAL_MS, `event for ${t1}`);
      assert.equal(e1.details.topic, t1);
      assert.deepEqual(e1.args, ['one']);
      assert.deepEqual(e1.kwargs, { k: 1 });
      assert.equal(e1.details.publication, p1.id);
      const e2 = await events.nth(2, ARRIVAL_MS, `event for ${t2}`);
      assert.equal(e2.details.topic, t2, 'the non-matching publication was not delivered');
      assert.deepEqual(e2.args, ['two']);
    });

    test('wildcard subscription: details.topic is the published URI', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const base = uniqueUri('com.example.pubsub.wild');
      const { events } = await subscribeCollect(sub, `${base}..end`, { match: 'wildcard' });

      await publishAck(pub, `${base}.x.notend`, ['nomatch']);
      await publishAck(pub, `${base}.mid.end`, ['match']);
      const e = await events.nth(1, ARRIVAL_MS, 'wildcard event');
      assert.equal(e.details.topic, `${base}.mid.end`);
      assert.deepEqual(e.args, ['match']);
    });

    test('exact and prefix subscriptions of one session each get the event', async () => {
      const sub = await connect(router.url, { serializer: ser });
      const pub = await connect(router.url, { serializer: ser });
      const prefix = uniqueUri('com.example.pubsub.both');
      const topic = `${prefix}.x`;
      const exact = await subscribeCollect(sub, topic);
      const pfx = await subscribeCollect(sub, prefix, { match: 'prefix' });
      assert.notEqual(exact.subscription.id, pfx.subscription.id, 'distinct subscriptions');

      const p = await publishAck(pub, topic, ['both']);
      const e1 = await exact.events.nth(1, ARRIVAL_MS, 'event on the exact subscription');
      const e2 = await pfx.events.nth(1, ARRIVAL_MS, 'event on the prefix subscription');
      assert.equal(e1.details.publication, p.id);
      assert.equal(e2.details.publication, p.id);
      assert.equal(e2.details.topic, topic);
      assert.deepEqual(e1.args, ['both']);
      assert.deepEqual(e2.args, ['both']);
    });
  });
}

describe('pubsub across serializers', { timeout: 20000 }, () => {
  for (const [from, to] of [['json', 'msgpack'], ['msgpack', 'json']]) {
    test(`${from} publisher -> ${to} subscriber keeps values`, async () => {
      const sub = await connect(router.url, { serializer: to });
      const pub = await connect(router.url, { serializer: from });
      const topic = uniqueUri('com.example.pubsub.cross');
      const { events } = await subscribeCollect(sub, topic);
      await publishAck(pub, topic, ARGS, KWARGS);
      const ev = await events.nth(1);
      assert.deepEqual(ev.args, ARGS);
      assert.deepEqual(ev.kwargs, KWARGS);
    });
  }

  // Binary: msgpack `bin` <-> JSON string "\0" + base64 (WAMP spec).
  const BYTES = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const B64 = '\u0000' + BYTES.toString('base64');

  test('msgpack bytes arrive at a JSON subscriber as \\0-base64 strings', async () => {
    const sub = await connect(router.url, { serializer: 'json' });
    const pub = await connect(router.url, { serializer: 'msgpack' });
    const topic = uniqueUri('com.example.pubsub.bin2json');
    const { events } = await subscribeCollect(sub, topic);
    await publishAck(pub, topic, [BYTES, 'text'], { blob: BYTES });
    const ev = await events.nth(1);
    assert.deepEqual(ev.args, [B64, 'text']);
    assert.deepEqual(ev.kwargs, { blob: B64 });
  });

  test('JSON \\0-base64 strings arrive at a msgpack subscriber as bytes', async () => {
    const sub = await connect(router.url, { serializer: 'msgpack' });
    const pub = await connect(router.url, { serializer: 'json' });
    const topic = uniqueUri('com.example.pubsub.json2bin');
    const { events } = await subscribeCollect(sub, topic);
    await publishAck(pub, topic, [B64, 'text'], { blob: B64 });
    const ev = await events.nth(1);
    assert.ok(Buffer.isBuffer(ev.args[0]), `args[0] must be bytes, got ${JSON.stringify(ev.args[0])}`);
    assert.deepEqual([...ev.args[0]], [...BYTES]);
    assert.equal(ev.args[1], 'text');
    assert.ok(Buffer.isBuffer(ev.kwargs.blob), `kwargs.blob must be bytes, got ${JSON.stringify(ev.kwargs.blob)}`);
    assert.deepEqual([...ev.kwargs.blob], [...BYTES]);
  });

  test('msgpack bytes stay bytes between msgpack peers', async () => {
    const sub = await connect(router.url, { serializer: 'msgpack' });
    const pub = await connect(router.url, { serializer: 'msgpack' });
    const topic = uniqueUri('com.example.pubsub.bin2bin');
    const { events } = await subscribeCollect(sub, topic);
    await publishAck(pub, topic, [BYTES]);
    const ev = await events.nth(1);
    assert.ok(Buffer.isBuffer(ev.args[0]), `args[0] must be bytes, got ${JSON.stringify(ev.args[0])}`);
    assert.deepEqual([...ev.args[0]], [...BYTES]);
  });
});

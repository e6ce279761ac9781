// Broker Advanced Profile with autobahn.js over JSON, msgpack and CBOR: pattern-based
// subscriptions, publisher exclusion, publisher identification, subscriber black- and
// whitelisting, event retention.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, assertRouterAlive, clientScope, closeAllClients, collector,
  routerConfig, startRouter, uniqueUri, withTimeout,
} from './harness.mjs';

// Ticket principals give sessions known authids and authroles.
const PRINCIPALS = {
  alice: { ticket: 'alice-ticket', role: 'frontend' },
  bob: { ticket: 'bob-ticket', role: 'backend' },
  carol: { ticket: 'carol-ticket', role: 'frontend' },
  dana: { ticket: 'dana-ticket', role: 'discloser' },
  sam: { ticket: 'sam-ticket', role: 'secretive' },
};

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  roles: [
    { name: 'anonymous', permissions: [ALLOW_ALL] },
    { name: 'frontend', permissions: [ALLOW_ALL] },
    { name: 'backend', permissions: [ALLOW_ALL] },
    // The permission decides disclosure when it says so (README: WAMP support).
    { name: 'discloser', permissions: [{ ...ALLOW_ALL, disclose: { caller: true, publisher: true } }] },
    { name: 'secretive', permissions: [{ ...ALLOW_ALL, disclose: { caller: false, publisher: false } }] },
  ],
  auth: {
    anonymous: { type: 'static', role: 'anonymous' },
    ticket: { type: 'static', principals: PRINCIPALS },
  },
});

let router;

before(async () => {
  router = await startRouter(config);
});

after(async () => {
  await closeAllClients();
  if (router) await router.stop();
});

/** A ticket login as one of PRINCIPALS; checks the WELCOME. */
async function login(scope, ser, authid) {
  const c = await scope.connect(router.url, {
    serializer: ser, authmethods: ['ticket'], authid, onchallenge: () => PRINCIPALS[authid].ticket,
  });
  assert.equal(c.details.authid, authid);
  assert.equal(c.details.authrole, PRINCIPALS[authid].role);
  return c;
}

function subscribeCollect(client, topic, options) {
  const events = collector();
  const p = client.session.subscribe(topic, (args, kwargs, details) => events.push({ args, kwargs, details }), options);
  return withTimeout(p, ARRIVAL_MS, `SUBSCRIBED ${topic}`).then((subscription) => ({ subscription, events }));
}

function publishAck(client, topic, args, kwargs, options = {}) {
  return withTimeout(client.session.publish(topic, args, kwargs, { ...options, acknowledge: true }), ARRIVAL_MS, `PUBLISHED ${topic}`);
}

/** Waits until `events` holds an event for which pred(event) holds. */
function until(events, pred, what) {
  return withTimeout(new Promise((resolve) => {
    const check = () => (events.items.some(pred) ? resolve() : setTimeout(check, 5));
    check();
  }), ARRIVAL_MS, what);
}

/**
 * Publishes `marker` to `topic` and waits until every collector in `subs` got it. Events of
 * one publisher arrive in order, so once the marker is there nothing published before it is
 * still on its way.
 */
async function settle(pub, topic, subs, marker = 'marker') {
  await publishAck(pub, topic, [marker]);
  for (const s of subs) await until(s, (e) => e.args[0] === marker, `marker event ${marker}`);
}

const argsOf = (events) => events.items.map((e) => e.args[0]);

// The serializer suites run concurrently, each with its own clients.
describe('pubsub advanced', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`pubsub advanced over ${ser}`, { timeout: 20000, concurrency: 1 }, () => {
      const scope = clientScope();
      afterEach(async () => {
        await scope.closeAll();
        assertRouterAlive(router);
      });

      // ---------------------------------------------------------------- pattern_based_subscription

      test('pattern_based_subscription: exact, prefix and wildcard subscriptions each get the event, details.topic is the published URI', async () => {
        const sub = await scope.connect(router.url, { serializer: ser });
        const pub = await scope.connect(router.url, { serializer: ser });
        assert.equal(sub.session.features.subscriber.pattern_based_subscription, true, 'feature negotiated');
        // Prefix patterns end in a fixed component so that no other test's URI (com.example...all5 vs all53)
        // extends them character-wise while the suites run concurrently.
        const base = `${uniqueUri('com.example.pattern.all')}.root`;
        const exact = await subscribeCollect(sub, `${base}.a.end`);
        const prefix = await subscribeCollect(sub, base, { match: 'prefix' });
        const wild = await subscribeCollect(sub, `${base}..end`, { match: 'wildcard' });
        const ids = new Set([exact, prefix, wild].map((s) => s.subscription.id));
        assert.equal(ids.size, 3, 'three distinct subscriptions');

        const p1 = await publishAck(pub, `${base}.a.end`, ['all three'], { n: 1 });
        await publishAck(pub, `${base}.b.other`, ['prefix only']);
        await publishAck(pub, `${base}.c.end.more`, ['prefix only, too long for the wildcard']);
        await publishAck(pub, 'com.example.elsewhere.a.end', ['nobody']);
        await publishAck(pub, `${base}.z.end`, ['prefix and wildcard']);
        await publishAck(pub, `${base}.a.end`, ['last']);
        await exact.events.nth(2, ARRIVAL_MS, 'last event on the exact subscription');
        await wild.events.nth(3, ARRIVAL_MS, 'last event on the wildcard subscription');
        await prefix.events.nth(5, ARRIVAL_MS, 'last event on the prefix subscription');
        // Events of one publisher arrive in order: with the last one in, nothing else is coming.

        for (const s of [exact, prefix, wild]) {
          const first = s.events.items[0];
          assert.equal(first.details.publication, p1.id, 'the same publication id on every subscription');
          assert.equal(first.details.topic, `${base}.a.end`);
          assert.deepEqual(first.args, ['all three']);
          assert.deepEqual(first.kwargs, { n: 1 });
        }
        assert.deepEqual(exact.events.items.map((e) => [e.args[0], e.details.topic]),
          [['all three', `${base}.a.end`], ['last', `${base}.a.end`]]);
        assert.deepEqual(wild.events.items.map((e) => [e.args[0], e.details.topic]),
          [['all three', `${base}.a.end`], ['prefix and wildcard', `${base}.z.end`], ['last', `${base}.a.end`]]);
        assert.deepEqual(prefix.events.items.map((e) => [e.args[0], e.details.topic]), [
          ['all three', `${base}.a.end`],
          ['prefix only', `${base}.b.other`],
          ['prefix only, too long for the wildcard', `${base}.c.end.more`],
          ['prefix and wildcard', `${base}.z.end`],
          ['last', `${base}.a.end`],
        ]);
      });

      test("pattern_based_subscription: the spec's wildcard examples", async () => {
        const sub = await scope.connect(router.url, { serializer: ser });
        const pub = await scope.connect(router.url, { serializer: ser });
        const app = `${uniqueUri('com.wild.myapp')}.app`; // `${app}2` is no other test's URI
        const { events } = await subscribeCollect(sub, `${app}..userevent`, { match: 'wildcard' });
        for (const t of [`${app}.foo.userevent`, `${app}.foo.userevent.bar`, `${app}.foo.user`, `${app}2.foo.userevent`, `${app}.bar.userevent`, `${app}.a12.userevent`]) {
          await publishAck(pub, t, [t]);
        }
        await events.nth(3, ARRIVAL_MS, 'third matching event (the last publication)');
        assert.deepEqual(events.items.map((e) => e.details.topic), [`${app}.foo.userevent`, `${app}.bar.userevent`, `${app}.a12.userevent`]);
        assert.deepEqual(events.items.map((e) => e.args[0]), [`${app}.foo.userevent`, `${app}.bar.userevent`, `${app}.a12.userevent`]);
      });

      test("pattern_based_subscription: the spec's prefix examples", async () => {
        const sub = await scope.connect(router.url, { serializer: ser });
        const pub = await scope.connect(router.url, { serializer: ser });
        const em = `${uniqueUri('com.myapp.topic')}.emergency`;
        const { events } = await subscribeCollect(sub, em, { match: 'prefix' });
        for (const t of [`${em}.11`, `${em.slice(0, -3)}`, `${em}.category.severe`, em]) {
          await publishAck(pub, t, [t]);
        }
        await events.nth(3, ARRIVAL_MS, 'third matching event (the last publication)');
        assert.deepEqual(events.items.map((e) => e.details.topic), [`${em}.11`, `${em}.category.severe`, em],
          `'${em.slice(0, -3)}' (emerge) must not match`);
      });

      test("pattern_based_subscription: prefix matching is on the string, as the spec's own example ('emergency-low')", async () => {
        // The spec: a prefix subscription to com.myapp.topic.emergency also receives
        // com.myapp.topic.emergency-low (Crossbar and Nexus agree; README, "Matching").
        const sub = await scope.connect(router.url, { serializer: ser });
        const pub = await scope.connect(router.url, { serializer: ser });
        const em = `${uniqueUri('com.myapp.topic')}.emergency`;
        const { events } = await subscribeCollect(sub, em, { match: 'prefix' });
        await publishAck(pub, `${em}-low`, ['low']);
        await publishAck(pub, `${em.slice(0, -1)}`, ['shorter']);
        await publishAck(pub, `${em}.11`, ['11']);
        await until(events, (e) => e.args[0] === '11', `the event for ${em}.11`);
        assert.deepEqual(events.items.map((e) => e.details.topic), [`${em}-low`, `${em}.11`],
          'a prefix subscription to X.emergency receives X.emergency-low, not X.emergenc');
      });

      // ---------------------------------------------------------------- publisher_exclusion

      test('publisher_exclusion: the publisher is excluded by default and with exclude_me: true, included with exclude_me: false', async () => {
        const pub = await scope.connect(router.url, { serializer: ser });
        const other = await scope.connect(router.url, { serializer: ser });
        assert.equal(pub.session.features.publisher.publisher_exclusion, true, 'feature negotiated');
        const topic = uniqueUri('com.example.exclusion');
        const own = await subscribeCollect(pub, topic);
        const theirs = await subscribeCollect(other, topic);

        await publishAck(pub, topic, ['default']);
        await publishAck(pub, topic, ['exclude_me true'], {}, { exclude_me: true });
        await publishAck(pub, topic, ['exclude_me false'], {}, { exclude_me: false });
        await publishAck(pub, topic, ['default again']);
        await publishAck(pub, topic, ['marker'], {}, { exclude_me: false });
        await own.events.nth(2, ARRIVAL_MS, 'the marker on the own subscription');
        await theirs.events.nth(5, ARRIVAL_MS, 'the marker on the other subscription');
        assert.deepEqual(argsOf(own.events), ['exclude_me false', 'marker']);
        assert.deepEqual(argsOf(theirs.events), ['default', 'exclude_me true', 'exclude_me false', 'default again', 'marker']);
      });

      // ---------------------------------------------------------------- publisher_identification

      test('publisher_identification: disclose_me gives details.publisher, publisher_authid and publisher_authrole', async () => {
        const sub = await scope.connect(router.url, { serializer: ser });
        const alice = await login(scope, ser, 'alice');
        assert.equal(alice.session.features.publisher.publisher_identification, true, 'feature negotiated');
        const topic = uniqueUri('com.example.disclose');
        const { events } = await subscribeCollect(sub, topic);

        await publishAck(alice, topic, ['hidden']);
        await publishAck(alice, topic, ['disclosed'], {}, { disclose_me: true });
        await publishAck(alice, topic, ['hidden again'], {}, { disclose_me: false });
        await events.nth(3);

        const [hidden, disclosed, hiddenAgain] = events.items;
        assert.deepEqual(disclosed.args, ['disclosed']);
        assert.equal(disclosed.details.publisher, alice.session.id);
        assert.equal(disclosed.details.publisher_authid, 'alice');
        assert.equal(disclosed.details.publisher_authrole, 'frontend');
        for (const e of [hidden, hiddenAgain]) {
          assert.equal(e.details.publisher, undefined, `no publisher without disclose_me (${e.args[0]})`);
          assert.equal(e.details.publisher_authid, undefined);
          assert.equal(e.details.publisher_authrole, undefined);
        }
      });

      test("publisher_identification: the permission's disclose.publisher overrides disclose_me", async () => {
        const sub = await scope.connect(router.url, { serializer: ser });
        const dana = await login(scope, ser, 'dana'); // role discloser: disclose.publisher true
        const sam = await login(scope, ser, 'sam'); // role secretive: disclose.publisher false
        const topic = uniqueUri('com.example.disclose.perm');
        const { events } = await subscribeCollect(sub, topic);

        await publishAck(dana, topic, ['dana']);
        await publishAck(sam, topic, ['sam'], {}, { disclose_me: true });
        const byDana = await events.nth(1);
        const bySam = await events.nth(2);
        assert.deepEqual([byDana.args[0], bySam.args[0]], ['dana', 'sam']);
        assert.equal(byDana.details.publisher, dana.session.id);
        assert.equal(byDana.details.publisher_authid, 'dana');
        assert.equal(byDana.details.publisher_authrole, 'discloser');
        assert.equal(bySam.details.publisher, undefined, 'disclose.publisher false wins over disclose_me');
        assert.equal(bySam.details.publisher_authid, undefined);
      });

      // ---------------------------------------------------------------- subscriber_blackwhite_listing

      test('subscriber_blackwhite_listing: exclude / eligible by session id, authid and authrole', async () => {
        const pub = await scope.connect(router.url, { serializer: ser });
        assert.equal(pub.session.features.publisher.subscriber_blackwhite_listing, true, 'feature negotiated');
        const a = await login(scope, ser, 'alice'); // frontend
        const b = await login(scope, ser, 'bob'); // backend
        const c = await login(scope, ser, 'carol'); // frontend
        const topic = uniqueUri('com.example.bwlist');
        const ea = (await subscribeCollect(a, topic)).events;
        const eb = (await subscribeCollect(b, topic)).events;
        const ec = (await subscribeCollect(c, topic)).events;
        const [ida, idb, idc] = [a.session.id, b.session.id, c.session.id];

        await publishAck(pub, topic, ['exclude a'], {}, { exclude: [ida] });
        await publishAck(pub, topic, ['eligible a b'], {}, { eligible: [ida, idb] });
        await publishAck(pub, topic, ['exclude_authid bob'], {}, { exclude_authid: ['bob'] });
        await publishAck(pub, topic, ['eligible_authid carol'], {}, { eligible_authid: ['carol'] });
        await publishAck(pub, topic, ['exclude_authrole frontend'], {}, { exclude_authrole: ['frontend'] });
        await publishAck(pub, topic, ['eligible_authrole frontend'], {}, { eligible_authrole: ['frontend'] });
        await publishAck(pub, topic, ['eligible frontend, exclude c'], {}, { eligible_authrole: ['frontend'], exclude: [idc] });
        await publishAck(pub, topic, ['eligible a c, exclude_authid alice'], {}, { eligible: [ida, idc], exclude_authid: ['alice'] });
        await settle(pub, topic, [ea, eb, ec]);

        assert.deepEqual(argsOf(ea), ['eligible a b', 'exclude_authid bob', 'eligible_authrole frontend', 'eligible frontend, exclude c', 'marker']);
        assert.deepEqual(argsOf(eb), ['exclude a', 'eligible a b', 'exclude_authrole frontend', 'marker']);
        assert.deepEqual(argsOf(ec), ['exclude a', 'exclude_authid bob', 'eligible_authid carol', 'eligible_authrole frontend', 'eligible a c, exclude_authid alice', 'marker']);
      });

      // ---------------------------------------------------------------- event_retention

      test('event_retention: a late subscriber with get_retained gets the last retained event with details.retained', async () => {
        const pub = await scope.connect(router.url, { serializer: ser });
        const topic = uniqueUri('com.example.retained');
        const p1 = await publishAck(pub, topic, ['first'], { n: 1 }, { retain: true });
        const p2 = await publishAck(pub, topic, ['latest'], { n: 2 }, { retain: true });
        assert.notEqual(p1.id, p2.id);

        const late = await scope.connect(router.url, { serializer: ser });
        const replay = await subscribeCollect(late, topic, { get_retained: true });
        const plain = await subscribeCollect(late, `${topic}.plain`, { get_retained: true });
        const ev = await replay.events.nth(1, ARRIVAL_MS, 'the retained event');
        assert.deepEqual(ev.args, ['latest']);
        assert.deepEqual(ev.kwargs, { n: 2 });
        assert.equal(ev.details.retained, true, 'details.retained on the replay');
        assert.equal(ev.details.publication, p2.id, 'the replay has the publication id of the retained event');

        // A publication without retain does not replace the retained one; live events are not
        // marked retained; a subscription without get_retained gets no replay.
        await publishAck(pub, topic, ['not retained']);
        const live = await replay.events.nth(2, ARRIVAL_MS, 'the live event');
        assert.deepEqual(live.args, ['not retained']);
        assert.equal(live.details.retained, false);
        const noReplay = await scope.connect(router.url, { serializer: ser });
        const none = await subscribeCollect(noReplay, topic);
        const again = await scope.connect(router.url, { serializer: ser });
        const second = await subscribeCollect(again, topic, { get_retained: true });
        const ev2 = await second.events.nth(1, ARRIVAL_MS, 'the retained event for the second late subscriber');
        assert.deepEqual(ev2.args, ['latest'], 'the unretained publication did not replace the retained one');
        await publishAck(pub, topic, ['after']);
        const firstSeen = await none.events.nth(1, ARRIVAL_MS, 'a live event without get_retained');
        assert.deepEqual(firstSeen.args, ['after'], 'no replay without get_retained');
        assert.deepEqual((await replay.events.nth(3, ARRIVAL_MS, 'the last live event')).args, ['after']);
        assert.equal(replay.events.items.length, 3);
        // A replay on `plain` would have come before the live events on the same connection.
        assert.equal(plain.events.items.length, 0, 'nothing retained on a topic nobody retained on');
      });

      test('event_retention: a prefix subscription with get_retained gets the retained events of matching topics', async () => {
        const pub = await scope.connect(router.url, { serializer: ser });
        const base = `${uniqueUri('com.example.retained.tree')}.root`;
        await publishAck(pub, `${base}.a`, ['a'], {}, { retain: true });
        await publishAck(pub, `${base}.b.c`, ['b.c'], {}, { retain: true });
        await publishAck(pub, `${uniqueUri('com.example.retained.other')}.a`, ['other'], {}, { retain: true });

        const late = await scope.connect(router.url, { serializer: ser });
        const { events } = await subscribeCollect(late, base, { match: 'prefix', get_retained: true });
        // Replays come right after SUBSCRIBED, so before a live event published afterwards.
        await publishAck(pub, `${base}.live`, ['live']);
        const live = await events.nth(3, ARRIVAL_MS, 'two retained events and the live one');
        assert.deepEqual([live.args[0], live.details.retained], ['live', false]);
        assert.deepEqual(
          events.items.slice(0, 2).map((e) => [e.args[0], e.details.topic, e.details.retained]).sort(),
          [['a', `${base}.a`, true], ['b.c', `${base}.b.c`, true]]);
        assert.equal(events.items.length, 3, 'no retained event of a topic outside the prefix');
      });

    });
  }
});

// The WAMP meta API with autobahn.js over JSON, msgpack and CBOR: the session procedures
// (count, list, get, kill, kill_by_authid, kill_by_authrole, kill_all) and events (on_join,
// on_leave), the subscription and registration procedures and events, and testaments
// (add_testament, flush_testaments) published when a session is killed or its connection
// is lost.
//
// Each serializer suite has a realm of its own (the meta API is per realm), so the suites run
// concurrently while counts, lists and kill_all stay exact.
//
// How autobahn.js reports a kill: the router's GOODBYE reaches `session.onleave`, which
// Connection takes over (it records reason and message and closes the transport); the
// application sees them in `connection.onclose(reason, details)` as `details.reason` (the
// GOODBYE reason URI) and `details.message` (GOODBYE.Details.message), with `reason`
// 'closed' for the clean WebSocket close. The harness hands those to `client.closed`.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, MSG, assertRouterAlive, assertWampId, clientScope, closeAllClients, collector,
  dropTransport, expectWampError, routerConfig, startRouter, uniqueUri, wireTap, withTimeout,
} from './harness.mjs';

const REALM = Object.fromEntries(ALL_SERIALIZERS.map((ser) => [ser, `meta.${ser}`]));

const USERS = ['alice', 'bob', 'carol', 'dave'];
const PRINCIPALS = Object.fromEntries(USERS.map((name) => [name, { ticket: `${name}-ticket`, role: 'user' }]));

// "user" may use com.example. and add/flush its own testaments, nothing else of the meta API.
const callOnly = (uri) => ({
  uri, match: 'exact', allow: { call: true, register: false, publish: false, subscribe: false },
});
const USER_ROLE = {
  name: 'user',
  permissions: [
    { ...ALLOW_ALL, uri: 'com.example' },
    callOnly('wamp.session.add_testament'),
    callOnly('wamp.session.flush_testaments'),
  ],
};

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  realms: ALL_SERIALIZERS.map((ser) => ({
    name: REALM[ser],
    roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }, USER_ROLE],
  })),
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

const byNumber = (a, b) => a - b;
const sorted = (ids) => [...ids].sort(byNumber);

function call(client, procedure, args, kwargs) {
  return withTimeout(client.session.call(procedure, args, kwargs), ARRIVAL_MS, `RESULT of ${procedure}`);
}

function subscribe(client, topic, handler, options) {
  return withTimeout(client.session.subscribe(topic, handler, options), ARRIVAL_MS, `SUBSCRIBED ${topic}`);
}

function register(client, procedure, endpoint, options) {
  return withTimeout(client.session.register(procedure, endpoint, options), ARRIVAL_MS, `REGISTERED ${procedure}`);
}

/** Subscribes `client` to each `${prefix}${name}` topic; one collector of {name, args}. */
async function watch(client, prefix, names) {
  const events = collector();
  for (const name of names) {
    await subscribe(client, `${prefix}${name}`, (args) => events.push({ name, args }));
  }
  return events;
}

/** Resolves with {reason, details} of the client's connection close, or fails. */
function closedBy(client, what) {
  return withTimeout(client.closed, ARRIVAL_MS, `${what}: the killed session's connection close`);
}

describe('meta API', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`meta API over ${ser}`, { timeout: 30000, concurrency: 1 }, () => {
      const scope = clientScope();
      const realm = REALM[ser];

      afterEach(async () => {
        await scope.closeAll();
        assertRouterAlive(router);
      });

      const anon = (serializer = ser) => scope.connect(router.url, { serializer, realm });
      const user = async (authid, serializer = ser) => {
        const c = await scope.connect(router.url, {
          serializer, realm, authmethods: ['ticket'], authid, onchallenge: () => PRINCIPALS[authid].ticket,
        });
        assert.equal(c.details.authrole, 'user');
        return c;
      };

      // ------------------------------------------------------------------ features

      test('WELCOME announces the meta API features', async () => {
        const c = await anon();
        const { roles } = c.details;
        for (const [role, names] of [
          ['broker', ['session_meta_api', 'subscription_meta_api']],
          ['dealer', ['session_meta_api', 'registration_meta_api', 'testament_meta_api', 'progressive_call_invocations']],
        ]) {
          for (const name of names) {
            assert.equal(roles?.[role]?.features?.[name], true, `${role}.features.${name} in ${JSON.stringify(roles)}`);
          }
        }
      });

      // ------------------------------------------------------------------ session procedures

      test('wamp.session.count, list and get (with filter_authroles)', async () => {
        const admin = await anon();
        const other = await anon('json');
        const alice = await user('alice');
        const all = [admin, other, alice].map((c) => c.session.id);
        const otherId = other.session.id;

        assert.equal(await call(admin, 'wamp.session.count'), 3);
        assert.equal(await call(admin, 'wamp.session.count', [['user']]), 1);
        assert.equal(await call(admin, 'wamp.session.count', [['user', 'anonymous']]), 3);
        assert.equal(await call(admin, 'wamp.session.count', [['nobody']]), 0);
        assert.equal(await call(admin, 'wamp.session.count', [], { filter_authroles: ['anonymous'] }), 2, 'filter_authroles as a keyword');

        assert.deepEqual(sorted(await call(admin, 'wamp.session.list')), sorted(all));
        assert.deepEqual(await call(admin, 'wamp.session.list', [['user']]), [alice.session.id]);
        assert.deepEqual(sorted(await call(admin, 'wamp.session.list', [], { filter_authroles: ['anonymous'] })),
          sorted([admin.session.id, other.session.id]));
        assert.deepEqual(await call(admin, 'wamp.session.list', [['nobody']]), []);

        const details = await call(admin, 'wamp.session.get', [alice.session.id]);
        assert.equal(details.session, alice.session.id);
        assert.deepEqual([details.authid, details.authrole, details.authmethod, details.authprovider],
          ['alice', 'user', 'ticket', 'static']);
        assert.equal(details.transport?.type, 'websocket');
        assert.equal(details.transport?.protocol, `wamp.2.${ser}`);
        assert.match(details.transport?.peer ?? '', /^tcp4:127\.0\.0\.1:\d+$/);
        const mine = await call(admin, 'wamp.session.get', [admin.session.id]);
        assert.deepEqual([mine.session, mine.authrole, mine.authmethod], [admin.session.id, 'anonymous', 'anonymous']);

        await expectWampError(admin.session.call('wamp.session.get', [1234567]), 'wamp.error.no_such_session');
        await expectWampError(admin.session.call('wamp.session.get', ['not an id']), 'wamp.error.invalid_argument');

        await other.close();
        assert.equal(await call(admin, 'wamp.session.count'), 2, 'a session that left is not counted');
        await expectWampError(admin.session.call('wamp.session.get', [otherId]), 'wamp.error.no_such_session');
      });

      // ------------------------------------------------------------------ session events

      test('wamp.session.on_join and on_leave carry the spec payloads', async () => {
        const watcher = await anon();
        const events = await watch(watcher, 'wamp.session.', ['on_join', 'on_leave']);

        const bob = await user('bob', 'json');
        const bobId = bob.session.id;
        const join = await events.waitFor((e) => e.name === 'on_join' && e.args[0]?.session === bobId, 'on_join of bob');
        assert.equal(join.args.length, 1, 'on_join: one positional argument, the SessionDetails');
        const d = join.args[0];
        assert.deepEqual([d.authid, d.authrole, d.authmethod, d.authprovider], ['bob', 'user', 'ticket', 'static']);
        assert.equal(d.transport?.type, 'websocket');
        assert.equal(d.transport?.protocol, 'wamp.2.json');

        await bob.close();
        const leave = await events.waitFor((e) => e.name === 'on_leave' && e.args[0] === bobId, 'on_leave of bob');
        assert.deepEqual(leave.args, [bobId, 'bob', 'user'], 'on_leave: [session, authid, authrole]');

        // A connection closed without GOODBYE leaves too.
        const lost = await anon('msgpack');
        const lostId = lost.session.id;
        const lostAuthid = lost.details.authid;
        await events.waitFor((e) => e.name === 'on_join' && e.args[0]?.session === lostId, 'on_join of the msgpack session');
        await dropTransport(lost);
        const gone = await events.waitFor((e) => e.name === 'on_leave' && e.args[0] === lostId, 'on_leave after a dropped transport');
        assert.deepEqual(gone.args, [lostId, lostAuthid, 'anonymous']);
        assert.equal(events.items.filter((e) => e.args[0] === watcher.session.id || e.args[0]?.session === watcher.session.id).length, 0,
          'no events about the watcher itself');
      });

      // ------------------------------------------------------------------ kill

      test('wamp.session.kill: the autobahn.js session closes with the given reason and message', async () => {
        const admin = await anon();
        const target = await anon();
        const targetId = target.session.id;
        const targetAuthid = target.details.authid;
        const wire = wireTap(target);
        const topic = uniqueUri('com.example.meta.killed');
        await subscribe(target, topic, () => {});
        const leaves = await watch(admin, 'wamp.session.', ['on_leave']);

        const result = await call(admin, 'wamp.session.kill', [targetId], { reason: 'com.example.kicked', message: 'go away' });
        assert.equal(result, null, 'kill returns nothing');
        const { reason, details } = await closedBy(target, 'kill');
        assert.equal(reason, 'closed', 'a clean close of the WebSocket');
        assert.equal(details.reason, 'com.example.kicked', 'connection.onclose details.reason: the GOODBYE reason');
        assert.equal(details.message, 'go away', 'connection.onclose details.message: GOODBYE.Details.message');
        assert.deepEqual(wire.filter((m) => m[0] === MSG.GOODBYE), [[MSG.GOODBYE, { message: 'go away' }, 'com.example.kicked']]);

        const leave = await leaves.waitFor((e) => e.args[0] === targetId, 'on_leave of the killed session');
        assert.deepEqual(leave.args, [targetId, targetAuthid, 'anonymous']);
        assert.equal(await call(admin, 'wamp.session.count'), 1);
        assert.equal(await call(admin, 'wamp.subscription.match', [topic]), null, "the killed session's subscription is gone");

        // The spec: only *other* sessions can be killed.
        await expectWampError(admin.session.call('wamp.session.kill', [targetId]), 'wamp.error.no_such_session', 'kill of a gone session');
        await expectWampError(admin.session.call('wamp.session.kill', [admin.session.id]), 'wamp.error.no_such_session', 'kill of oneself');
        assert.equal(admin.isClosed, false, 'killing oneself is refused');

        const other = await anon('json');
        await expectWampError(admin.session.call('wamp.session.kill', [other.session.id], { reason: 'not a uri!' }), 'wamp.error.invalid_uri');
        assert.equal(other.isClosed, false, 'a refused kill closes nothing');
        // Without a reason: the spec's default, wamp.close.normal, and no message.
        await call(admin, 'wamp.session.kill', [other.session.id]);
        const normal = await closedBy(other, 'kill without reason');
        assert.deepEqual([normal.details.reason, normal.details.message], ['wamp.close.normal', '']);
      });

      test('kill_by_authid, kill_by_authrole and kill_all return counts and spare the caller', async () => {
        const admin = await anon();
        const alice1 = await user('alice');
        const alice2 = await user('alice', 'json');
        const bob = await user('bob');
        const anon2 = await anon('msgpack');

        assert.equal(await call(admin, 'wamp.session.kill_by_authid', ['alice'], { message: 'alice only' }), 2);
        for (const alice of [alice1, alice2]) {
          const { details } = await closedBy(alice, 'kill_by_authid');
          assert.deepEqual([details.reason, details.message], ['wamp.close.normal', 'alice only']);
        }
        assert.equal(bob.isClosed, false, 'bob is not alice');
        assert.equal(await call(admin, 'wamp.session.kill_by_authid', ['nobody']), 0);

        assert.equal(await call(admin, 'wamp.session.kill_by_authrole', ['user'], { reason: 'com.example.users_out' }), 1);
        assert.equal((await closedBy(bob, 'kill_by_authrole')).details.reason, 'com.example.users_out');
        // The caller is anonymous too, but never kills itself.
        assert.equal(await call(admin, 'wamp.session.kill_by_authrole', ['anonymous']), 1);
        await closedBy(anon2, 'kill_by_authrole anonymous');
        assert.equal(admin.isClosed, false, 'kill_by_authrole spares the caller');

        const carol = await user('carol');
        const dave = await user('dave', 'cbor');
        assert.equal(await call(admin, 'wamp.session.kill_all', [], { reason: 'com.example.all_out', message: 'everyone' }), 2);
        for (const c of [carol, dave]) {
          const { details } = await closedBy(c, 'kill_all');
          assert.deepEqual([details.reason, details.message], ['com.example.all_out', 'everyone']);
        }
        assert.equal(admin.isClosed, false, 'kill_all spares the caller');
        assert.deepEqual(await call(admin, 'wamp.session.list'), [admin.session.id]);
        assert.equal(await call(admin, 'wamp.session.kill_all'), 0);
      });

      test("the meta procedures obey the caller's permissions", async () => {
        const alice = await user('alice');
        const bob = await user('bob');
        for (const [procedure, args] of [['wamp.session.kill', [bob.session.id]], ['wamp.session.count', []], ['wamp.subscription.list', []]]) {
          await expectWampError(alice.session.call(procedure, args), 'wamp.error.not_authorized', procedure);
        }
        await expectWampError(alice.session.subscribe('wamp.session.on_join', () => {}), 'wamp.error.not_authorized', 'SUBSCRIBE on_join');
        assert.equal(bob.isClosed, false);
      });

      // ------------------------------------------------------------------ subscriptions

      test('subscription meta procedures: list, lookup, match, get, list_subscribers, count_subscribers', async () => {
        const admin = await anon();
        const a = await anon('json');
        const b = await anon('msgpack');
        const base = uniqueUri('com.example.metasub');
        const topic = `${base}.x.t`;
        const exact = await subscribe(a, topic, () => {});
        const exactB = await subscribe(b, topic, () => {});
        assert.equal(exactB.id, exact.id, 'one subscription, two subscribers');
        const prefix = await subscribe(b, base, () => {}, { match: 'prefix' });
        const wildcard = await subscribe(a, `${base}..t`, () => {}, { match: 'wildcard' });
        for (const s of [exact, prefix, wildcard]) assertWampId(s.id, 'subscription id');

        assert.deepEqual(await call(admin, 'wamp.subscription.list'), { exact: [exact.id], prefix: [prefix.id], wildcard: [wildcard.id] });

        assert.equal(await call(admin, 'wamp.subscription.lookup', [topic]), exact.id);
        assert.equal(await call(admin, 'wamp.subscription.lookup', [base, { match: 'prefix' }]), prefix.id);
        assert.equal(await call(admin, 'wamp.subscription.lookup', [`${base}..t`, { match: 'wildcard' }]), wildcard.id);
        assert.equal(await call(admin, 'wamp.subscription.lookup', [base]), null, 'no exact subscription on the prefix URI');
        assert.equal(await call(admin, 'wamp.subscription.lookup', ['com.example.nothing']), null);

        assert.deepEqual(sorted(await call(admin, 'wamp.subscription.match', [topic])), sorted([exact.id, prefix.id, wildcard.id]));
        assert.deepEqual(sorted(await call(admin, 'wamp.subscription.match', [`${base}.y.t`])), sorted([prefix.id, wildcard.id]));
        assert.deepEqual(await call(admin, 'wamp.subscription.match', [`${base}.x.y`]), [prefix.id]);
        assert.equal(await call(admin, 'wamp.subscription.match', ['org.none']), null);

        const details = await call(admin, 'wamp.subscription.get', [prefix.id]);
        assert.deepEqual([details.id, details.uri, details.match], [prefix.id, base, 'prefix']);
        assert.match(details.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `created ${details.created}`);

        assert.deepEqual(sorted(await call(admin, 'wamp.subscription.list_subscribers', [exact.id])), sorted([a.session.id, b.session.id]));
        assert.equal(await call(admin, 'wamp.subscription.count_subscribers', [exact.id]), 2);
        assert.deepEqual(await call(admin, 'wamp.subscription.list_subscribers', [wildcard.id]), [a.session.id]);
        assert.equal(await call(admin, 'wamp.subscription.count_subscribers', [prefix.id]), 1);
        for (const procedure of ['wamp.subscription.get', 'wamp.subscription.list_subscribers', 'wamp.subscription.count_subscribers']) {
          await expectWampError(admin.session.call(procedure, [424242]), 'wamp.error.no_such_subscription', procedure);
        }
      });

      test('subscription meta events: on_create, on_subscribe, on_unsubscribe, on_delete', async () => {
        const admin = await anon();
        const events = await watch(admin, 'wamp.subscription.', ['on_create', 'on_subscribe', 'on_unsubscribe', 'on_delete']);
        const a = await anon('json');
        const b = await anon('cbor');
        const [aId, bId] = [a.session.id, b.session.id];
        const topic = uniqueUri('com.example.metasub.events');
        const subA = await subscribe(a, topic, () => {});
        const subB = await subscribe(b, topic, () => {});
        const sid = subA.id;
        assert.equal(subB.id, sid);
        await withTimeout(subA.unsubscribe(), ARRIVAL_MS, 'UNSUBSCRIBED');
        await b.close(); // b's subscription goes with its session, and the subscription with it

        // The watcher's own subscriptions to the meta topics make events too: keep sid's.
        const about = (e) => (e.name === 'on_create' ? e.args[1]?.id === sid : e.args[1] === sid);
        await events.waitFor((e) => e.name === 'on_delete' && about(e), 'on_delete of the subscription');
        const seen = events.items.filter(about);
        assert.equal(seen[0].name, 'on_create');
        assert.equal(seen[0].args[0], aId);
        assert.deepEqual([seen[0].args[1].id, seen[0].args[1].uri, seen[0].args[1].match], [sid, topic, 'exact']);
        assert.equal(typeof seen[0].args[1].created, 'string');
        assert.deepEqual(seen.slice(1).map((e) => [e.name, ...e.args]), [
          ['on_subscribe', aId, sid],
          ['on_subscribe', bId, sid],
          ['on_unsubscribe', aId, sid],
          ['on_unsubscribe', bId, sid],
          ['on_delete', bId, sid],
        ]);
        // The watcher's own meta subscriptions were announced too.
        const own = events.items.filter((e) => e.name === 'on_subscribe' && e.args[0] === admin.session.id);
        assert.ok(own.length >= 1, 'the watcher sees its own later meta subscriptions');
      });

      // ------------------------------------------------------------------ registrations

      test('registration meta procedures and events; match names the registration a call goes to', async () => {
        const admin = await anon();
        const events = await watch(admin, 'wamp.registration.', ['on_create', 'on_register', 'on_unregister', 'on_delete']);
        const a = await anon('json');
        const b = await anon('msgpack');
        const [aId, bId] = [a.session.id, b.session.id];
        const base = uniqueUri('com.example.metareg');
        // The wildcard's tree does not start with `base`, which a prefix registration covers
        // on the string.
        const wbase = uniqueUri('com.example.metaregw');
        const proc = `${base}.proc`;
        const regA = await register(a, proc, () => 'a', { invoke: 'roundrobin' });
        const regB = await register(b, proc, () => 'b', { invoke: 'roundrobin' });
        assert.equal(regB.id, regA.id, 'one shared registration');
        const prefix = await register(a, base, () => 'p', { match: 'prefix' });
        const wildcard = await register(a, `${wbase}..leaf`, () => 'w', { match: 'wildcard' });
        const rid = regA.id;

        assert.deepEqual(await call(admin, 'wamp.registration.list'), { exact: [rid], prefix: [prefix.id], wildcard: [wildcard.id] });
        assert.equal(await call(admin, 'wamp.registration.lookup', [proc]), rid);
        assert.equal(await call(admin, 'wamp.registration.lookup', [base, { match: 'prefix' }]), prefix.id);
        assert.equal(await call(admin, 'wamp.registration.lookup', [`${wbase}..leaf`, { match: 'wildcard' }]), wildcard.id);
        assert.equal(await call(admin, 'wamp.registration.lookup', [`${base}.other`]), null);

        // match: the one registration a call would be routed to; the calls confirm it.
        for (const [uri, expected, answers] of [
          [proc, rid, ['a', 'b']], // exact beats the prefix
          [`${base}.other`, prefix.id, ['p']],
          [`${wbase}.x.leaf`, wildcard.id, ['w']],
        ]) {
          assert.equal(await call(admin, 'wamp.registration.match', [uri]), expected, `match ${uri}`);
          assert.ok(answers.includes(await call(admin, uri)), `a call of ${uri} goes to registration ${expected}`);
        }
        assert.equal(await call(admin, 'wamp.registration.match', ['org.other']), null);

        const details = await call(admin, 'wamp.registration.get', [rid]);
        assert.deepEqual([details.id, details.uri, details.match, details.invoke], [rid, proc, 'exact', 'roundrobin']);
        assert.match(details.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `created ${details.created}`);
        assert.equal((await call(admin, 'wamp.registration.get', [prefix.id])).match, 'prefix');
        assert.deepEqual(sorted(await call(admin, 'wamp.registration.list_callees', [rid])), sorted([aId, bId]));
        assert.equal(await call(admin, 'wamp.registration.count_callees', [rid]), 2);
        assert.equal(await call(admin, 'wamp.registration.count_callees', [wildcard.id]), 1);
        for (const procedure of ['wamp.registration.get', 'wamp.registration.list_callees', 'wamp.registration.count_callees']) {
          await expectWampError(admin.session.call(procedure, [99999]), 'wamp.error.no_such_registration', procedure);
        }

        await withTimeout(regA.unregister(), ARRIVAL_MS, 'UNREGISTERED');
        await b.close();
        await events.waitFor((e) => e.name === 'on_delete' && e.args[1] === rid, 'on_delete of the shared registration');
        const seen = events.items.map((e) => [e.name, e.args[0], e.name === 'on_create' ? e.args[1].id : e.args[1]]);
        assert.deepEqual(seen, [
          ['on_create', aId, rid],
          ['on_register', aId, rid],
          ['on_register', bId, rid],
          ['on_create', aId, prefix.id],
          ['on_register', aId, prefix.id],
          ['on_create', aId, wildcard.id],
          ['on_register', aId, wildcard.id],
          ['on_unregister', aId, rid],
          ['on_unregister', bId, rid],
          ['on_delete', bId, rid],
        ]);
        const created = events.items[0].args[1];
        assert.deepEqual([created.uri, created.match, created.invoke], [proc, 'exact', 'roundrobin']);
        assert.equal(await call(admin, 'wamp.registration.lookup', [proc]), null, 'the registration is gone');
      });

      // ------------------------------------------------------------------ testaments

      test('testaments are published when the session is killed (detached before destroyed)', async () => {
        const admin = await anon();
        const topic = uniqueUri('com.example.testament');
        const received = collector();
        await subscribe(admin, topic, (args, kwargs, details) => received.push({ args, kwargs, details }));
        const alice = await user('alice');
        const aliceId = alice.session.id;
        assert.equal(await call(alice, 'wamp.session.add_testament', [topic, ['alice destroyed'], { who: 'alice' }]), null,
          'add_testament returns nothing');
        await call(alice, 'wamp.session.add_testament', [topic, ['alice detached 1'], {}], { scope: 'detached' });
        await call(alice, 'wamp.session.add_testament', [topic, ['alice detached 2']], { scope: 'detached' });
        assert.equal(received.items.length, 0, 'nothing published while alice is joined');

        await call(admin, 'wamp.session.kill', [aliceId]);
        await closedBy(alice, 'kill');
        await received.nth(3, ARRIVAL_MS, 'three testament events');
        assert.deepEqual(received.items.map((e) => e.args), [['alice detached 1'], ['alice detached 2'], ['alice destroyed']],
          'detached testaments first, each scope in the order added');
        assert.deepEqual(received.items[2].kwargs, { who: 'alice' });
        assert.deepEqual(received.items[0].kwargs, {});
      });

      test('testaments are published when the socket is destroyed, with their publish_options', async () => {
        const admin = await anon();
        const topic = uniqueUri('com.example.testament');
        const toAdmin = collector();
        await subscribe(admin, topic, (args) => toAdmin.push(args));
        const carol = await user('carol', 'json');
        const toCarol = collector();
        await subscribe(carol, topic, (args) => toCarol.push(args));
        const leaves = await watch(admin, 'wamp.session.', ['on_leave']);

        // An autobahn.js session whose WebSocket closes without GOODBYE.
        const bob = await user('bob');
        await call(bob, 'wamp.session.add_testament', [topic, ['for carol only'], {}], { publish_options: { eligible_authid: ['carol'] } });
        await call(bob, 'wamp.session.add_testament', [topic, ['bob gone'], { n: 1 }], { publish_options: { exclude_authid: ['nobody'] } });
        await dropTransport(bob);
        assert.deepEqual(await toAdmin.nth(1, ARRIVAL_MS, "bob's testament at admin"), ['bob gone']);
        assert.deepEqual(await toCarol.nth(1, ARRIVAL_MS, "bob's first testament at carol"), ['for carol only']);
        assert.deepEqual(await toCarol.nth(2, ARRIVAL_MS, "bob's second testament at carol"), ['bob gone']);

        // A raw session whose TCP socket is destroyed (no WebSocket close, no GOODBYE).
        const lost = await scope.rawConnect(router.url, { serializer: ser, realm });
        const req = lost.request();
        await lost.send([MSG.CALL, req, {}, 'wamp.session.add_testament', [topic, ['raw gone'], { how: 'terminate' }], { scope: 'detached' }]);
        const reply = await lost.waitFor((m) => m[1] === req || m[2] === req, 'RESULT of add_testament');
        assert.equal(reply[0], MSG.RESULT, `add_testament: ${JSON.stringify(reply)}`);
        lost.ws.terminate();
        assert.deepEqual(await toAdmin.nth(2, ARRIVAL_MS, "the raw session's testament"), ['raw gone']);
        const leave = await leaves.waitFor((e) => e.args[0] === lost.sessionId, 'on_leave of the raw session');
        assert.equal(leave.args.length, 3);
        assert.deepEqual(toAdmin.items, [['bob gone'], ['raw gone']], "the eligible_authid testament did not reach admin");
      });

      test('flush_testaments drops a scope; bad testaments are refused', async () => {
        const admin = await anon();
        const topic = uniqueUri('com.example.testament');
        const received = collector();
        await subscribe(admin, topic, (args) => received.push(args));
        const leaves = await watch(admin, 'wamp.session.', ['on_leave']);

        const carol = await user('carol');
        const carolId = carol.session.id;
        await call(carol, 'wamp.session.add_testament', [topic, ['carol destroyed'], {}]);
        await call(carol, 'wamp.session.add_testament', [topic, ['carol detached'], {}], { scope: 'detached' });
        assert.equal(await call(carol, 'wamp.session.flush_testaments'), null, 'flush_testaments returns nothing');
        // Refused: a topic the role may not publish to, a wamp.* topic, a bad scope.
        await expectWampError(carol.session.call('wamp.session.add_testament', ['org.elsewhere', [], {}]), 'wamp.error.not_authorized');
        await expectWampError(carol.session.call('wamp.session.add_testament', ['wamp.session.on_join', [], {}]), 'wamp.error.invalid_uri');
        await expectWampError(admin.session.call('wamp.session.add_testament', ['wamp.session.on_join', [], {}]), 'wamp.error.invalid_uri');
        await expectWampError(carol.session.call('wamp.session.add_testament', [topic, [], {}], { scope: 'forever' }), 'wamp.error.invalid_argument');
        await expectWampError(carol.session.call('wamp.session.flush_testaments', [], { scope: 'forever' }), 'wamp.error.invalid_argument');
        await carol.close();
        // Testaments go out before on_leave: once it is here, all of carol's have arrived.
        await leaves.waitFor((e) => e.args[0] === carolId, 'on_leave of carol');
        assert.deepEqual(received.items, [['carol detached']], 'flush_testaments (default scope destroyed) dropped the destroyed one');

        const dave = await user('dave', 'json');
        const daveId = dave.session.id;
        await call(dave, 'wamp.session.add_testament', [topic, ['dave destroyed'], {}]);
        await call(dave, 'wamp.session.add_testament', [topic, ['dave detached'], {}], { scope: 'detached' });
        await call(dave, 'wamp.session.flush_testaments', [], { scope: 'detached' });
        await dropTransport(dave);
        await leaves.waitFor((e) => e.args[0] === daveId, 'on_leave of dave');
        assert.deepEqual(received.items, [['carol detached'], ['dave destroyed']], "flush_testaments(scope='detached') dropped the detached one");
      });
    });
  }
});

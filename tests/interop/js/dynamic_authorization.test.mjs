// Dynamic authorization with autobahn.js over JSON, msgpack and CBOR: the role "frontend"
// (every anonymous login) has no permissions but an `authorizer` procedure,
// com.example.authorize, registered by a "backend" session (ticket login, a static role that
// may do everything). The router calls it as (session_details, uri, action, options) for
// each publish, subscribe, call and register of a frontend session; it answers a boolean or
// {allow, disclose, cache}. A refusal is wamp.error.not_authorized; an authorizer that
// fails, answers nonsense or is not registered gives wamp.error.authorization_failed.
//
// Caching, disclosure and failing or missing authorizers are tested in Rust against an
// in-process router: tests/it/auth_methods.rs.
//
// Each serializer suite has a realm of its own (and so an authorizer of its own) and runs
// concurrently with the others.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, assertRouterAlive, autobahn, clientScope, closeAllClients, collector,
  expectWampError, routerConfig, startRouter, withTimeout,
} from './harness.mjs';

const AUTHORIZER = 'com.example.authorize';
const BACKEND_TICKET = 'backend-ticket';
const REALM = Object.fromEntries(ALL_SERIALIZERS.map((ser) => [ser, `dynauth.${ser}`]));

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  realms: ALL_SERIALIZERS.map((ser) => ({
    name: REALM[ser],
    roles: [
      { name: 'backend', permissions: [ALLOW_ALL] },
      { name: 'frontend', authorizer: AUTHORIZER },
    ],
  })),
  auth: {
    anonymous: { type: 'static', role: 'frontend' },
    ticket: { type: 'static', principals: { backend: { ticket: BACKEND_TICKET, role: 'backend' } } },
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

/**
 * The authorizer procedure: its answer depends on the URI; every question is recorded as
 * {session, uri, action, options}.
 */
function makeAuthorizer() {
  const questions = [];
  const endpoint = (args) => {
    const [session, uri, action, options] = args;
    assert.equal(args.length, 4, `authorizer called with ${JSON.stringify(args)}`);
    questions.push({ session, uri, action, options });
    if (uri.startsWith('com.example.allowed')) return true;
    if (uri === 'com.example.cached') return { allow: true, cache: true };
    if (uri === 'com.example.disclosed') return { allow: true, disclose: true };
    if (uri === 'com.example.hidden') return { allow: true, disclose: false };
    if (uri === 'com.example.broken') throw new autobahn.Error('com.example.oops', ['authorizer bug']);
    if (uri === 'com.example.weird') return 'yes';
    if (uri === 'wamp.session.add_testament') return true;
    return false;
  };
  return {
    endpoint,
    questions,
    asked: (uri, action) => questions.filter((q) => q.uri === uri && (action === undefined || q.action === action)),
  };
}

function call(client, procedure, args, kwargs, options) {
  return withTimeout(client.session.call(procedure, args, kwargs, options), ARRIVAL_MS, `RESULT of ${procedure}`);
}

describe('dynamic authorization', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`dynamic authorization over ${ser}`, { timeout: 30000, concurrency: 1 }, () => {
      const scope = clientScope();
      const realm = REALM[ser];

      afterEach(async () => {
        await scope.closeAll();
        assertRouterAlive(router);
      });

      const frontend = async (serializer = ser) => {
        const c = await scope.connect(router.url, { serializer, realm });
        assert.equal(c.details.authrole, 'frontend');
        return c;
      };
      /** A backend session; registers `authorizer` (when given) as the realm's authorizer. */
      const backend = async (authorizer, serializer = ser) => {
        const c = await scope.connect(router.url, {
          serializer, realm, authmethods: ['ticket'], authid: 'backend', onchallenge: () => BACKEND_TICKET,
        });
        assert.equal(c.details.authrole, 'backend');
        if (authorizer) {
          await withTimeout(c.session.register(AUTHORIZER, authorizer.endpoint), ARRIVAL_MS, 'REGISTERED authorizer');
        }
        return c;
      };

      test('the authorizer decides each action (allowed, and refused with not_authorized)', async () => {
        const authorizer = makeAuthorizer();
        const b = await backend(authorizer);
        await withTimeout(b.session.register('com.example.allowed.double', (args) => args[0] * 2), ARRIVAL_MS, 'REGISTERED');
        const fe = await frontend();

        // subscribe
        const events = collector();
        const topic = 'com.example.allowed.topic';
        await withTimeout(fe.session.subscribe(topic, (args) => events.push(args), { match: 'prefix' }), ARRIVAL_MS, 'SUBSCRIBED');
        const [sub] = authorizer.asked(topic);
        assert.equal(sub.action, 'subscribe');
        assert.equal(sub.session.session, fe.session.id, 'session_details.session is the asking session');
        assert.deepEqual([sub.session.authid, sub.session.authrole, sub.session.authmethod, sub.session.authprovider],
          [fe.details.authid, 'frontend', 'anonymous', 'static']);
        assert.equal(sub.session.transport?.type, 'websocket');
        assert.equal(sub.session.transport?.protocol, `wamp.2.${ser}`);
        assert.equal(sub.options?.match, 'prefix', `options are the SUBSCRIBE options: ${JSON.stringify(sub.options)}`);
        await withTimeout(b.session.publish(`${topic}.sub`, [1], {}, { acknowledge: true }), ARRIVAL_MS, 'PUBLISHED');
        assert.deepEqual(await events.nth(1), [1], 'the allowed subscription gets events');

        // call
        assert.equal(await call(fe, 'com.example.allowed.double', [21]), 42);
        assert.deepEqual(authorizer.asked('com.example.allowed.double').map((q) => q.action), ['call']);

        // publish
        await withTimeout(fe.session.publish('com.example.allowed.out', [], {}, { acknowledge: true }), ARRIVAL_MS, 'PUBLISHED');
        const [pub] = authorizer.asked('com.example.allowed.out');
        assert.equal(pub.action, 'publish');
        assert.equal(pub.options?.acknowledge, true, `options are the PUBLISH options: ${JSON.stringify(pub.options)}`);

        // register
        await withTimeout(fe.session.register('com.example.allowed.proc', () => 'fe'), ARRIVAL_MS, 'REGISTERED');
        assert.deepEqual(authorizer.asked('com.example.allowed.proc').map((q) => q.action), ['register']);
        // The backend's calls are authorized statically; the frontend's callee works.
        assert.equal(await call(b, 'com.example.allowed.proc'), 'fe');
        assert.deepEqual(authorizer.asked('com.example.allowed.proc').map((q) => q.action), ['register'], 'the backend is not asked about');

        // Refusals: wamp.error.not_authorized for every action.
        const secret = 'com.example.secret';
        await expectWampError(fe.session.subscribe(secret, () => {}), 'wamp.error.not_authorized', 'SUBSCRIBE refused');
        await expectWampError(fe.session.call(secret), 'wamp.error.not_authorized', 'CALL refused');
        await expectWampError(fe.session.register(secret, () => 0), 'wamp.error.not_authorized', 'REGISTER refused');
        await expectWampError(fe.session.publish(secret, [], {}, { acknowledge: true }), 'wamp.error.not_authorized', 'PUBLISH refused');
        assert.deepEqual(authorizer.asked(secret).map((q) => q.action), ['subscribe', 'call', 'register', 'publish']);
        assert.equal(fe.isClosed, false);

        // The backend's static role is never asked about.
        const before = authorizer.questions.length;
        await withTimeout(b.session.publish('com.example.anything', [], {}, { acknowledge: true }), ARRIVAL_MS, 'PUBLISHED');
        await withTimeout(b.session.subscribe('com.example.anything', () => {}), ARRIVAL_MS, 'SUBSCRIBED');
        assert.equal(authorizer.questions.length, before);
        assert.ok(authorizer.questions.every((q) => q.session.session === fe.session.id), 'only the frontend was asked about');
      });

      test("a frontend's testament is decided by the authorizer like a publish, and published when it is killed", async () => {
        // add_testament is checked "like a publish" (Junction's meta.rs), and for this role a
        // publish is what the authorizer allows. (Crossbar checks nothing at add_testament and
        // publishes testaments with `router.process(session, PUBLISH)`, i.e. through the
        // session's authorization, the authorizer included.)
        const authorizer = makeAuthorizer();
        const b = await backend(authorizer);
        const topic = 'com.example.allowed.will';
        const received = collector();
        await withTimeout(b.session.subscribe(topic, (args) => received.push(args)), ARRIVAL_MS, 'SUBSCRIBED');
        const fe = await frontend();
        await withTimeout(fe.session.publish(topic, ['direct'], {}, { acknowledge: true }), ARRIVAL_MS, 'PUBLISHED');
        assert.deepEqual(await received.nth(1), ['direct'], 'the authorizer allows the frontend to publish on the topic');
        await expectWampError(fe.session.call('wamp.session.add_testament', ['com.example.secret', ['no'], {}]),
          'wamp.error.not_authorized', 'a testament on a topic the authorizer refuses');
        assert.deepEqual(authorizer.asked('wamp.session.add_testament').map((q) => q.action), ['call'],
          'the authorizer allows the call of add_testament: the refusal is about the topic');
        authorizer.questions.length = 0;
        const result = await fe.session.call('wamp.session.add_testament', [topic, ['testament'], {}]).then(
          (r) => ({ r }), (e) => ({ error: e.error, args: e.args }));
        assert.deepEqual(result, { r: null },
          `add_testament on a topic the authorizer allows publishing to; authorizer asked ${JSON.stringify(authorizer.questions.map((q) => [q.uri, q.action]))}`);
        await call(b, 'wamp.session.kill', [fe.session.id]);
        assert.deepEqual(await received.nth(2), ['testament'], 'the testament is published when the frontend is killed');
      });
    });
  }
});

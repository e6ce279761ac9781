// The WAMP meta API with autobahn.js over JSON, msgpack and CBOR: that autobahn.js sessions
// can use it (wamp.session.count, list and get, with filter_authroles).
//
// The meta API's behaviour (session, subscription and registration procedures and events,
// kill, testaments, permissions) is tested in Rust against an in-process router:
// tests/it/meta_api.rs.
//
// Each serializer suite has a realm of its own (the meta API is per realm), so the suites run
// concurrently while counts and lists stay exact.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, assertRouterAlive, clientScope, closeAllClients, expectWampError,
  routerConfig, startRouter, withTimeout,
} from './harness.mjs';

const REALM = Object.fromEntries(ALL_SERIALIZERS.map((ser) => [ser, `meta.${ser}`]));

const USERS = ['alice'];
const PRINCIPALS = Object.fromEntries(USERS.map((name) => [name, { ticket: `${name}-ticket`, role: 'user' }]));

// "user" may use com.example., nothing else of the meta API.
const USER_ROLE = { name: 'user', permissions: [{ ...ALLOW_ALL, uri: 'com.example' }] };

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
    });
  }
});

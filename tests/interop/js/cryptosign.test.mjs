// WAMP-cryptosign (Ed25519) interop: autobahn.js logging in to Junction with
// `autobahn.auth_cryptosign` over JSON, msgpack and CBOR. The router config has Crossbar's
// shape, as in tests/interop/python/test_cryptosign.py: static `principals` with
// `authorized_keys` (hex public keys). autobahn.js signs with tweetnacl (a dependency of
// autobahn, re-exported as `autobahn.nacl`); in Node it needs nothing else (tweetnacl takes
// its randomness from node:crypto). Its `load_private_key` needs a browser's localStorage, so
// the keys are made with nacl directly.
//
// The refusals (unknown or foreign keys, bad signatures, a transport without cryptosign) and
// finding the authid by key are tested in Rust against an in-process router:
// tests/it/auth_methods.rs.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, JoinFailed, assertRouterAlive, autobahn, clientScope, closeAllClients,
  makeSerializer, routerConfig, startRouter, uniqueUri, withTimeout,
} from './harness.mjs';

const { nacl } = autobahn;
const cryptosign = autobahn.auth_cryptosign;

const ALICE_1 = nacl.sign.keyPair();
const ALICE_2 = nacl.sign.keyPair();
const BOB = nacl.sign.keyPair.fromSeed(nacl.randomBytes(nacl.sign.seedLength));

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  roles: [
    { name: 'backend', permissions: [ALLOW_ALL] },
    { name: 'frontend', permissions: [ALLOW_ALL] },
  ],
  auth: {
    cryptosign: {
      type: 'static',
      principals: {
        alice: { realm: 'realm1', role: 'backend', authorized_keys: [cryptosign.public_key(ALICE_1), cryptosign.public_key(ALICE_2).toUpperCase()] },
        bob: { role: 'frontend', authorized_keys: [cryptosign.public_key(BOB)] },
      },
    },
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
 * Connection options for a cryptosign login that announces `key`'s public key and signs
 * the CHALLENGE with `signer` (default: the same key), recording the challenges.
 */
function login(ser, key, { authid, signer = key } = {}) {
  const challenges = [];
  return {
    challenges,
    opts: {
      serializer: ser,
      authmethods: ['cryptosign'],
      authid,
      authextra: { pubkey: cryptosign.public_key(key) },
      onchallenge(session, method, extra) {
        challenges.push({ method, extra });
        return cryptosign.sign_challenge(signer, extra);
      },
    },
  };
}

function assertChallenge(challenges) {
  assert.equal(challenges.length, 1, 'one CHALLENGE');
  const [{ method, extra }] = challenges;
  assert.equal(method, 'cryptosign');
  assert.match(extra.challenge, /^[0-9a-f]{64}$/, `challenge ${JSON.stringify(extra)}`);
}

// The serializer suites run concurrently, each with its own clients.
describe('cryptosign', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`cryptosign over ${ser}`, { timeout: 20000, concurrency: 1 }, () => {
      const scope = clientScope();
      afterEach(async () => {
        await scope.closeAll();
        assertRouterAlive(router);
      });

      test('a login with an authorized key succeeds: WELCOME authid, authrole, authmethod cryptosign', async () => {
        const { challenges, opts } = login(ser, ALICE_1, { authid: 'alice' });
        const c = await scope.connect(router.url, opts);
        assertChallenge(challenges);
        assert.equal(c.details.authid, 'alice');
        assert.equal(c.details.authrole, 'backend');
        assert.equal(c.details.authmethod, 'cryptosign');
        assert.equal(c.details.authprovider, 'static');
        assert.equal(c.details.realm, 'realm1');
        // The session works.
        const proc = uniqueUri('com.example.cryptosign.double');
        await withTimeout(c.session.register(proc, (args) => args[0] * 2), ARRIVAL_MS, 'REGISTERED');
        assert.equal(await withTimeout(c.session.call(proc, [21]), ARRIVAL_MS, 'RESULT'), 42);
      });

      test("autobahn.auth_cryptosign.create_connection (autobahn.js's own helper) logs in", async () => {
        // Its HELLO authextra also carries trustroot, challenge and channel_binding (null) and
        // activation_code / request_new_activation_code (undefined).
        const connection = cryptosign.create_connection({
          url: router.url, realm: 'realm1', pkey: BOB, serializers: [makeSerializer(ser)],
        });
        const joined = new Promise((resolve, reject) => {
          connection.onopen = (session, details) => resolve({ session, details });
          connection.onclose = (reason, details) => { reject(new JoinFailed(reason, details)); return true; };
        });
        const closed = new Promise((resolve) => {
          const onclose = connection.onclose;
          connection.onclose = (reason, details) => { resolve(); return onclose(reason, details); };
        });
        connection.open();
        try {
          const { details } = await withTimeout(joined, ARRIVAL_MS, 'join with create_connection');
          assert.deepEqual([details.authid, details.authrole, details.authmethod], ['bob', 'frontend', 'cryptosign']);
        } finally {
          try { connection.close(); } catch { /* not open */ }
          await withTimeout(closed, ARRIVAL_MS, 'close').catch(() => {});
        }
      });
    });
  }
});

// Dynamic ticket authentication with autobahn.js on both sides: a backend registers the
// authenticator on realm `auth` (joining it anonymously), and a client logs in to realm1
// with a ticket that the authenticator judges: the role and authid it answers are the
// session's, its error URI is the ABORT reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, autobahn, connect, connectExpectAbort, routerConfig, useRouter,
} from './harness.mjs';

const AUTHENTICATOR = 'com.example.authenticate';

const config = routerConfig({
  realms: [
    { name: 'realm1', roles: [{ name: 'frontend', permissions: [ALLOW_ALL] }] },
    { name: 'auth', roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }] },
  ],
  auth: {
    anonymous: { type: 'static', role: 'anonymous' },
    ticket: { type: 'dynamic', authenticator: AUTHENTICATOR, 'authenticator-realm': 'auth' },
  },
});

const router = useRouter(() => config);

test('a ticket login decided by an autobahn.js authenticator', async () => {
  const backend = await connect(router.url, { realm: 'auth' });
  await backend.session.register(AUTHENTICATOR, ([realm, authid, details]) => {
    assert.equal(realm, 'realm1');
    if (details.ticket === `pass-${authid}`) {
      return { role: 'frontend', authid: `web:${authid}`, extra: { theme: 'dark' } };
    }
    throw new autobahn.Error('com.example.invalid_ticket', ['wrong ticket']);
  });

  const login = (authid, ticket) => ({
    authmethods: ['ticket'], authid, onchallenge: () => ticket,
  });
  const client = await connect(router.url, login('ann', 'pass-ann'));
  assert.equal(client.details.authid, 'web:ann');
  assert.equal(client.details.authrole, 'frontend');
  assert.equal(client.details.authprovider, 'dynamic');
  assert.deepEqual(client.details.authextra, { theme: 'dark' });

  const refused = await connectExpectAbort(router.url, login('ann', 'guess'));
  assert.equal(refused.details.reason, 'com.example.invalid_ticket');
});

// wampy.js against the newest dealer and meta API features, over JSON, msgpack and CBOR:
// - progressive call invocations: wampy's `progressiveCall` sends the CALL and every further
//   chunk with `Options.progress: true` (the last one with `progress: false`) under one
//   request id. wampy announces no caller feature for it, Junction accepts it anyway. The
//   callee is a raw WAMP client (harness `rawConnect`) announcing `progressive_call_invocations`
//   and `call_canceling` (wampy's and autobahn.js's callees announce neither);
// - a progressive CALL to a callee that did not announce the feature:
//   wamp.error.feature_not_supported;
// - wampy as a meta API client (wamp.session.count, get, on_join, on_leave).
// With msgpack wampy (msgpackr) decodes ids above 2^32 as BigInt: ids are compared as BigInt.
// With CBOR it decodes them as Numbers and encodes Numbers above 2^32 as float64 (see the
// meta API test).

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Wampy } from 'wampy';
import { CborSerializer } from 'wampy/CborSerializer.js';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import { MsgpackSerializer } from 'wampy/MsgpackSerializer.js';
import WebSocket from 'ws';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, MSG, RAW_ROLES, assertRouterAlive, clientScope, closeAllClients, collector,
  routerConfig, startRouter, uniqueUri, withTimeout,
} from './harness.mjs';

const WAMPY_SERIALIZERS = {
  json: () => new JsonSerializer(),
  msgpack: () => new MsgpackSerializer(),
  cbor: () => new CborSerializer(),
};

const REALM = Object.fromEntries(ALL_SERIALIZERS.map((ser) => [ser, `wampy.${ser}`]));

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  realms: ALL_SERIALIZERS.map((ser) => ({ name: REALM[ser], roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }] })),
});

/** HELLO roles of a raw callee that takes progressive call invocations. */
const PROGRESSIVE_CALLEE = {
  ...RAW_ROLES,
  callee: { features: { ...RAW_ROLES.callee.features, progressive_call_invocations: true, call_canceling: true } },
};

let router;

before(async () => {
  router = await startRouter(config);
});

after(async () => {
  await closeAllClients();
  if (router) await router.stop();
});

const big = (id) => BigInt(id);

/** A wampy CallError's URI (wampy 8: `errorUri`). */
function errorUri(e) {
  return e?.errorUri ?? e?.error ?? String(e);
}

describe('wampy advanced', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`wampy advanced over ${ser}`, { timeout: 20000, concurrency: 1 }, () => {
      const scope = clientScope();
      const wampies = [];
      const realm = REALM[ser];

      afterEach(async () => {
        while (wampies.length) {
          const w = wampies.pop();
          await withTimeout(w.disconnect(), 3000, 'wampy disconnect').catch(() => {});
        }
        await scope.closeAll();
        assertRouterAlive(router);
      });

      async function join(serializer = ser) {
        const client = new Wampy(router.url, {
          realm, ws: WebSocket, autoReconnect: false, serializer: WAMPY_SERIALIZERS[serializer](),
        });
        wampies.push(client);
        await withTimeout(client.connect(), ARRIVAL_MS, `wampy ${serializer} join`);
        return client;
      }

      const rawCallee = (roles = PROGRESSIVE_CALLEE) => scope.rawConnect(router.url, { serializer: ser, realm, roles });
      const invocationsOf = (callee, regId) => callee.received.filter((m) => m[0] === MSG.INVOCATION && m[2] === regId);

      // ------------------------------------------------------------------ progressive call invocations

      test('progressiveCall: every chunk is an INVOCATION of the same request, progress on all but the last; the YIELD is the result', async () => {
        const callee = await rawCallee();
        const proc = uniqueUri('com.example.wampy.upload');
        const regId = await callee.register(proc);
        const w = await join();

        const { result, sendData } = w.progressiveCall(proc, { argsList: [1], argsDict: { chunk: 'first' } });
        const settled = result.then((r) => ({ r }), (e) => ({ e }));
        const first = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'INVOCATION of the first chunk');
        assert.equal(first[3].progress, true, `first INVOCATION details ${JSON.stringify(first[3])}`);
        assert.deepEqual([first[4], first[5]], [[1], { chunk: 'first' }]);
        sendData({ argsList: [2] });
        sendData({ argsList: [3], argsDict: { chunk: 'last' } }, { progress: false });
        await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId && m[3].progress !== true, 'INVOCATION of the last chunk');

        const chunks = invocationsOf(callee, regId);
        assert.deepEqual(chunks.map((m) => m[1]), [first[1], first[1], first[1]], 'one invocation request id for every chunk');
        assert.deepEqual(chunks.map((m) => m[3].progress === true), [true, true, false], 'details.progress on all but the last');
        assert.deepEqual(chunks.map((m) => m[4]), [[1], [2], [3]], 'the chunks in order');
        assert.deepEqual(chunks[2][5], { chunk: 'last' });

        await callee.send([MSG.YIELD, first[1], {}, ['sum', 6], { chunks: 3 }]);
        const { r, e } = await withTimeout(settled, ARRIVAL_MS, "wampy's progressive call result");
        assert.equal(e, undefined, `the call failed: ${errorUri(e)}`);
        assert.deepEqual([r.argsList, r.argsDict], [['sum', 6], { chunks: 3 }]);

        // The request is finished: a new call is a new invocation.
        const again = w.call(proc, ['plain']);
        const inv = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId && m[4]?.[0] === 'plain', 'INVOCATION of a plain call');
        assert.notEqual(inv[1], first[1]);
        assert.notEqual(inv[3].progress, true);
        await callee.send([MSG.YIELD, inv[1], {}, ['done']]);
        assert.deepEqual((await withTimeout(again, ARRIVAL_MS, 'plain call')).argsList, ['done']);
      });

      test('progressiveCall with progress_callback: progressive invocations and progressive results together', async () => {
        const callee = await rawCallee();
        const proc = uniqueUri('com.example.wampy.echo');
        const regId = await callee.register(proc);
        const w = await join();
        const updates = collector();

        const { result, sendData } = w.progressiveCall(proc, { argsList: ['a'] }, { progress_callback: (u) => updates.push(u) });
        const settled = result.then((r) => ({ r }), (e) => ({ e }));
        const first = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'first INVOCATION');
        assert.equal(first[3].receive_progress, true, 'the caller asked for progressive results');
        await callee.send([MSG.YIELD, first[1], { progress: true }, ['got a']]);
        assert.deepEqual((await updates.nth(1)).argsList, ['got a']);
        sendData({ argsList: ['b'] }, { progress: false });
        const last = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId && m[4]?.[0] === 'b', 'last INVOCATION');
        assert.equal(last[1], first[1]);
        assert.notEqual(last[3].progress, true);
        await callee.send([MSG.YIELD, first[1], { progress: true }, ['got b']]);
        await callee.send([MSG.YIELD, first[1], {}, ['a+b']]);
        const { r, e } = await withTimeout(settled, ARRIVAL_MS, 'final result');
        assert.equal(e, undefined, `the call failed: ${errorUri(e)}`);
        assert.deepEqual(r.argsList, ['a+b']);
        assert.deepEqual(updates.items.map((u) => u.argsList), [['got a'], ['got b']]);
      });

      test('a caller that leaves during a progressive call gets its invocation interrupted', async () => {
        const callee = await rawCallee();
        const proc = uniqueUri('com.example.wampy.abandoned');
        const regId = await callee.register(proc);
        const w = await join();
        const { result } = w.progressiveCall(proc, { argsList: ['part'] });
        result.catch(() => {});
        const first = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'first INVOCATION');
        await withTimeout(w.disconnect(), ARRIVAL_MS, 'wampy disconnect');
        const interrupt = await callee.waitFor((m) => m[0] === MSG.INTERRUPT && m[1] === first[1], 'INTERRUPT of the abandoned invocation');
        assert.equal(interrupt[2].mode, 'killnowait', `INTERRUPT options ${JSON.stringify(interrupt[2])}`);
      });

      for (const [what, roles] of [
        ['announced neither feature', RAW_ROLES],
        ['announced progressive_call_invocations without call_canceling', {
          ...RAW_ROLES,
          callee: { features: { caller_identification: true, progressive_call_invocations: true } },
        }],
      ]) {
        test(`progressiveCall to a (raw) callee that ${what}: wamp.error.feature_not_supported`, async () => {
          const callee = await rawCallee(roles);
          const proc = uniqueUri('com.example.wampy.unsupported');
          const regId = await callee.register(proc);
          const w = await join();
          const { result } = w.progressiveCall(proc, { argsList: ['chunk'] });
          const outcome = await withTimeout(result.then((r) => ({ r }), (e) => ({ e })), ARRIVAL_MS, 'answer to the progressive CALL');
          assert.equal(errorUri(outcome.e), 'wamp.error.feature_not_supported', `outcome ${JSON.stringify(outcome.r ?? String(outcome.e))}`);
          // The callee got nothing: the next (plain) call is its first INVOCATION.
          const plain = w.call(proc, ['plain']);
          const inv = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'INVOCATION of the plain call');
          assert.deepEqual(inv[4], ['plain']);
          assert.notEqual(inv[3].progress, true);
          await callee.send([MSG.YIELD, inv[1], {}, ['ok']]);
          assert.deepEqual((await withTimeout(plain, ARRIVAL_MS, 'plain call')).argsList, ['ok']);
          assert.equal(invocationsOf(callee, regId).length, 1, `only the plain call reached the callee: ${JSON.stringify(callee.received)}`);
        });
      }

      test('progressiveCall to a wampy callee (no progressive_call_invocations): wamp.error.feature_not_supported', async () => {
        const calleeClient = await join();
        const proc = uniqueUri('com.example.wampy.wcallee');
        const seen = [];
        await calleeClient.register(proc, ({ argsList }) => { seen.push(argsList); return { argsList: ['fine'] }; });
        const w = await join();
        const { result } = w.progressiveCall(proc, { argsList: ['chunk'] });
        const outcome = await withTimeout(result.then((r) => ({ r }), (e) => ({ e })), ARRIVAL_MS, 'answer to the progressive CALL');
        assert.equal(errorUri(outcome.e), 'wamp.error.feature_not_supported');
        assert.deepEqual((await withTimeout(w.call(proc, ['plain']), ARRIVAL_MS, 'plain call')).argsList, ['fine']);
        assert.deepEqual(seen, [['plain']], 'the wampy callee only saw the plain call');
      });

      // ------------------------------------------------------------------ meta API

      test('wampy as a meta API client: wamp.session.count, get, on_join and on_leave', async () => {
        const w = await join();
        const other = await join('json');
        const count = await withTimeout(w.call('wamp.session.count'), ARRIVAL_MS, 'wamp.session.count');
        assert.deepEqual(count.argsList.map(Number), [2]);
        const listed = await withTimeout(w.call('wamp.session.list'), ARRIVAL_MS, 'wamp.session.list');
        assert.deepEqual(listed.argsList[0].map(big).sort(), [w.getSessionId(), other.getSessionId()].map(big).sort());

        const events = collector();
        await withTimeout(w.subscribe('wamp.session.on_join', (e) => events.push(['join', e.argsList])), ARRIVAL_MS, 'SUBSCRIBED on_join');
        await withTimeout(w.subscribe('wamp.session.on_leave', (e) => events.push(['leave', e.argsList])), ARRIVAL_MS, 'SUBSCRIBED on_leave');
        const newcomer = await join();
        const newId = big(newcomer.getSessionId());
        const [, [joined]] = await events.waitFor(([kind, args]) => kind === 'join' && big(args[0].session) === newId, 'on_join of the newcomer');
        assert.deepEqual([joined.authrole, joined.authmethod, joined.transport?.type, joined.transport?.protocol],
          ['anonymous', 'anonymous', 'websocket', `wamp.2.${ser}`]);
        assert.equal(typeof joined.authid, 'string');
        assert.deepEqual((await withTimeout(w.call('wamp.session.count'), ARRIVAL_MS, 'count')).argsList.map(Number), [3]);

        // wampy's CborSerializer (cbor-x, int64AsNumber) holds ids as Numbers and encodes those
        // above 2^32 as float64, which Junction, like Crossbar (autobahn-python's
        // check_or_raise_id), does not take for an id (wamp.error.invalid_argument here): pass
        // a BigInt, which cbor-x encodes as an integer.
        const idArg = ser === 'cbor' ? BigInt(newcomer.getSessionId()) : newcomer.getSessionId();
        const got = await withTimeout(w.call('wamp.session.get', [idArg]), ARRIVAL_MS, 'wamp.session.get');
        assert.equal(big(got.argsList[0].session), newId);
        assert.equal(got.argsList[0].authid, joined.authid);
        const missing = await w.call('wamp.session.get', [1234567]).then((r) => ({ r }), (e) => ({ e }));
        assert.equal(errorUri(missing.e), 'wamp.error.no_such_session');

        await withTimeout(newcomer.disconnect(), ARRIVAL_MS, 'newcomer disconnect');
        wampies.splice(wampies.indexOf(newcomer), 1);
        const [, left] = await events.waitFor(([kind, args]) => kind === 'leave' && big(args[0]) === newId, 'on_leave of the newcomer');
        assert.deepEqual([big(left[0]), left[1], left[2]], [newId, joined.authid, 'anonymous']);
        assert.deepEqual((await withTimeout(w.call('wamp.session.count'), ARRIVAL_MS, 'count')).argsList.map(Number), [2]);
      });
    });
  }
});

// Dealer Advanced Profile with autobahn.js over JSON, msgpack and CBOR: pattern-based
// registrations, shared registrations, caller identification, progressive call results, call
// timeouts and call canceling.
//
// What autobahn.js (22.11.1, and 26.3.1 alike) cannot express, and how it is tested instead:
// - A callee that handles INTERRUPT: autobahn.js announces neither `call_canceling` nor
//   `call_timeout` for its callee role and has no INTERRUPT handler (an INTERRUPT makes it
//   fail its own transport as a protocol violation). The callee side of timeouts and kill /
//   killnowait cancels is therefore a raw WAMP client (npm `ws`, harness `rawConnect`) that
//   announces `call_canceling`; autobahn.js callees are used to check that a dealer does not
//   send INTERRUPT to callees that did not announce it (spec: "If the callee does not support
//   call canceling, then behavior is skip").
// - A caller canceling with `skip` or `killnowait`: autobahn.js's `promise.cancel()` rejects
//   the call locally and forgets the request at once, so the router's (correct) ERROR
//   `wamp.error.canceled` then hits "CALL-ERROR received for non-pending request ID" and
//   autobahn.js drops its connection. Those callers are raw clients; `kill`, where autobahn.js
//   waits for the router's answer, uses autobahn.js.
// - Progressive results: autobahn.js hands them to `deferred.notify`, which only its when.js
//   deferreds have, so those callers connect with `use_es6_promises: false`.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALLOW_ALL, ALL_SERIALIZERS, ARRIVAL_MS, MSG, assertRouterAlive, assertWampId, autobahn, clientScope, closeAllClients,
  collector, deferred, expectWampError, isPending, routerConfig, sleep, startRouter, uniqueUri, wireTap, withTimeout,
} from './harness.mjs';

const PRINCIPALS = {
  alice: { ticket: 'alice-ticket', role: 'frontend' },
  dana: { ticket: 'dana-ticket', role: 'discloser' },
  sam: { ticket: 'sam-ticket', role: 'secretive' },
};

const config = routerConfig({
  serializers: ALL_SERIALIZERS,
  roles: [
    { name: 'anonymous', permissions: [ALLOW_ALL] },
    { name: 'frontend', permissions: [ALLOW_ALL] },
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

async function login(scope, ser, authid) {
  const c = await scope.connect(router.url, {
    serializer: ser, authmethods: ['ticket'], authid, onchallenge: () => PRINCIPALS[authid].ticket,
  });
  assert.equal(c.details.authid, authid);
  return c;
}

function register(client, procedure, endpoint, options) {
  return withTimeout(client.session.register(procedure, endpoint, options), ARRIVAL_MS, `REGISTERED ${procedure}`);
}

function call(client, procedure, args, kwargs, options) {
  return withTimeout(client.session.call(procedure, args, kwargs, options), ARRIVAL_MS, `RESULT of ${procedure}`);
}

/** A callee endpoint that answers [tag, details.procedure]. */
const tagged = (tag) => (args, kwargs, details) => [tag, details.procedure];

/** The raw client's answer to CALL `request`: RESULT or ERROR. */
function rawReply(client, request, what = `answer to CALL ${request}`) {
  return client.waitFor((m) => (m[0] === MSG.RESULT && m[1] === request)
    || (m[0] === MSG.ERROR && m[1] === MSG.CALL && m[2] === request), what);
}

/**
 * An autobahn.js callee of `procedure` that answers 'fast' at once and blocks on anything
 * else until release(); its incoming messages are recorded (wireTap).
 */
async function blockingCallee(scope, ser, procedure) {
  const internalErrors = [];
  const callee = await scope.connect(router.url, { serializer: ser, on_internal_error: (e, m) => internalErrors.push(m ?? String(e)) });
  assert.notEqual(callee.session.features.callee.call_canceling, true, 'autobahn.js does not announce callee call_canceling');
  const received = wireTap(callee);
  const invoked = deferred();
  const release = deferred();
  await register(callee, procedure, async (args) => {
    if (args[0] === 'fast') return 'fast';
    invoked.resolve();
    await release.promise;
    return 'late';
  });
  return {
    callee,
    invoked: () => withTimeout(invoked.promise, ARRIVAL_MS, 'INVOCATION at the autobahn.js callee'),
    release: () => release.resolve(),
    /**
     * The callee was not interrupted, is still joined and still answers calls. Call after the
     * cancel or timeout has been answered: an INTERRUPT would have been sent then, so it
     * reaches the callee before the INVOCATION of the check call.
     */
    async assertUndisturbed(caller, what) {
      const check = await call(caller, procedure, ['fast']).then((r) => ({ r }), (e) => ({ e }));
      const interrupts = received.filter((m) => m[0] === MSG.INTERRUPT);
      assert.deepEqual(interrupts, [], `${what}: the router sent INTERRUPT to a callee that did not announce call_canceling `
        + '(spec: then the behaviour is skip); autobahn.js fails its transport on it as a protocol violation');
      assert.equal(callee.isClosed, false, `${what}: the autobahn.js callee lost its connection`);
      assert.deepEqual(check, { r: 'fast' }, `${what}: the callee still serves calls`);
      release.resolve(); // its late YIELD must be discarded
      assert.deepEqual(await call(caller, procedure, ['fast']), 'fast', `${what}: the callee still serves calls after its late YIELD`);
      assert.deepEqual(internalErrors, [], `${what}: autobahn.js reported no internal error`);
    },
  };
}

// The serializer suites run concurrently, each with its own clients.
describe('rpc advanced', { concurrency: true }, () => {
  for (const ser of ALL_SERIALIZERS) {
    describe(`rpc advanced over ${ser}`, { timeout: 20000, concurrency: 1 }, () => {
      const scope = clientScope();
      afterEach(async () => {
        await scope.closeAll();
        assertRouterAlive(router);
      });

      // ---------------------------------------------------------------- pattern_based_registration

      test('pattern_based_registration: prefix, details.procedure is the called URI', async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        assert.equal(callee.session.features.callee.pattern_based_registration, true, 'feature negotiated');
        const root = uniqueUri('com.example.rpc.prefix');
        const obj = `${root}.myobject1`;
        const seen = collector();
        await register(callee, obj, (args, kwargs, details) => {
          seen.push({ args, kwargs, procedure: details.procedure });
          return details.procedure;
        }, { match: 'prefix' });

        for (const p of [`${obj}.myprocedure1`, `${obj}.mysubobject1.myprocedure1`, obj]) {
          assert.equal(await call(caller, p, [p], { k: 1 }), p);
        }
        assert.deepEqual(seen.items, [`${obj}.myprocedure1`, `${obj}.mysubobject1.myprocedure1`, obj]
          .map((p) => ({ args: [p], kwargs: { k: 1 }, procedure: p })));
        await expectWampError(caller.session.call(`${root}.myobject2`), 'wamp.error.no_such_procedure');
        await expectWampError(caller.session.call(`${root}.myobject`), 'wamp.error.no_such_procedure');
        await expectWampError(caller.session.call(root), 'wamp.error.no_such_procedure');
      });

      test("pattern_based_registration: prefix matching is on the string, as the spec says ('myobject1-mysubobject1')", async () => {
        // The spec, Crossbar and Nexus match prefixes character-wise: myobject1 covers
        // myobject1-mysubobject1, and the longest prefix wins even where it ends inside a
        // component.
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const obj = `${uniqueUri('com.example.rpc.charprefix')}.myobject1`;
        await register(callee, obj, (args, kwargs, details) => ['short', details.procedure], { match: 'prefix' });
        await register(callee, `${obj}-my`, (args, kwargs, details) => ['long', details.procedure], { match: 'prefix' });
        assert.deepEqual(await call(caller, `${obj}-mysubobject1`), ['long', `${obj}-mysubobject1`]);
        assert.deepEqual(await call(caller, `${obj}-m`), ['short', `${obj}-m`]);
        assert.deepEqual(await call(caller, `${obj}.sub`), ['short', `${obj}.sub`]);
        await expectWampError(caller.session.call(obj.slice(0, -1)), 'wamp.error.no_such_procedure');
      });

      test('pattern_based_registration: wildcard, details.procedure is the called URI', async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const app = `${uniqueUri('com.example.rpc.wild')}.app`; // `${app}2` is no other test's URI
        await register(callee, `${app}..myprocedure1`, (args, kwargs, details) => details.procedure, { match: 'wildcard' });
        for (const p of [`${app}.myobject1.myprocedure1`, `${app}.myobject2.myprocedure1`]) {
          assert.equal(await call(caller, p), p);
        }
        for (const p of [`${app}.myobject1.myprocedure1.mysubprocedure1`, `${app}.myobject1.myprocedure2`, `${app}2.myobject1.myprocedure1`]) {
          await expectWampError(caller.session.call(p), 'wamp.error.no_such_procedure', `no_such_procedure for ${p}`);
        }
      });

      test("pattern_based_registration: precedence exact > longest prefix > wildcard (the spec's examples)", async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const r = uniqueUri('com.example.rpc.prec');
        const regs = [
          [1, `${r}.a1.b2.c3.d4.e55`, 'exact'],
          [2, `${r}.a1.b2.c3`, 'prefix'],
          [3, `${r}.a1.b2.c3.d4`, 'prefix'],
          [4, `${r}.a1.b2..d4.e5`, 'wildcard'],
          [5, `${r}.a1.b2.c3..e5`, 'wildcard'],
          [6, `${r}.a1.b2..d4.e5..g7`, 'wildcard'],
          [7, `${r}.a1.b2..d4..f6.g7`, 'wildcard'],
        ];
        for (const [n, uri, match] of regs) await register(callee, uri, tagged(n), { match });
        // A second tree with the wildcard registrations only.
        const w = uniqueUri('com.example.rpc.precw');
        for (const [n, uri, match] of regs.slice(3)) await register(callee, uri.replace(r, w), tagged(n), { match });

        const cases = [
          [`${r}.a1.b2.c3.d4.e55`, 1], // exact
          [`${r}.a1.b2.c3.d98.e74`, 2], // one prefix
          [`${r}.a1.b2.c3.d4.e325`, 3], // the longer of two prefixes
          [`${r}.a1.b2.c55.d4.e5`, 4], // one wildcard
          // The spec's example list says 5 here, but its own rule 2 applies first: prefixes
          // a1.b2.c3 and a1.b2.c3.d4 match, and a prefix beats every wildcard.
          [`${r}.a1.b2.c3.d4.e5`, 3],
          [`${w}.a1.b2.c3.d4.e5`, 5], // wildcards 4 and 5: the longer leading portion wins
          [`${r}.a1.b2.c88.d4.e5.f6.g7`, 6], // wildcards 6 and 7: equal first portions, 6's second is longer
        ];
        for (const [uri, n] of cases) {
          assert.deepEqual(await call(caller, uri), [n, uri], `${uri} must go to registration ${n}`);
        }
        await expectWampError(caller.session.call(`${r}.a2.b2.c2.d2.e2`), 'wamp.error.no_such_procedure');
      });

      test('pattern_based_registration: unregistering the best match falls back exact -> prefix -> wildcard', async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const x = uniqueUri('com.example.rpc.fallback');
        const target = `${x}.y.z`;
        const exact = await register(callee, target, tagged('exact'));
        const prefix = await register(callee, `${x}.y`, tagged('prefix'), { match: 'prefix' });
        const wild = await register(callee, `${x}..z`, tagged('wildcard'), { match: 'wildcard' });
        assert.deepEqual(await call(caller, target), ['exact', target]);
        await withTimeout(exact.unregister(), ARRIVAL_MS, 'UNREGISTERED exact');
        assert.deepEqual(await call(caller, target), ['prefix', target]);
        await withTimeout(prefix.unregister(), ARRIVAL_MS, 'UNREGISTERED prefix');
        assert.deepEqual(await call(caller, target), ['wildcard', target]);
        await withTimeout(wild.unregister(), ARRIVAL_MS, 'UNREGISTERED wildcard');
        await expectWampError(caller.session.call(target), 'wamp.error.no_such_procedure');
      });

      // ---------------------------------------------------------------- shared_registration

      test('shared_registration: roundrobin spreads calls over two callee sessions', async () => {
        const c0 = await scope.connect(router.url, { serializer: ser });
        const c1 = await scope.connect(router.url, { serializer: 'json' });
        const caller = await scope.connect(router.url, { serializer: ser });
        assert.equal(c0.session.features.callee.shared_registration, true, 'feature negotiated');
        const proc = uniqueUri('com.example.rpc.rr');
        const r0 = await register(c0, proc, () => 'c0', { invoke: 'roundrobin' });
        const r1 = await register(c1, proc, () => 'c1', { invoke: 'roundrobin' });
        assert.equal(r0.id, r1.id, 'both callees joined one registration');
        const answers = [];
        for (let i = 0; i < 6; i += 1) answers.push(await call(caller, proc));
        assert.equal(answers.filter((a) => a === 'c0').length, 3, `answers ${answers}`);
        assert.equal(answers.filter((a) => a === 'c1').length, 3, `answers ${answers}`);
        for (let i = 1; i < answers.length; i += 1) assert.notEqual(answers[i], answers[i - 1], `alternating: ${answers}`);
      });

      for (const [invoke, expected] of [['first', 'c0'], ['last', 'c2']]) {
        test(`shared_registration: invoke ${invoke} always picks the ${invoke} callee`, async () => {
          const proc = uniqueUri(`com.example.rpc.${invoke}`);
          for (const name of ['c0', 'c1', 'c2']) {
            const c = await scope.connect(router.url, { serializer: ser });
            await register(c, proc, () => name, { invoke });
          }
          const caller = await scope.connect(router.url, { serializer: ser });
          const answers = [];
          for (let i = 0; i < 4; i += 1) answers.push(await call(caller, proc));
          assert.deepEqual(answers, [expected, expected, expected, expected]);
        });
      }

      test('shared_registration: another policy on the same procedure is refused', async () => {
        const owner = await scope.connect(router.url, { serializer: ser });
        const other = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const proc = uniqueUri('com.example.rpc.policy');
        await register(owner, proc, () => 'owner', { invoke: 'roundrobin' });
        for (const invoke of ['random', 'first', 'last']) {
          await expectWampError(other.session.register(proc, () => 'other', { invoke }),
            'wamp.error.procedure_exists_with_different_invocation_policy', `REGISTER with invoke ${invoke}`);
        }
        assert.equal(await call(caller, proc), 'owner', 'the refused registrations did not join');
        assert.equal(await call(caller, proc), 'owner');
        await register(other, proc, () => 'other', { invoke: 'roundrobin' });
        const answers = new Set([await call(caller, proc), await call(caller, proc)]);
        assert.deepEqual([...answers].sort(), ['other', 'owner'], 'the same policy joins');
      });

      // ---------------------------------------------------------------- caller_identification

      test('caller_identification: disclose_me gives details.caller, caller_authid and caller_authrole', async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const alice = await login(scope, ser, 'alice');
        assert.equal(alice.session.features.caller.caller_identification, true, 'feature negotiated');
        const proc = uniqueUri('com.example.rpc.whoami');
        const seen = collector();
        await register(callee, proc, (args, kwargs, details) => {
          seen.push({ caller: details.caller, authid: details.caller_authid, authrole: details.caller_authrole });
          return 'ok';
        });
        await call(alice, proc, [], {}, { disclose_me: true });
        await call(alice, proc);
        await call(alice, proc, [], {}, { disclose_me: false });
        assert.deepEqual(seen.items, [
          { caller: alice.session.id, authid: 'alice', authrole: 'frontend' },
          { caller: undefined, authid: undefined, authrole: undefined },
          { caller: undefined, authid: undefined, authrole: undefined },
        ]);
        assertWampId(seen.items[0].caller, 'details.caller');
      });

      test("caller_identification: the permission's disclose.caller overrides disclose_me", async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const dana = await login(scope, ser, 'dana');
        const sam = await login(scope, ser, 'sam');
        const proc = uniqueUri('com.example.rpc.whoami.perm');
        await register(callee, proc, (args, kwargs, details) => [details.caller ?? null, details.caller_authid ?? null, details.caller_authrole ?? null]);
        assert.deepEqual(await call(dana, proc), [dana.session.id, 'dana', 'discloser']);
        assert.deepEqual(await call(sam, proc, [], {}, { disclose_me: true }), [null, null, null]);
      });

      // ---------------------------------------------------------------- progressive_call_results

      test('progressive_call_results: receive_progress gets every progress result, then the final one', async () => {
        const callee = await scope.connect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser, use_es6_promises: false });
        assert.equal(caller.session.features.caller.progressive_call_results, true, 'feature negotiated');
        const proc = uniqueUri('com.example.rpc.progress');
        const asked = collector();
        await register(callee, proc, async (args, kwargs, details) => {
          asked.push(typeof details.progress === 'function');
          if (details.progress) {
            for (let i = 1; i <= args[0]; i += 1) {
              details.progress([i], { step: i });
              await sleep(5);
            }
          }
          return new autobahn.Result(['final'], { steps: args[0] });
        });

        const updates = [];
        const p = caller.session.call(proc, [3], {}, { receive_progress: true });
        const final = await withTimeout(new Promise((resolve, reject) => {
          p.then(resolve, reject, (update) => updates.push(update)); // when.js: third argument = progress
        }), ARRIVAL_MS, 'final RESULT');
        assert.ok(final instanceof autobahn.Result, `final result ${JSON.stringify(final)}`);
        assert.deepEqual([final.args, final.kwargs], [['final'], { steps: 3 }]);
        assert.deepEqual(updates.map((u) => [u.args, u.kwargs]), [[[1], { step: 1 }], [[2], { step: 2 }], [[3], { step: 3 }]],
          'three progress results, in order, before the final one');

        // Without receive_progress the callee is not asked for progress and the caller gets the
        // final result only.
        const plain = await call(caller, proc, [2]);
        assert.deepEqual([plain.args, plain.kwargs], [['final'], { steps: 2 }]);
        assert.deepEqual(asked.items, [true, false], 'INVOCATION.Details.receive_progress follows the CALL');
      });

      // ---------------------------------------------------------------- call_timeout

      test('call_timeout: the caller gets wamp.error.timeout; a callee announcing call_canceling gets INTERRUPT (raw callee)', async () => {
        const callee = await scope.rawConnect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        const proc = uniqueUri('com.example.rpc.timeout');
        const regId = await callee.register(proc);
        const started = Date.now();
        // autobahn.js passes CALL options through unchanged: `timeout` (ms) reaches the router.
        const outcome = expectWampError(caller.session.call(proc, ['slow'], {}, { timeout: 150 }), 'wamp.error.timeout');
        outcome.catch(() => {});
        const inv = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'INVOCATION');
        assert.deepEqual(inv[4], ['slow']);
        const err = await outcome;
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 140 && elapsed < 4000, `the timeout fired after ${elapsed} ms, expected about 150`);
        assert.ok(Array.isArray(err.args));
        const interrupt = await callee.waitFor((m) => m[0] === MSG.INTERRUPT && m[1] === inv[1], 'INTERRUPT for the timed-out invocation');
        assert.equal(typeof interrupt[2], 'object');
        // A late YIELD is discarded: the caller sees no RESULT for a request it no longer has
        // (autobahn.js would fail its connection on one) and keeps working.
        await callee.send([MSG.YIELD, inv[1], {}, ['too late']]);
        const quick = uniqueUri('com.example.rpc.quick');
        const other = await scope.connect(router.url, { serializer: ser });
        await register(other, quick, () => 'quick');
        assert.equal(await call(caller, quick, [], {}, { timeout: 5000 }), 'quick', 'a call within its timeout succeeds');
        assert.equal(caller.isClosed, false, 'the caller is still connected');
      });

      test('call_timeout: an autobahn.js callee (no call_canceling announced) is not interrupted', async () => {
        const proc = uniqueUri('com.example.rpc.timeout.ab');
        const cb = await blockingCallee(scope, ser, proc);
        const caller = await scope.connect(router.url, { serializer: ser });
        const outcome = expectWampError(caller.session.call(proc, ['slow'], {}, { timeout: 100 }), 'wamp.error.timeout');
        outcome.catch(() => {});
        await cb.invoked();
        await outcome;
        await cb.assertUndisturbed(caller, 'after a timeout');
      });

      // ---------------------------------------------------------------- call_canceling

      test('call_canceling: kill (autobahn.js caller) interrupts a raw callee and waits for its answer', async () => {
        const callee = await scope.rawConnect(router.url, { serializer: ser });
        const caller = await scope.connect(router.url, { serializer: ser });
        assert.equal(caller.session.features.caller.call_canceling, true, 'feature negotiated');
        const proc = uniqueUri('com.example.rpc.kill');
        const regId = await callee.register(proc);
        const p = caller.session.call(proc, ['work']);
        const settled = p.then((r) => ({ result: r }), (e) => ({ error: e }));
        const inv = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'INVOCATION');
        assert.equal(typeof p.cancel, 'function', 'autobahn.js call promises have cancel()');
        p.cancel({ mode: 'kill' });
        const interrupt = await callee.waitFor((m) => m[0] === MSG.INTERRUPT && m[1] === inv[1], 'INTERRUPT');
        assert.equal(interrupt[2].mode, 'kill', `INTERRUPT options ${JSON.stringify(interrupt[2])}`);
        // A round trip to the router on the caller's connection: an early ERROR for the
        // canceled call would arrive before this answer.
        await expectWampError(caller.session.call(uniqueUri('com.example.rpc.nobody')), 'wamp.error.no_such_procedure');
        assert.equal(await isPending(settled), true, 'with kill the caller waits for the callee');
        await callee.send([MSG.ERROR, MSG.INVOCATION, inv[1], {}, 'wamp.error.canceled', ['stopped'], { at: 1 }]);
        const { error } = await withTimeout(settled, ARRIVAL_MS, 'ERROR after kill');
        assert.ok(error instanceof autobahn.Error, `expected an autobahn.Error, got ${JSON.stringify(error)}`);
        assert.equal(error.error, 'wamp.error.canceled');
        assert.deepEqual([error.args, error.kwargs], [['stopped'], { at: 1 }]);
        assert.equal(caller.isClosed, false);
      });

      test('call_canceling: kill on an autobahn.js callee (no call_canceling announced) acts as skip', async () => {
        const proc = uniqueUri('com.example.rpc.kill.ab');
        const cb = await blockingCallee(scope, ser, proc);
        const caller = await scope.connect(router.url, { serializer: ser });
        const p = caller.session.call(proc, ['slow']);
        const outcome = expectWampError(p, 'wamp.error.canceled', 'ERROR after kill');
        outcome.catch(() => {});
        await cb.invoked();
        p.cancel({ mode: 'kill' });
        await outcome;
        await cb.assertUndisturbed(caller, 'after kill');
      });

      for (const cancelOptions of [{ mode: 'skip' }, {}]) {
        test(`call_canceling: ${cancelOptions.mode ?? 'default (skip)'} answers the (raw) caller at once and leaves the autobahn.js callee alone`, async () => {
          const proc = uniqueUri('com.example.rpc.skip');
          const cb = await blockingCallee(scope, ser, proc);
          const caller = await scope.rawConnect(router.url, { serializer: ser });
          const helper = await scope.connect(router.url, { serializer: ser });
          const req = caller.request();
          await caller.send([MSG.CALL, req, {}, proc, ['slow']]);
          await cb.invoked();
          await caller.send([MSG.CANCEL, req, cancelOptions]);
          const reply = await rawReply(caller, req);
          assert.deepEqual([reply[0], reply[1], reply[4]], [MSG.ERROR, MSG.CALL, 'wamp.error.canceled'],
            'ERROR wamp.error.canceled before the callee answered');
          await cb.assertUndisturbed(helper, `after ${cancelOptions.mode ?? 'default'} cancel`);
          // The callee's late result was discarded: the caller got one answer only.
          const req2 = caller.request();
          await caller.send([MSG.CALL, req2, {}, proc, ['fast']]);
          const r2 = await rawReply(caller, req2);
          assert.deepEqual([r2[0], r2[3]], [MSG.RESULT, ['fast']]);
          assert.equal(caller.received.filter((m) => m[1] === req || m[2] === req).length, 1,
            `one answer to the canceled call: ${JSON.stringify(caller.received)}`);
        });
      }

      test('call_canceling: killnowait answers the caller at once and interrupts the (raw) callee', async () => {
        const callee = await scope.rawConnect(router.url, { serializer: ser });
        const caller = await scope.rawConnect(router.url, { serializer: ser });
        const proc = uniqueUri('com.example.rpc.killnowait');
        const regId = await callee.register(proc);
        const req = caller.request();
        await caller.send([MSG.CALL, req, {}, proc, ['work']]);
        const inv = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[2] === regId, 'INVOCATION');
        await caller.send([MSG.CANCEL, req, { mode: 'killnowait' }]);
        const reply = await rawReply(caller, req);
        assert.deepEqual([reply[0], reply[1], reply[4]], [MSG.ERROR, MSG.CALL, 'wamp.error.canceled'], 'ERROR without waiting for the callee');
        const interrupt = await callee.waitFor((m) => m[0] === MSG.INTERRUPT && m[1] === inv[1], 'INTERRUPT');
        assert.equal(interrupt[2].mode, 'killnowait', `INTERRUPT options ${JSON.stringify(interrupt[2])}`);
        // The callee's answer to the interrupt is discarded.
        await callee.send([MSG.ERROR, MSG.INVOCATION, inv[1], {}, 'wamp.error.canceled']);
        await callee.send([MSG.YIELD, inv[1], {}, ['late']]);
        const req2 = caller.request();
        await caller.send([MSG.CALL, req2, {}, proc, ['again']]);
        const inv2 = await callee.waitFor((m) => m[0] === MSG.INVOCATION && m[1] !== inv[1], 'second INVOCATION');
        await callee.send([MSG.YIELD, inv2[1], {}, ['second']]);
        const r2 = await rawReply(caller, req2);
        assert.deepEqual([r2[0], r2[3]], [MSG.RESULT, ['second']]);
        assert.equal(caller.received.filter((m) => m[1] === req || m[2] === req).length, 1, `one answer to the canceled call: ${JSON.stringify(caller.received)}`);
      });

      test('call_canceling: killnowait on an autobahn.js callee (no call_canceling announced) acts as skip', async () => {
        const proc = uniqueUri('com.example.rpc.killnowait.ab');
        const cb = await blockingCallee(scope, ser, proc);
        const caller = await scope.rawConnect(router.url, { serializer: ser });
        const helper = await scope.connect(router.url, { serializer: ser });
        const req = caller.request();
        await caller.send([MSG.CALL, req, {}, proc, ['slow']]);
        await cb.invoked();
        await caller.send([MSG.CANCEL, req, { mode: 'killnowait' }]);
        const reply = await rawReply(caller, req);
        assert.deepEqual([reply[0], reply[1], reply[4]], [MSG.ERROR, MSG.CALL, 'wamp.error.canceled']);
        await cb.assertUndisturbed(helper, 'after killnowait');
      });

    });
  }
});

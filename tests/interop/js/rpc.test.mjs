// Dealer interop: autobahn.js callers and callees through Junction, over JSON and msgpack.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ARRIVAL_MS, SERIALIZERS, assertWampId, autobahn, collector, connect, deferred, dropTransport,
  expectWampError, routerConfig, uniqueUri, useRouter, withTimeout,
} from './harness.mjs';

const router = useRouter(() => routerConfig());

function register(client, procedure, endpoint, options) {
  return withTimeout(client.session.register(procedure, endpoint, options), ARRIVAL_MS, `REGISTERED ${procedure}`);
}

function call(client, procedure, args, kwargs, options) {
  return withTimeout(client.session.call(procedure, args, kwargs, options), ARRIVAL_MS, `RESULT of ${procedure}`);
}

for (const ser of SERIALIZERS) {
  describe(`rpc over ${ser}`, { timeout: 20000 }, () => {
    test('call with args and kwargs gets a Result with args and kwargs', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.result');
      const invocations = collector();
      const registration = await register(callee, proc, (args, kwargs, details) => {
        invocations.push({ args, kwargs, details });
        return new autobahn.Result(['r1', 2, { deep: [true, null] }], { sum: args[0] + args[1], echo: kwargs.s });
      });
      assertWampId(registration.id, 'registration id');

      const res = await call(caller, proc, [20, 22], { s: 'ünïcödé' });
      assert.ok(res instanceof autobahn.Result, `expected an autobahn.Result, got ${JSON.stringify(res)}`);
      assert.deepEqual(res.args, ['r1', 2, { deep: [true, null] }]);
      assert.deepEqual(res.kwargs, { sum: 42, echo: 'ünïcödé' });

      const inv = await invocations.nth(1);
      assert.deepEqual(inv.args, [20, 22]);
      assert.deepEqual(inv.kwargs, { s: 'ünïcödé' });
      assert.equal(inv.details.procedure, proc);
    });

    test('a single return value arrives as a plain value', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.add');
      await register(callee, proc, (args) => args[0] + args[1]);
      assert.equal(await call(caller, proc, [2, 3]), 5);
      assert.equal(await call(caller, proc, [4294967296, 1]), 4294967297);
      assert.equal(await call(caller, proc, [0.5, -2]), -1.5);
    });

    test('an async callee result and a call without arguments', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.noargs');
      const seen = collector();
      await register(callee, proc, async (args, kwargs) => {
        seen.push({ args, kwargs });
        await new Promise((r) => setTimeout(r, 50));
        return 'done';
      });
      assert.equal(await call(caller, proc), 'done');
      const inv = await seen.nth(1);
      assert.deepEqual(inv.args, []);
      assert.deepEqual(inv.kwargs, {});
    });

    test('a callee error reaches the caller with its URI, args and kwargs', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.fails');
      await register(callee, proc, () => {
        throw new autobahn.Error('com.example.oops', [1, 2], { a: 3 });
      });
      const err = await expectWampError(caller.session.call(proc, ['x']), 'com.example.oops');
      assert.deepEqual(err.args, [1, 2]);
      assert.deepEqual(err.kwargs, { a: 3 });
    });

    test('calling an unregistered procedure fails with no_such_procedure', async () => {
      const caller = await connect(router.url, { serializer: ser });
      await expectWampError(caller.session.call(uniqueUri('com.example.rpc.nobody')), 'wamp.error.no_such_procedure');
    });

    test('registering a procedure twice fails with procedure_already_exists', async () => {
      const first = await connect(router.url, { serializer: ser });
      const second = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.dup');
      await register(first, proc, () => 'first');
      await expectWampError(second.session.register(proc, () => 'second'), 'wamp.error.procedure_already_exists');
      await expectWampError(first.session.register(proc, () => 'again'), 'wamp.error.procedure_already_exists');
      assert.equal(await call(caller, proc), 'first', 'the first registration still serves calls');
    });

    test('after unregister calls fail and the procedure can be registered again', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const other = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.unreg');
      const registration = await register(callee, proc, () => 'callee');
      assert.equal(await call(caller, proc), 'callee');

      await withTimeout(registration.unregister(), ARRIVAL_MS, 'UNREGISTERED');
      assert.equal(registration.active, false);
      await expectWampError(caller.session.call(proc), 'wamp.error.no_such_procedure');

      await register(other, proc, () => 'other');
      assert.equal(await call(caller, proc), 'other');
    });

    test("a leaving callee's registrations are freed", async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.freed');
      await register(callee, proc, () => 'x');
      await callee.close();
      await expectWampError(caller.session.call(proc), 'wamp.error.no_such_procedure');
      const next = await connect(router.url, { serializer: ser });
      await register(next, proc, () => 'y');
      assert.equal(await call(caller, proc), 'y');
    });

    for (const how of ['GOODBYE', 'transport drop']) {
      test(`callee leaving mid-call (${how}) -> caller gets wamp.error.canceled`, async () => {
        const callee = await connect(router.url, { serializer: ser });
        const caller = await connect(router.url, { serializer: ser });
        const proc = uniqueUri('com.example.rpc.midcall');
        const invoked = deferred();
        await register(callee, proc, () => {
          invoked.resolve();
          return new Promise(() => {}); // never answers
        });
        // Watch the call's outcome from the start: its ERROR may arrive while the callee
        // is still closing.
        const outcome = expectWampError(caller.session.call(proc, ['hang']), 'wamp.error.canceled', 'ERROR for the orphaned call');
        outcome.catch(() => {}); // awaited below; keeps an early failure from being "unhandled"
        await withTimeout(invoked.promise, ARRIVAL_MS, 'INVOCATION at the callee');
        if (how === 'GOODBYE') await callee.close();
        else await dropTransport(callee);
        await outcome;
        // The caller's session is still usable.
        await expectWampError(caller.session.call(proc), 'wamp.error.no_such_procedure');
      });
    }

    test('concurrent calls are answered to the right request', async () => {
      const callee = await connect(router.url, { serializer: ser });
      const caller = await connect(router.url, { serializer: ser });
      const proc = uniqueUri('com.example.rpc.concurrent');
      await register(callee, proc, async (args) => {
        await new Promise((r) => setTimeout(r, (10 - args[0]) * 10));
        return args[0] * 2;
      });
      const results = await withTimeout(
        Promise.all([...Array(10).keys()].map((i) => caller.session.call(proc, [i]))),
        ARRIVAL_MS, 'ten RESULTs');
      assert.deepEqual(results, [...Array(10).keys()].map((i) => i * 2));
    });
  });
}

describe('rpc across serializers', { timeout: 20000 }, () => {
  const BYTES = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const B64 = '\u0000' + BYTES.toString('base64');

  for (const [callerSer, calleeSer] of [['json', 'msgpack'], ['msgpack', 'json']]) {
    test(`${callerSer} caller -> ${calleeSer} callee: args, kwargs, result and error`, async () => {
      const callee = await connect(router.url, { serializer: calleeSer });
      const caller = await connect(router.url, { serializer: callerSer });
      const proc = uniqueUri('com.example.rpc.cross');
      const seen = collector();
      await register(callee, proc, (args, kwargs) => {
        seen.push({ args, kwargs });
        if (kwargs.fail) throw new autobahn.Error('com.example.oops', [1, 2], { a: 3 });
        return new autobahn.Result([args[0], -7, 1.25], { big: 9007199254740991 });
      });
      const res = await call(caller, proc, ['ünï', 4294967296], { nested: { l: [1, 'a', null] } });
      assert.deepEqual(res.args, ['ünï', -7, 1.25]);
      assert.deepEqual(res.kwargs, { big: 9007199254740991 });
      const inv = await seen.nth(1);
      assert.deepEqual(inv.args, ['ünï', 4294967296]);
      assert.deepEqual(inv.kwargs, { nested: { l: [1, 'a', null] } });

      const err = await expectWampError(caller.session.call(proc, [], { fail: true }), 'com.example.oops');
      assert.deepEqual(err.args, [1, 2]);
      assert.deepEqual(err.kwargs, { a: 3 });
    });
  }

  test('msgpack caller bytes reach a JSON callee as \\0-base64 and come back as bytes', async () => {
    const callee = await connect(router.url, { serializer: 'json' });
    const caller = await connect(router.url, { serializer: 'msgpack' });
    const proc = uniqueUri('com.example.rpc.bytes');
    const seen = collector();
    await register(callee, proc, (args) => {
      seen.push(args);
      return args[0]; // echoes the \0-base64 string
    });
    const res = await call(caller, proc, [BYTES]);
    assert.deepEqual(await seen.nth(1), [B64]);
    assert.ok(Buffer.isBuffer(res), `result must be bytes, got ${JSON.stringify(res)}`);
    assert.deepEqual([...res], [...BYTES]);
  });
});

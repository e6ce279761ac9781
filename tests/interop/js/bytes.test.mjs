// Bytes through Junction between autobahn.js clients of every serializer pair: RPC arguments,
// keyword arguments and results, and event payloads.
//
// On the wire a binary value is msgpack `bin`, a CBOR byte string, or in JSON a string of
// "\u0000" + base64 (WAMP spec). autobahn.js's msgpack serializer (msgpack5) sends Buffer and
// Uint8Array as `bin`; its CBOR serializer (npm cbor) sends a Buffer as a byte string and a
// plain Uint8Array as a byte string under tag 64 (RFC 8746 typed array). Its JSON serializer
// has no binary support (JSON.stringify turns a Buffer into {"type":"Buffer","data":[...]}),
// so a JSON client writes and reads the "\u0000" + base64 form itself.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ALL_SERIALIZERS, ARRIVAL_MS, autobahn, collector, connect, routerConfig, uniqueUri, useRouter,
  withTimeout,
} from './harness.mjs';

const router = useRouter(() => routerConfig({ serializers: ALL_SERIALIZERS }));

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const SOME_BYTES = Buffer.from([0, 1, 2, 0xfe, 0xff]);
const NO_BYTES = new Uint8Array(0);

/** The value a client of serializer `ser` sends for `bytes`. */
function outgoing(ser, bytes, asBuffer = false) {
  if (ser === 'json') return `\u0000${Buffer.from(bytes).toString('base64')}`;
  return asBuffer ? Buffer.from(bytes) : bytes;
}

/** Checks that a client of serializer `ser` received `expected` as bytes. */
function assertBytes(ser, value, expected, what) {
  if (ser === 'json') {
    assert.equal(value, `\u0000${Buffer.from(expected).toString('base64')}`, `${what}: a JSON client gets "\\u0000" + base64`);
  } else {
    assert.ok(value instanceof Uint8Array, `${what}: a ${ser} client gets bytes, got ${JSON.stringify(value)}`);
    assert.deepEqual([...value], [...expected], `${what}: the same bytes`);
  }
}

describe('bytes between serializers', { timeout: 20000 }, () => {
  for (const from of ALL_SERIALIZERS) {
    for (const to of ALL_SERIALIZERS) {
      test(`${from} -> ${to}: call arguments, result and event payload stay bytes`, async () => {
        const sender = await connect(router.url, { serializer: from });
        const receiver = await connect(router.url, { serializer: to });

        // RPC: args and kwargs to the callee, echoed back in the result.
        const proc = uniqueUri('com.example.bytes.echo');
        const seen = collector();
        await withTimeout(receiver.session.register(proc, (args, kwargs) => {
          seen.push({ args, kwargs });
          return new autobahn.Result([args[0], args[2]], { blob: kwargs.blob, text: kwargs.text });
        }), ARRIVAL_MS, 'REGISTERED');
        const res = await withTimeout(sender.session.call(proc,
          [outgoing(from, ALL_BYTES), 'plain text', outgoing(from, NO_BYTES)],
          { blob: outgoing(from, SOME_BYTES, true), text: '\u00e9t\u00e9' }), ARRIVAL_MS, 'RESULT');
        const inv = await seen.nth(1);
        assertBytes(to, inv.args[0], ALL_BYTES, 'call args[0] (256 bytes, Uint8Array)');
        assert.equal(inv.args[1], 'plain text', 'a string stays a string');
        assertBytes(to, inv.args[2], NO_BYTES, 'call args[2] (empty)');
        assertBytes(to, inv.kwargs.blob, SOME_BYTES, 'call kwargs.blob (Buffer)');
        assert.equal(inv.kwargs.text, '\u00e9t\u00e9');
        assert.ok(res instanceof autobahn.Result, `result ${JSON.stringify(res)}`);
        assertBytes(from, res.args[0], ALL_BYTES, 'result args[0]');
        assertBytes(from, res.args[1], NO_BYTES, 'result args[1] (empty)');
        assertBytes(from, res.kwargs.blob, SOME_BYTES, 'result kwargs.blob');
        assert.equal(res.kwargs.text, '\u00e9t\u00e9');

        // PubSub: the event payload.
        const topic = uniqueUri('com.example.bytes.topic');
        const events = collector();
        await withTimeout(receiver.session.subscribe(topic, (args, kwargs) => events.push({ args, kwargs })), ARRIVAL_MS, 'SUBSCRIBED');
        await withTimeout(sender.session.publish(topic, [outgoing(from, SOME_BYTES)], { nested: { list: [outgoing(from, ALL_BYTES, true)] } },
          { acknowledge: true }), ARRIVAL_MS, 'PUBLISHED');
        const ev = await events.nth(1, ARRIVAL_MS, 'EVENT');
        assertBytes(to, ev.args[0], SOME_BYTES, 'event args[0]');
        assertBytes(to, ev.kwargs.nested.list[0], ALL_BYTES, 'event kwargs.nested.list[0]');
      });
    }
  }
});

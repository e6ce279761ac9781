// Test harness: starts the real Junction binary on port 0 and connects autobahn.js
// sessions to it. Shared by the `*.test.mjs` files (node:test).
//
//   cd tests/interop/js && npm ci && NODE_OPTIONS=--experimental-websocket node --test
//
// The binary is $JUNCTION_BIN, default <repo>/target/debug/junction (`cargo build`).
// NODE_OPTIONS=--experimental-websocket gives Node 20 the global WebSocket that autobahn.js
// uses (binaryType 'arraybuffer', which its msgpack5- and cbor-based serializers decode). Set
// AUTOBAHN_VERBOSE=1 to see autobahn.js's own warnings. `rawConnect` speaks WAMP frame by
// frame over the `ws` package for what autobahn.js cannot express.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';

import autobahn from 'autobahn';
import WebSocket from 'ws';

export { autobahn };

// Without a global WebSocket autobahn.js silently falls back to the `ws` package; these tests
// are meant to exercise the same WebSocket API as a browser, so insist on the global one.
if (typeof globalThis.WebSocket !== 'function') {
  throw new Error('no global WebSocket: run with NODE_OPTIONS=--experimental-websocket (Node 20)');
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..', '..');
export const JUNCTION_BIN = process.env.JUNCTION_BIN || path.join(REPO_ROOT, 'target', 'debug', 'junction');

/** How long something that must arrive may take. */
export const ARRIVAL_MS = 5000;
const STARTUP_MS = 20000;
const LISTENING_RE = /listening on ([0-9.]+):(\d+)/;

// autobahn.js logs every connection close with console.warn; keep the test output readable.
if (!process.env.AUTOBAHN_VERBOSE) {
  autobahn.log.warn = () => {};
}

// Safety net: no router outlives the test process, whatever happens.
const liveRouters = new Set();
process.on('exit', () => {
  for (const child of liveRouters) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// ---------------------------------------------------------------------------
// Router process
// ---------------------------------------------------------------------------

/** The permission that allows everything (Crossbar's shape). */
export const ALLOW_ALL = {
  uri: '', match: 'prefix',
  allow: { call: true, register: true, publish: true, subscribe: true },
};

/**
 * A Crossbar-style node config with one router worker, one realm and one web transport
 * with a WebSocket path `ws` on 127.0.0.1:0. `realms` (a list of `{name, roles, options?}`)
 * replaces the single realm, e.g. one realm per serializer suite, so that suites running
 * concurrently do not see each other's sessions in the meta API.
 */
export function routerConfig({ realm = 'realm1', roles, auth, serializers = ['json', 'msgpack'], realms } = {}) {
  const ws = { type: 'websocket', serializers };
  // The suites refuse logins on purpose, many a second from 127.0.0.1: more than Junction's
  // per-address limit on failed logins (20 in a row) lets through.
  if (auth) {
    ws.auth = auth;
    ws.options = { max_failed_logins: 0 };
  }
  return {
    version: 2,
    workers: [{
      type: 'router',
      realms: realms || [{
        name: realm,
        roles: roles || [{ name: 'anonymous', permissions: [ALLOW_ALL] }],
      }],
      transports: [{
        type: 'web',
        endpoint: { type: 'tcp', interface: '127.0.0.1', port: 0 },
        paths: { ws },
      }],
    }],
  };
}

function countTransports(config) {
  let n = 0;
  for (const w of config.workers || []) n += (w.transports || []).length;
  return n;
}

/**
 * Starts `junction start --config <tmp>` and waits until every transport logged
 * `listening on 127.0.0.1:PORT`. Resolves to a handle with `url`, `ports`, `log()` and
 * `stop()`; rejects with the captured log if the process exits or stays silent.
 */
export function startRouter(config, { startupMs = STARTUP_MS } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'junction-interop-'));
  const configPath = path.join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const expected = countTransports(config);

  return new Promise((resolve, reject) => {
    let output = '';
    let settled = false;
    const ports = [];
    let child;
    try {
      child = spawn(JUNCTION_BIN, ['start', '--config', configPath], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`cannot spawn ${JUNCTION_BIN}: ${e.message} (build it with \`cargo build\` or set JUNCTION_BIN)`));
      return;
    }
    liveRouters.add(child);

    let exited = null;
    const exitPromise = new Promise((res) => {
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        liveRouters.delete(child);
        res(exited);
      });
    });

    const handle = {
      child,
      ports,
      get url() { return `ws://127.0.0.1:${ports[0]}/ws`; },
      urlFor(i = 0, p = 'ws') { return `ws://127.0.0.1:${ports[i]}/${p}`; },
      log: () => output,
      /** Null while running, else {code, signal}. */
      get exited() { return exited; },
      async stop() {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
          await exitPromise;
          clearTimeout(t);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };

    const timer = setTimeout(() => {
      fail(new Error(`junction did not log ${expected} 'listening on' line(s) within ${startupMs} ms; log:\n${output}`));
    }, startupMs);

    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      reject(err);
    }

    let pending = '';
    function onData(chunk) {
      const text = chunk.toString('utf8');
      output += text;
      if (settled) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const m = LISTENING_RE.exec(line);
        if (m) ports.push(Number(m[2]));
      }
      if (ports.length >= expected) {
        settled = true;
        clearTimeout(timer);
        resolve(handle);
      }
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);

    child.on('error', (e) => {
      fail(new Error(`cannot run ${JUNCTION_BIN}: ${e.message} (build it with \`cargo build\` in ${REPO_ROOT} or set JUNCTION_BIN)`));
    });
    exitPromise.then(({ code, signal }) => {
      fail(new Error(`junction exited early (code ${code}, signal ${signal}); log:\n${output}`));
    });
  });
}

/** Throws (with the router log) if the router died during the tests. */
export function assertRouterAlive(router) {
  if (router && router.exited) {
    assert.fail(`junction exited during the tests (${JSON.stringify(router.exited)}); log:\n${router.log()}`);
  }
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

export const SERIALIZERS = ['json', 'msgpack'];

/**
 * Every serializer autobahn.js speaks in Node: JSON, msgpack (npm msgpack5) and CBOR (npm cbor,
 * both dependencies of autobahn). A router config for these needs
 * `routerConfig({serializers: ALL_SERIALIZERS})`.
 */
export const ALL_SERIALIZERS = ['json', 'msgpack', 'cbor'];

export function makeSerializer(name) {
  if (name === 'json') return new autobahn.serializer.JSONSerializer();
  if (name === 'msgpack') {
    assert.ok(autobahn.serializer.MsgpackSerializer, 'autobahn.js has no MsgpackSerializer (msgpack5 missing?)');
    return new autobahn.serializer.MsgpackSerializer();
  }
  if (name === 'cbor') {
    assert.ok(autobahn.serializer.CBORSerializer, 'autobahn.js has no CBORSerializer (npm cbor missing?)');
    return new autobahn.serializer.CBORSerializer();
  }
  throw new Error(`unknown serializer ${name}`);
}

/** Error for a connection that closed before its session joined. */
export class JoinFailed extends Error {
  constructor(reason, details) {
    super(`session did not join: ${reason} ${JSON.stringify(details)}`);
    this.reason = reason;   // autobahn's connection-level reason: closed | lost | unreachable
    this.details = details; // details.reason: the WAMP ABORT reason URI
  }
}

const openClients = new Set();

function connectionOptions(url, opts) {
  return {
    url,
    realm: opts.realm ?? 'realm1',
    serializers: [makeSerializer(opts.serializer ?? 'json')],
    authmethods: opts.authmethods,
    authid: opts.authid,
    authextra: opts.authextra,
    onchallenge: opts.onchallenge,
    max_retries: 0,
    retry_if_unreachable: false,
    // autobahn.js delivers progressive call results through `deferred.notify`, which only
    // its when.js deferreds have: pass `use_es6_promises: false` to receive progress.
    use_es6_promises: opts.use_es6_promises ?? true,
    on_user_error: opts.on_user_error ?? (() => {}),
    on_internal_error: opts.on_internal_error,
  };
}

/**
 * Opens an autobahn.js Connection and resolves when the session has joined:
 * {connection, session, details, closed, close()}. `closed` resolves with
 * {reason, details} when the connection closes. Rejects with JoinFailed if the
 * connection closes first, or on timeout.
 */
export function connect(url, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? ARRIVAL_MS;
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection(connectionOptions(url, opts));
    let joined = false;
    let finished = false;
    let closedResolve;
    const closed = new Promise((r) => { closedResolve = r; });
    const client = {
      connection,
      session: null,
      details: null,
      closed,
      isClosed: false,
      /** Leaves with GOODBYE and waits for the transport to close. */
      async close() {
        if (client.isClosed) return;
        try { connection.close(); } catch { /* already closing */ }
        const done = await withTimeout(closed, 3000, 'close').then(() => true, () => false);
        if (!done) await dropTransport(client);
      },
    };
    const timer = setTimeout(() => {
      if (finished) return;
      finished = true;
      try { connection.close(); } catch { /* ignore */ }
      reject(new Error(`session did not join ${url} within ${timeoutMs} ms`));
    }, timeoutMs);

    connection.onopen = (session, details) => {
      joined = true;
      client.session = session;
      client.details = details;
      openClients.add(client);
      if (finished) { client.close(); return; }
      finished = true;
      clearTimeout(timer);
      resolve(client);
    };
    connection.onclose = (reason, details) => {
      client.isClosed = true;
      openClients.delete(client);
      closedResolve({ reason, details });
      if (!joined && !finished) {
        finished = true;
        clearTimeout(timer);
        reject(new JoinFailed(reason, details));
      }
      return true; // never auto-reconnect
    };
    connection.open();
  });
}

/**
 * Opens a connection that must NOT join; resolves with {reason, details} of the close
 * (details.reason is the ABORT reason URI). Fails if a session joins.
 */
export async function connectExpectAbort(url, opts = {}) {
  try {
    const client = await connect(url, opts);
    await client.close();
    assert.fail(`session joined but was expected to be refused: ${JSON.stringify(client.details)}`);
  } catch (e) {
    if (e instanceof JoinFailed) return { reason: e.reason, details: e.details };
    throw e;
  }
}

/**
 * Clients opened through one scope, closed together: lets suites of one file run
 * concurrently (`describe(..., {concurrency: true})`), each closing only its own clients in
 * its afterEach, where closeAllClients would close the other suites' clients too.
 */
export function clientScope() {
  const clients = new Set();
  return {
    async connect(url, opts) {
      const c = await connect(url, opts);
      clients.add(c);
      return c;
    },
    async rawConnect(url, opts) {
      const c = await rawConnect(url, opts);
      clients.add(c);
      return c;
    },
    async closeAll() {
      const all = [...clients];
      clients.clear();
      await Promise.all(all.map((c) => c.close()));
    },
  };
}

/** Closes the transport without GOODBYE (like a crashed peer) and waits for the close. */
export async function dropTransport(client) {
  if (client.isClosed) return;
  const transport = client.connection._transport;
  if (transport) transport.close();
  await withTimeout(client.closed, ARRIVAL_MS, 'transport close');
}

/** Closes every client still open (for afterEach), autobahn.js and raw ones. */
export async function closeAllClients() {
  await Promise.all([...openClients].map((c) => c.close()));
  await Promise.all([...openRawClients].map((c) => c.close()));
}

// ---------------------------------------------------------------------------
// Raw WAMP client (npm ws) for what autobahn.js cannot express
// ---------------------------------------------------------------------------

/** WAMP message type codes. */
export const MSG = {
  HELLO: 1, WELCOME: 2, ABORT: 3, CHALLENGE: 4, AUTHENTICATE: 5, GOODBYE: 6, ERROR: 8,
  PUBLISH: 16, PUBLISHED: 17, SUBSCRIBE: 32, SUBSCRIBED: 33, UNSUBSCRIBE: 34, UNSUBSCRIBED: 35, EVENT: 36,
  CALL: 48, CANCEL: 49, RESULT: 50, REGISTER: 64, REGISTERED: 65, UNREGISTER: 66, UNREGISTERED: 67,
  INVOCATION: 68, INTERRUPT: 69, YIELD: 70,
};

/** HELLO roles of a raw client: a caller and callee that support canceling and timeouts. */
export const RAW_ROLES = {
  caller: { features: { call_canceling: true, call_timeout: true, progressive_call_results: true, caller_identification: true } },
  callee: { features: { call_canceling: true, call_timeout: true, progressive_call_results: true, caller_identification: true, pattern_based_registration: true, shared_registration: true } },
  publisher: { features: {} },
  subscriber: { features: {} },
};

const openRawClients = new Set();

/**
 * A WAMP session spoken frame by frame over the `ws` package, with autobahn.js's own
 * serializer objects doing the encoding (so the bytes on the wire are those autobahn.js would
 * send). Resolves after WELCOME with
 * {sessionId, welcome, received, send(msg), waitFor(pred, what), request(), register(...),
 * close()}; rejects with the ABORT message if the router refuses the session.
 */
export function rawConnect(url, opts = {}) {
  const serName = opts.serializer ?? 'json';
  const serializer = makeSerializer(serName);
  const ws = new WebSocket(url, [`wamp.2.${serName}`]);
  const received = [];
  const waiters = [];
  let requestId = 0;
  let closedResolve;
  const closed = new Promise((r) => { closedResolve = r; });

  const client = {
    ws,
    serializer: serName,
    received,
    closed,
    isClosed: false,
    sessionId: null,
    welcome: null,
    /** A fresh request id. */
    request() { requestId += 1; return requestId; },
    async send(msg) {
      const payload = await serializer.serialize(msg);
      ws.send(payload);
    },
    /** The first message received so far (or later) for which pred(msg) holds. */
    waitFor(pred, what, ms = ARRIVAL_MS) {
      const found = received.find(pred);
      if (found) return Promise.resolve(found);
      const d = deferred();
      waiters.push({ pred, resolve: d.resolve });
      return withTimeout(d.promise, ms, `${what} (raw ${serName} client got ${JSON.stringify(received)})`);
    },
    /** REGISTER and wait for REGISTERED; resolves to the registration id. */
    async register(procedure, options = {}) {
      const req = client.request();
      await client.send([MSG.REGISTER, req, options, procedure]);
      const reply = await client.waitFor((m) => (m[0] === MSG.REGISTERED && m[1] === req)
        || (m[0] === MSG.ERROR && m[1] === MSG.REGISTER && m[2] === req), `REGISTERED ${procedure}`);
      assert.equal(reply[0], MSG.REGISTERED, `REGISTER ${procedure} failed: ${JSON.stringify(reply)}`);
      return reply[2];
    },
    /** Leaves with GOODBYE and closes the WebSocket. */
    async close() {
      if (client.isClosed) return;
      if (client.sessionId !== null && ws.readyState === WebSocket.OPEN) {
        try {
          await client.send([MSG.GOODBYE, {}, 'wamp.close.close_realm']);
          await client.waitFor((m) => m[0] === MSG.GOODBYE, 'GOODBYE reply', 1000).catch(() => {});
        } catch { /* already closing */ }
      }
      ws.close();
      const done = await withTimeout(closed, 3000, 'raw close').then(() => true, () => false);
      if (!done) ws.terminate();
    },
  };

  ws.on('message', (data, isBinary) => {
    let msg;
    try {
      msg = isBinary ? serializer.unserialize(data) : JSON.parse(data.toString('utf8'));
    } catch (e) {
      msg = ['undecodable', String(e)];
    }
    received.push(msg);
    for (const w of [...waiters]) {
      if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
    }
  });
  ws.on('close', () => {
    client.isClosed = true;
    openRawClients.delete(client);
    closedResolve();
  });
  ws.on('error', () => { /* reported through close */ });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`raw ${serName} session did not join ${url} within ${ARRIVAL_MS} ms: ${JSON.stringify(received)}`));
    }, ARRIVAL_MS);
    ws.on('open', async () => {
      openRawClients.add(client);
      const details = { roles: opts.roles ?? RAW_ROLES };
      if (opts.authmethods) details.authmethods = opts.authmethods;
      if (opts.authid) details.authid = opts.authid;
      if (opts.authextra) details.authextra = opts.authextra;
      await client.send([MSG.HELLO, opts.realm ?? 'realm1', details]);
      const reply = await client.waitFor((m) => m[0] === MSG.WELCOME || m[0] === MSG.ABORT, 'WELCOME').catch((e) => e);
      clearTimeout(timer);
      if (Array.isArray(reply) && reply[0] === MSG.WELCOME) {
        client.sessionId = reply[1];
        client.welcome = reply;
        resolve(client);
      } else {
        await client.close();
        reject(new Error(`raw session refused: ${reply instanceof Error ? reply.message : JSON.stringify(reply)}`));
      }
    });
    closed.then(() => {
      clearTimeout(timer);
      if (client.sessionId === null) reject(new Error(`raw ${serName} connection closed before WELCOME: ${JSON.stringify(received)}`));
    });
  });
}

/**
 * Records every WAMP message an autobahn.js client receives (decoded, before autobahn.js
 * handles it), to check what the router sent where autobahn.js hides it or would fail on it.
 */
export function wireTap(client) {
  const transport = client.connection._transport;
  assert.ok(transport && typeof transport.onmessage === 'function', 'autobahn.js transport has no onmessage');
  const messages = [];
  const original = transport.onmessage;
  transport.onmessage = function tapped(msg) {
    messages.push(msg);
    return original.call(this, msg);
  };
  return messages;
}

// ---------------------------------------------------------------------------
// Small async helpers
// ---------------------------------------------------------------------------

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Resolves like `promise`, or rejects if it takes longer than `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Collects calls of a subscription/endpoint handler; `nth(n)` waits for the n-th one,
 * `waitFor(pred)` for the first one pred accepts.
 */
export function collector() {
  const items = [];
  const waiters = [];
  const matchers = [];
  return {
    items,
    push(item) {
      items.push(item);
      const w = waiters.find((x) => x.n <= items.length);
      if (w) { waiters.splice(waiters.indexOf(w), 1); w.resolve(items[w.n - 1]); }
      for (const m of [...matchers]) {
        if (m.pred(item)) { matchers.splice(matchers.indexOf(m), 1); m.resolve(item); }
      }
    },
    /** The first item (so far or later) for which pred(item) holds, waiting up to ms. */
    waitFor(pred, what = 'a matching item', ms = ARRIVAL_MS) {
      const found = items.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      const d = deferred();
      matchers.push({ pred, resolve: d.resolve });
      return withTimeout(d.promise, ms, `${what} (got ${JSON.stringify(items, (k, v) => (typeof v === 'bigint' ? `${v}n` : v))})`);
    },
    /** The n-th item (1-based), waiting up to ms for it. */
    nth(n, ms = ARRIVAL_MS, what = `item #${n}`) {
      if (items.length >= n) return Promise.resolve(items[n - 1]);
      const d = deferred();
      waiters.push({ n, resolve: d.resolve });
      return withTimeout(d.promise, ms, what);
    },
  };
}

/** Awaits a promise that must be rejected with an autobahn.Error carrying `uri`. */
export async function expectWampError(promise, uri, what = uri) {
  let result;
  try {
    result = await withTimeout(promise, ARRIVAL_MS, what);
  } catch (err) {
    if (err instanceof autobahn.Error) {
      assert.equal(err.error, uri, `expected error ${uri}, got ${err.error} ${JSON.stringify(err.args)}`);
      return err;
    }
    throw err;
  }
  assert.fail(`expected error ${uri}, but it succeeded with ${JSON.stringify(result)}`);
}

/** WAMP ids are integers in [1, 2^53]. */
export function assertWampId(value, what = 'id') {
  assert.ok(Number.isInteger(value) && value >= 1 && value <= 2 ** 53,
    `${what} must be an integer in [1, 2^53], got ${JSON.stringify(value)}`);
}

let uriCounter = 0;
/**
 * A topic/procedure URI not used by any other test in this process. The counter ends in `_` so
 * that no unique URI starts another one (`t7_` does not start `t71_`): prefix subscriptions and
 * registrations match on the string.
 */
export function uniqueUri(prefix = 'com.example.t') {
  uriCounter += 1;
  return `${prefix}${uriCounter}_`;
}

/** Whether `promise` is still pending after the already-queued callbacks have run. */
export async function isPending(promise) {
  const marker = Symbol('pending');
  const winner = await Promise.race([promise.then(() => 'settled', () => 'settled'), sleep(0).then(() => marker)]);
  return winner === marker;
}

/**
 * One router for a test file: started before its tests with `await makeConfig()`, checked
 * alive after each test (its clients closed first), stopped after them all. Returns the
 * router, to use from the tests on (a stand-in until `before` has started it).
 */
export function useRouter(makeConfig) {
  let started;
  before(async () => {
    started = await startRouter(await makeConfig());
  });
  afterEach(async () => {
    await closeAllClients();
    assertRouterAlive(started);
  });
  after(async () => {
    await closeAllClients();
    if (started) await started.stop();
  });
  return new Proxy({}, {
    get(_, key) {
      const value = started?.[key];
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}

// Test harness: starts the real Junction binary on port 0 and connects autobahn.js
// sessions to it. Shared by the `*.test.mjs` files (node:test).
//
//   cd tests/interop/js && npm ci && NODE_OPTIONS=--experimental-websocket node --test
//
// The binary is $JUNCTION_BIN, default <repo>/target/debug/junction (`cargo build`).
// NODE_OPTIONS=--experimental-websocket gives Node 20 the global WebSocket that autobahn.js
// uses (binaryType 'arraybuffer', which its msgpack5-based serializer decodes). Set
// AUTOBAHN_VERBOSE=1 to see autobahn.js's own warnings.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

import autobahn from 'autobahn';

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
 * with a WebSocket path `ws` on 127.0.0.1:0.
 */
export function routerConfig({ realm = 'realm1', roles, auth, serializers = ['json', 'msgpack'] } = {}) {
  const ws = { type: 'websocket', serializers };
  if (auth) ws.auth = auth;
  return {
    version: 2,
    workers: [{
      type: 'router',
      realms: [{
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

export function makeSerializer(name) {
  if (name === 'json') return new autobahn.serializer.JSONSerializer();
  if (name === 'msgpack') {
    assert.ok(autobahn.serializer.MsgpackSerializer, 'autobahn.js has no MsgpackSerializer (msgpack5 missing?)');
    return new autobahn.serializer.MsgpackSerializer();
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
    use_es6_promises: true,
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

/** Closes the transport without GOODBYE (like a crashed peer) and waits for the close. */
export async function dropTransport(client) {
  if (client.isClosed) return;
  const transport = client.connection._transport;
  if (transport) transport.close();
  await withTimeout(client.closed, ARRIVAL_MS, 'transport close');
}

/** Closes every client still open (for afterEach). */
export async function closeAllClients() {
  await Promise.all([...openClients].map((c) => c.close()));
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
 * Collects calls of a subscription/endpoint handler; `next()` waits for the next one.
 */
export function collector() {
  const items = [];
  const waiters = [];
  return {
    items,
    push(item) {
      items.push(item);
      const w = waiters.find((x) => x.n <= items.length);
      if (w) { waiters.splice(waiters.indexOf(w), 1); w.resolve(items[w.n - 1]); }
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
/** A topic/procedure URI not used by any other test in this process. */
export function uniqueUri(prefix = 'com.example.t') {
  uriCounter += 1;
  return `${prefix}${uriCounter}`;
}

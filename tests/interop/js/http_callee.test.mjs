// HTTP callees (issue 18): autobahn.js callers call procedures that Junction answers with an
// HTTP request to a local node:http server: the JSON answer is the result, a non-2xx answer a
// junction.error.http_status error with the status and body, over JSON and msgpack.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  ALLOW_ALL, ARRIVAL_MS, SERIALIZERS, connect, expectWampError, routerConfig, useRouter,
  withTimeout,
} from './harness.mjs';

let server;
const seen = [];

// A local HTTP server answers the callees: the JSON body it got, or 404 below /missing.
async function startServer() {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const status = req.url.startsWith('/missing') ? 404 : 200;
      const answer = status === 200 ? { got: JSON.parse(body) } : { error: 'no such order' };
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

const router = useRouter(async () => {
  const base = await startServer();
  return routerConfig({
    realms: [{
      name: 'realm1',
      roles: [{ name: 'anonymous', permissions: [ALLOW_ALL] }],
      http_callees: [
        { procedure: 'com.example.orders', match: 'prefix', url: `${base}/orders`, role: 'anonymous' },
        { procedure: 'com.example.missing', url: `${base}/missing`, role: 'anonymous' },
      ],
    }],
  });
});

after(() => {
  if (server) server.close();
});

for (const ser of SERIALIZERS) {
  describe(`http callee over ${ser}`, { timeout: 20000 }, () => {
    test('the JSON answer of the HTTP server is the result', async () => {
      const caller = await connect(router.url, { serializer: ser });
      const result = await withTimeout(
        caller.session.call('com.example.orders.create', [1, 'two'], { rush: true }),
        ARRIVAL_MS, 'RESULT');
      assert.deepEqual(result, {
        got: { procedure: 'com.example.orders.create', args: [1, 'two'], kwargs: { rush: true } },
      });
      const request = seen.at(-1);
      assert.equal(request.method, 'POST');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['wamp-procedure'], 'com.example.orders.create');
    });

    test('a 404 answer is an error with the status and body', async () => {
      const caller = await connect(router.url, { serializer: ser });
      const err = await expectWampError(caller.session.call('com.example.missing', [7]),
        'junction.error.http_status');
      assert.deepEqual(err.args, [404, { error: 'no such order' }]);
      assert.deepEqual(err.kwargs, { status: 404, body: { error: 'no such order' } });
    });
  });
}

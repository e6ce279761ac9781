// Joins realm1 over the WebSocket beside this page, subscribes to com.example.demo and shows
// each event (newest first). #status carries data-state: connecting -> subscribed, or closed.
// Payloads are shown with textContent: never HTML.
(function main() {
  'use strict';

  const topic = 'com.example.demo';
  const statusEl = document.getElementById('status');
  const eventsEl = document.getElementById('events');
  const show = (state, text) => {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  };
  if (typeof autobahn === 'undefined') {
    show('closed', 'autobahn.min.js did not load: run npm install in examples/browser-demo');
    return;
  }
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const connection = new autobahn.Connection({
    url: `${scheme}//${window.location.host}/ws`,
    realm: 'realm1',
  });
  connection.onopen = (session) => {
    session.subscribe(topic, (args, kwargs) => {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.textContent = new Date().toLocaleTimeString();
      const body = document.createElement('span');
      body.className = 'payload';
      body.textContent = JSON.stringify({ args, kwargs });
      li.append(time, body);
      eventsEl.prepend(li);
    }).then(
      () => show('subscribed', `subscribed to ${topic} (session ${session.id})`),
      (err) => show('closed', `subscribe failed: ${err.error || err}`),
    );
  };
  connection.onclose = (reason, details) => {
    show('closed', `disconnected: ${reason}${details && details.reason ? ` (${details.reason})` : ''}, retrying`);
    return false; // autobahn reconnects
  };
  connection.open();
}());

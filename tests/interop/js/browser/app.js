// Joins a realm with autobahn.js (browser build), subscribes to a topic and shows each event.
//
// Query parameters (all optional):
//   transport  websocket (default) or longpoll
//   url        the transport's URL; default ws://<this host>/ws, or http://<this host>/lp
//   realm      default realm1
//   topic      default com.example.browser
//
// #status carries data-state: connecting -> joined -> subscribed, or closed (with the reason
// in its text), so a test can wait for a state. Each event is an <li> in #events whose text is
// JSON.stringify({args, kwargs}). Text is set with textContent: payloads are never HTML.
(function main() {
  'use strict';

  const params = new URLSearchParams(window.location.search);
  const transport = params.get('transport') || 'websocket';
  const realm = params.get('realm') || 'realm1';
  const topic = params.get('topic') || 'com.example.browser';
  const defaultUrl = transport === 'longpoll'
    ? `${window.location.protocol}//${window.location.host}/lp`
    : `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}/ws`;
  const url = params.get('url') || defaultUrl;

  const statusEl = document.getElementById('status');
  const eventsEl = document.getElementById('events');
  document.getElementById('transport').textContent = transport;
  document.getElementById('topic').textContent = topic;

  function show(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  if (typeof autobahn === 'undefined') {
    show('closed', 'autobahn.min.js did not load');
    return;
  }
  if (transport !== 'websocket' && transport !== 'longpoll') {
    show('closed', `unknown transport ${transport} (websocket or longpoll)`);
    return;
  }

  const connection = new autobahn.Connection({
    transports: [{ type: transport, url }],
    realm,
    // A test wants one clear failure, not retries that hide it.
    max_retries: 0,
  });

  connection.onopen = function onopen(session) {
    show('joined', `joined ${realm} as session ${session.id} over ${transport}`);
    session.subscribe(topic, (args, kwargs) => {
      const li = document.createElement('li');
      li.textContent = JSON.stringify({ args, kwargs });
      eventsEl.appendChild(li);
    }).then(
      () => show('subscribed', `joined ${realm} as session ${session.id} over ${transport}, subscribed to ${topic}`),
      (err) => show('closed', `subscribe to ${topic} failed: ${err.error || err}`),
    );
  };

  connection.onclose = function onclose(reason, details) {
    show('closed', `closed: ${reason} ${details && details.reason ? details.reason : ''}`.trim());
    return true; // no reconnection
  };

  connection.open();
}());

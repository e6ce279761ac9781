// Joins realm1 on /ws offering `cookie` first, then `ticket`, as a browser app does that wants
// its user to log in once. Query parameters (all optional):
//   authid, ticket   the ticket login to make when the cookie does not log in
//   logout          1: leave with GOODBYE wamp.close.logout once joined (then `left`)
//   transport       websocket (default, on /ws) or longpoll (on /lp)
//
// #status carries data-state: connecting -> joined (or left, after a logout), or closed with
// the ABORT/close reason as its text; #who is JSON of the WELCOME's authid, authrole,
// authmethod and authprovider. Text is set with textContent.
(function main() {
  'use strict';

  const params = new URLSearchParams(window.location.search);
  const statusEl = document.getElementById('status');
  function show(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }
  if (typeof autobahn === 'undefined') {
    show('closed', 'autobahn.min.js did not load');
    return;
  }

  let loggingOut = false;
  const authid = params.get('authid') || undefined;
  const ticket = params.get('ticket') || '';
  const longpoll = params.get('transport') === 'longpoll';
  const url = longpoll
    ? `${window.location.protocol}//${window.location.host}/lp`
    : `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}/ws`;
  const connection = new autobahn.Connection({
    transports: [{ type: longpoll ? 'longpoll' : 'websocket', url }],
    realm: 'realm1',
    authmethods: ['cookie', 'ticket'],
    authid,
    onchallenge: () => ticket,
    max_retries: 0,
  });

  connection.onopen = function onopen(session, details) {
    document.getElementById('who').textContent = JSON.stringify({
      authid: details.authid,
      authrole: details.authrole,
      authmethod: details.authmethod,
      authprovider: details.authprovider,
    });
    if (params.get('logout') === '1') {
      // `left` once the router answered the GOODBYE: the logout is done by then.
      loggingOut = true;
      session.leave('wamp.close.logout', 'logging out');
      return;
    }
    show('joined', `joined as ${details.authid}`);
  };

  connection.onclose = function onclose(reason, details) {
    if (loggingOut) {
      show('left', 'logged out');
      return;
    }
    show('closed', (details && details.reason) || reason);
  };

  connection.open();
})();

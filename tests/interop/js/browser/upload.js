// Joins realm1, subscribes to the upload progress topic, and uploads the file chosen in #file
// with resumable.js (chunks tested with GET first, then POSTed as multipart), sending the topic
// and this session's id so that the progress events come to this page alone.
//
// Query parameters (all optional):
//   target  the upload path; default /upload
//   chunk   the chunk size in bytes; default 1048576
//   topic   default com.example.upload.on_progress
//
// #status carries data-state: connecting -> ready (joined and subscribed) -> uploading ->
// uploaded, or failed / closed (the reason in its text). Each progress event is an <li> in
// #events: "status chunk N remaining R progress P".
(function main() {
  'use strict';

  const params = new URLSearchParams(window.location.search);
  const target = params.get('target') || '/upload';
  const chunkSize = Number(params.get('chunk') || 1048576);
  const topic = params.get('topic') || 'com.example.upload.on_progress';
  const wsUrl = `${window.location.protocol === 'https:' ? 'wss:' : 'ws:'}//${window.location.host}/ws`;

  const statusEl = document.getElementById('status');
  const eventsEl = document.getElementById('events');
  document.getElementById('target').textContent = target;
  document.getElementById('topic').textContent = topic;

  function show(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  if (typeof autobahn === 'undefined' || typeof Resumable === 'undefined') {
    show('closed', 'autobahn.min.js or resumable.js did not load');
    return;
  }

  function startUploads(session) {
    const r = new Resumable({
      target,
      chunkSize,
      forceChunkSize: true,
      simultaneousUploads: 1,
      testChunks: true,
      maxChunkRetries: 2,
      query: { on_progress: topic, session: session.id },
    });
    if (!r.support) {
      show('failed', 'resumable.js is not supported in this browser');
      return;
    }
    r.assignBrowse(document.getElementById('file'));
    r.on('fileAdded', (file) => {
      show('uploading', `uploading ${file.fileName}`);
      r.upload();
    });
    r.on('fileSuccess', (file) => show('uploaded', `uploaded ${file.fileName}`));
    r.on('fileError', (file, message) => show('failed', `upload of ${file.fileName} failed: ${message}`));
  }

  const connection = new autobahn.Connection({
    transports: [{ type: 'websocket', url: wsUrl }],
    realm: 'realm1',
    max_retries: 0,
  });

  connection.onopen = function onopen(session) {
    session.subscribe(topic, (args) => {
      const e = args[0] || {};
      const li = document.createElement('li');
      li.textContent = `${e.status} chunk ${e.chunk} remaining ${e.remaining} progress ${e.progress}`;
      eventsEl.appendChild(li);
    }).then(
      () => {
        show('ready', `joined realm1 as session ${session.id}, subscribed to ${topic}`);
        startUploads(session);
      },
      (err) => show('closed', `subscribe to ${topic} failed: ${err.error || err}`),
    );
  };

  connection.onclose = function onclose(reason, details) {
    show('closed', `closed: ${reason} ${details && details.reason ? details.reason : ''}`.trim());
    return true;
  };

  connection.open();
}());

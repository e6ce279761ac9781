// A file uploaded from headless Chromium with resumable.js to an `upload` path, as Crossbar's
// fileupload example does: every chunk tested with GET, then POSTed as multipart; the page shows
// the progress events it receives over WAMP; the file must arrive whole
// (screenshot: target/browser-artifacts/upload-resumable.png). See browser_e2e.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { TEST_MS, openReadyPage, pageConfig, withBrowserPage } from './browser_e2e.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

test('resumable.js in a page uploads a file in three chunks and shows the progress events', { timeout: TEST_MS }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'junction-upload-'));
  try {
    const uploaded = path.join(dir, 'uploaded');
    mkdirSync(uploaded);
    const config = pageConfig({
      resumable: { type: 'static', directory: path.join(HERE, 'node_modules', 'resumablejs') },
      upload: {
        type: 'upload', realm: 'realm1', role: 'anonymous',
        directory: uploaded, temp_directory: path.join(dir, 'temp'),
        form_fields: {
          file_name: 'resumableFilename', mime_type: 'resumableType',
          total_size: 'resumableTotalSize', chunk_number: 'resumableChunkNumber',
          chunk_size: 'resumableChunkSize', total_chunks: 'resumableTotalChunks',
          content: 'file', on_progress: 'on_progress', session: 'session',
        },
        options: { max_file_size: 100000, file_types: ['.txt'] },
      },
    });
    await withBrowserPage(config, async (cx) => {
      const { base, page, waitFor, explain } = cx;
      await openReadyPage(cx, `${base}/upload.html?chunk=1000`, 'ready');

      // 2500 bytes in chunks of 1000: 1000, 1000, 500.
      const content = Buffer.from(Array.from({ length: 2500 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));
      await page.setInputFiles('#file', { name: 'report.txt', mimeType: 'text/plain', buffer: content });

      await waitFor(page.locator('#status[data-state="uploaded"], #status[data-state="failed"]'),
        'the upload to end');
      const state = await page.locator('#status').getAttribute('data-state');
      assert.equal(state, 'uploaded', await explain('the upload failed'));
      await waitFor(page.locator('#events li', { hasText: 'finished' }), 'the finished event');

      const events = await page.locator('#events li').allTextContents();
      assert.deepEqual(events, [
        'started chunk 1 remaining 2500 progress 0',
        'progress chunk 1 remaining 1500 progress 0.4',
        'progress chunk 2 remaining 500 progress 0.8',
        'progress chunk 3 remaining 0 progress 1',
        'finished chunk 3 remaining 0 progress 1',
      ], await explain('other progress events'));
      assert.deepEqual(readFileSync(path.join(uploaded, 'report.txt')), content, 'the uploaded bytes');
      await cx.screenshot('upload-resumable');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Browser end-to-end test of `ser-pipeline serve`, driving Debian's Chromium with playwright-core
// (no browser download). Exit code 0 when every check passes.
//
//   node serve.e2e.mjs            trains a tiny model on a generated corpus, then tests
//
// Environment:
//   SER_BIN      the binary (default: $CARGO_TARGET_DIR or ../../target, then release/ser-pipeline)
//   CHROMIUM     the browser (default: /usr/bin/chromium)
//   MODEL_DIR    use this model instead of training a tiny one
//   UPLOAD_WAV   upload this file instead of a generated one
//   README_SHOT  also save a screenshot of the page after the upload here (e.g. docs/serve.png)
//   E2E_OUT      where screenshots go (default: ../../target/e2e)

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const bin = path.resolve(process.env.SER_BIN || path.join(targetDir, 'release', 'ser-pipeline'));
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const outDir = path.resolve(process.env.E2E_OUT || path.join(root, 'target', 'e2e'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ser-e2e-'));

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}${detail ? ': ' + detail : ''}`);
  }
}

// ---- Synthetic audio (same recipe as tests/common/mod.rs `voice`) --------------------------

function voice(emotion, actor, repetition, sampleRate, seconds) {
  const n = Math.floor(seconds * sampleRate);
  const f0 = 110 + 25 * emotion + 3 * actor + repetition;
  let state = 0x9e3779b97f4a7c15n ^ BigInt((emotion << 16) | (actor << 8) | repetition);
  const mask = (1n << 64n) - 1n;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const env = Math.sin((Math.PI * i) / n);
    let tone = 0;
    for (let h = 1; h <= 4; h++) tone += Math.sin(2 * Math.PI * f0 * h * t) / h;
    state ^= (state << 13n) & mask;
    state ^= state >> 7n;
    state ^= (state << 17n) & mask;
    const noise = Number(state >> 11n) / 2 ** 53 - 0.5;
    out[i] = 0.3 * env * tone + 0.01 * noise;
  }
  return out;
}

function wav16(samples, sampleRate) {
  const buf = Buffer.alloc(44 + samples.length * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + samples.length * 2, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(sampleRate, 24);
  buf.writeUInt32LE(sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) {
    buf.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), 44 + 2 * i);
  }
  return buf;
}

/** A tiny model: 3 actors x 8 emotions x 2 repetitions of 0.3 s, as the Rust tests train; per-speaker
 * normalised like the recommended config, so a clip is scaled by the training speakers' average. */
function trainTinyModel() {
  const ws = path.join(work, 'ws');
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'pipeline.toml'), [
    '[data]', 'root = "corpus"', 'out_dir = "out"', 'reports_dir = "reports"',
    '[split.random]', 'seeds = [1]',
    '[split.actor_holdout]', 'enabled = false',
    '[split.actor_kfold]', 'k = 2',
    '[train]', 'speaker_normalization = true',
    '[models]', 'train = ["mlp"]',
    '[models.mlp]', 'hidden_layers = [32]', '',
  ].join('\n'));
  for (const actor of [1, 2, 3]) {
    const dir = path.join(ws, 'corpus', `Actor_${String(actor).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let emotion = 1; emotion <= 8; emotion++) {
      for (const rep of [1, 2]) {
        const p2 = (x) => String(x).padStart(2, '0');
        const name = `03-01-${p2(emotion)}-01-01-${p2(rep)}-${p2(actor)}.wav`;
        fs.writeFileSync(path.join(dir, name), wav16(voice(emotion, actor, rep, 16000, 0.3), 16000));
      }
    }
  }
  const run = spawnSync(bin, ['run', '-q'], { cwd: ws, encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`training the tiny model failed (${run.status}): ${run.stderr || run.error}`);
  }
  return path.join(ws, 'out', 'models', 'mlp');
}

// ---- The server --------------------------------------------------------------------------

function startServer(modelDir) {
  const child = spawn(bin, ['serve', '--model', modelDir, '--addr', '127.0.0.1:0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const url = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start in 30 s:\n' + log)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${log}`)); });
  });
  return { child, url, log: () => log };
}

function stopServer(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) { resolve(server.child.exitCode); return; }
    const timer = setTimeout(() => { server.child.kill('SIGKILL'); }, 10000);
    server.child.on('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? signal); });
    server.child.kill('SIGTERM');
  });
}

// ---- The test ----------------------------------------------------------------------------

async function main() {
  if (!fs.existsSync(bin)) throw new Error(`no binary at ${bin}: run cargo build --release`);
  if (!fs.existsSync(browserPath)) throw new Error(`no browser at ${browserPath}: apt-get install chromium`);
  fs.mkdirSync(outDir, { recursive: true });

  const modelDir = process.env.MODEL_DIR ? path.resolve(process.env.MODEL_DIR) : trainTinyModel();
  const uploadPath = process.env.UPLOAD_WAV
    ? path.resolve(process.env.UPLOAD_WAV)
    : path.join(work, '03-01-05-01-01-01-09.wav');
  if (!process.env.UPLOAD_WAV) fs.writeFileSync(uploadPath, wav16(voice(5, 9, 1, 16000, 1.2), 16000));
  // The fake microphone plays (and loops) this file.
  const micPath = path.join(work, 'microphone.wav');
  fs.writeFileSync(micPath, wav16(voice(3, 4, 2, 48000, 3.0), 48000));

  const server = startServer(modelDir);
  const url = await server.url;
  console.log(`# server ${url}, model ${modelDir}`);

  const profile = fs.mkdtempSync(path.join(work, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browserPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    permissions: ['microphone'],
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${micPath}`,
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  const problems = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(20000);
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      // Expected: the browser notes the 4xx answers the error checks provoke.
      if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push('console: ' + m.text());
    });
    // (A clip's blob: URL is revoked when the next clip replaces it; its load is then aborted.)
    page.on('requestfailed', (r) => { if (!r.url().startsWith('blob:')) problems.push('request failed: ' + r.url()); });
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) external.push(r.url()); });

    await page.goto(url);
    await page.waitForSelector('#model-chip strong');
    check('the model card loads', (await page.textContent('#model-chip')).includes('Model'));
    check('the facts list the features', (await page.locator('#facts .fact').count()) >= 4);
    const facts = await page.textContent('#facts');
    check('the facts say speakers are normalised', /Speakers\s*normalised/.test(facts), facts);

    // (1) Upload through the file input.
    const [upload] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/predict')),
      page.setInputFiles('#file', uploadPath),
    ]);
    check('upload answered 200', upload.status() === 200, String(upload.status()));
    await page.waitForSelector('#result:not([hidden])');
    const emotion = (await page.textContent('#emotion')).trim();
    const labels = (await (await page.request.get(url + '/api/model')).json()).labels;
    check('the upload shows an emotion', labels.includes(emotion), JSON.stringify(emotion));
    check('eight probability bars', (await page.locator('#bars .bar').count()) === 8);
    const meta = await page.textContent('#result-meta');
    check('the duration is shown', /\d+\.\d\d s clip/.test(meta), meta);
    check('average-speaker scaling is said', meta.includes('average-speaker scaling'), meta);
    const resultNote = await page.textContent('#result-note');
    check('the accuracy note says a single clip does worse', resultNote.includes('a single clip'), resultNote);
    check('the clip can be played back', await page.isVisible('#player'));
    await page.waitForTimeout(600); // let the bars finish their transition
    await page.screenshot({ path: path.join(outDir, 'upload.png'), fullPage: true });
    if (process.env.README_SHOT) {
      await page.screenshot({ path: path.resolve(process.env.README_SHOT), fullPage: true });
      console.log(`# wrote ${path.resolve(process.env.README_SHOT)}`);
    }

    // A file that is not audio: the server's message is shown.
    await page.setInputFiles('#file', {
      name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a recording'),
    });
    await page.waitForSelector('#error:not([hidden])');
    const error = await page.textContent('#error-text');
    check('a text file shows the server error', /not audio/.test(error), error);
    await page.screenshot({ path: path.join(outDir, 'error.png'), fullPage: true });

    // Drag and drop a corrupt .wav: 400 with the decoder's message.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(3000).fill(0x5a)], 'broken.wav', { type: 'audio/wav' }));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => /not a readable audio file/.test(document.getElementById('error-text').textContent));
    check('a dropped corrupt file shows the decoder error', true);

    // A good file dropped: a prediction again, the error cleared.
    const wavBase64 = fs.readFileSync(uploadPath).toString('base64');
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/predict') && r.status() === 200),
      page.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.wav', { type: 'audio/wav' }));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, wavBase64),
    ]);
    await page.waitForSelector('#error', { state: 'hidden' });
    check('a dropped WAV is predicted', (await page.textContent('#clip-name')) === 'dropped.wav');

    // (2) Record ~2 s from the fake microphone, stop, and get a prediction.
    await page.click('#record');
    await page.waitForSelector('#stop:not([disabled])');
    await page.waitForTimeout(2200);
    const [recorded] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/predict')),
      page.click('#stop'),
    ]);
    const body = await recorded.json().catch(() => ({}));
    check('the recording answered 200', recorded.status() === 200, JSON.stringify(body));
    check('the recording is about 2 s', body.duration_s > 1.0 && body.duration_s < 4.0, String(body.duration_s));
    check('the recording is 16-bit mono WAV', body.channels === 1 && body.sample_rate >= 8000, JSON.stringify(body));
    await page.waitForFunction(() => document.getElementById('clip-name').textContent.startsWith('Recording'));
    await page.waitForSelector('#result:not([hidden])');
    const recEmotion = (await page.textContent('#emotion')).trim();
    check('the recording shows an emotion', labels.includes(recEmotion) && recEmotion === body.emotion, recEmotion);
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(outDir, 'record.png'), fullPage: true });

    check('no external requests', external.length === 0, external.join(', '));
    check('no page errors', problems.length === 0, problems.join(' | '));
  } finally {
    await context.close();
    const code = await stopServer(server);
    check('the server stops cleanly on SIGTERM', code === 0, String(code) + '\n' + server.log());
  }
}

try {
  await main();
} catch (err) {
  failed++;
  console.log(`FAIL - ${err.stack || err}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`# screenshots in ${outDir}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);

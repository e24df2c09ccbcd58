// ser-pipeline serve: the page's logic. No dependencies; everything is served by the binary.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const KNOWN = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised'];
  const MODEL_NAMES = {
    mlp: 'Multi-layer perceptron',
    logistic_regression: 'Logistic regression',
    random_forest: 'Random forest',
    svm: 'Support vector machine (RBF)',
    ensemble: 'Mean of several models',
  };
  const SHORT_NAMES = {
    mlp: 'MLP', logistic_regression: 'Logistic regression', random_forest: 'Random forest',
    svm: 'SVM', ensemble: 'Ensemble',
  };
  const PROTOCOLS = {
    actor_holdout: ['Held-out actors', 'test speakers never seen in training'],
    actor_kfold: ['Actor k-fold', 'speaker-independent cross-validation'],
    random: ['Random split', 'speakers shared by train and test: optimistic'],
  };

  let labels = KNOWN.slice();
  let limits = { max_upload_bytes: 20 * 1024 * 1024, max_duration_s: 60 };
  let busy = false;
  let honestAccuracy = null; // speaker-independent accuracy, from /api/model
  let recorder = null;
  let clipUrl = null;

  const emoClass = (label) => 'emo-' + (KNOWN.includes(label) ? label : 'other');
  const pct = (p, digits = 1) => (100 * p).toFixed(digits) + '%';
  const el = (tag, props = {}, children = []) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const fmtBytes = (n) => (n >= 1024 * 1024 ? (n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0) + ' MB' : Math.round(n / 1024) + ' KB');

  // ---- Model facts and metrics -------------------------------------------------------------

  async function loadModel() {
    const chip = $('model-chip');
    try {
      const res = await fetch('/api/model', { cache: 'no-store' });
      if (!res.ok) throw new Error(res.status + ' ' + res.statusText);
      const info = await res.json();
      if (Array.isArray(info.labels) && info.labels.length) labels = info.labels;
      if (info.limits) limits = info.limits;
      renderModel(info);
      chip.replaceChildren(
        el('span', { class: 'dot', 'aria-hidden': 'true' }),
        el('span', { text: 'Model ' }),
        el('strong', { text: MODEL_NAMES[info.model] || info.model }),
      );
    } catch (err) {
      chip.classList.add('down');
      chip.replaceChildren(el('span', { class: 'dot', 'aria-hidden': 'true' }), el('span', { text: 'Model unavailable' }));
      showError('Cannot reach the server', String(err.message || err));
    }
  }

  function renderModel(info) {
    $('version').textContent = info.version ? 'v' + info.version : '';
    $('limits-text').textContent = 'up to ' + fmtBytes(limits.max_upload_bytes) + ' and ' + limits.max_duration_s + ' s';
    const groups = (info.feature_groups || []).map((g) => g.name + ' ' + g.count).join(' · ');
    // An ensemble: its members, each with the windows it reads.
    const members = (info.members || []).map((m) => (SHORT_NAMES[m.model] || m.model) +
      (m.segment_seconds ? ' on ' + m.segment_seconds + ' s windows' : ' on whole clips')).join(' + ');
    const facts = [
      ['Model', SHORT_NAMES[info.model] || info.model, members || MODEL_NAMES[info.model] || ''],
      ['Features', String(info.n_features), groups],
      ['Classes', String(labels.length), labels.join(', ')],
      ['Trained on', (info.n_train || 0).toLocaleString() + ' clips',
        info.n_augmented ? '+ ' + info.n_augmented.toLocaleString() + ' augmented copies' : 'no augmented copies'],
      ['Audio', info.sample_rate ? 'resampled to ' + info.sample_rate + ' Hz' : 'native sample rate', 'mono, WAV or FLAC'],
    ];
    if (info.speaker_normalization) {
      facts.push(['Speakers', 'normalised', info.needs_speaker_groups
        ? 'single clips cannot be judged' : "a clip is scaled by the training speakers' average"]);
    }
    $('facts').replaceChildren(...facts.map(([k, v, small]) =>
      el('div', { class: 'fact' }, [el('dt', { text: k }), el('dd', {}, [v, small ? el('small', { text: small }) : ''])])));

    const rows = Array.isArray(info.metrics) ? info.metrics.slice() : [];
    const order = ['actor_holdout', 'actor_kfold', 'random'];
    rows.sort((a, b) => {
      const ia = order.indexOf(a.protocol), ib = order.indexOf(b.protocol);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    const note = $('metrics-note');
    if (!rows.length) {
      $('metrics').hidden = true;
      note.textContent = info.metrics_error
        ? 'The evaluation metrics could not be read: ' + info.metrics_error
        : 'No evaluation metrics were found for this model. Run the evaluate stage, or start the server with --metrics FILE.';
      return;
    }
    const honest = ['actor_kfold', 'actor_holdout']
      .map((p) => rows.find((r) => r.protocol === p && typeof r.accuracy === 'number'))
      .find(Boolean);
    honestAccuracy = honest ? honest.accuracy : null;
    const num = (v, f) => (typeof v === 'number' ? f(v) : '–');
    $('metrics-body').replaceChildren(...rows.map((r) => {
      const [name, desc] = PROTOCOLS[r.protocol] || [r.protocol, ''];
      const acc = el('span', { class: 'acc' });
      if (typeof r.accuracy === 'number') {
        const bar = el('span', { class: 'acc-bar', 'aria-hidden': 'true' }, [el('span')]);
        bar.firstChild.style.width = Math.max(0, Math.min(100, 100 * r.accuracy)) + '%';
        const std = typeof r.accuracy_std === 'number' && r.accuracy_std > 0
          ? '± ' + (100 * r.accuracy_std).toFixed(1) : '';
        acc.append(bar, el('span', { text: pct(r.accuracy) }), el('small', { text: std }));
      } else acc.append('–');
      const weakest = r.weakest_class
        ? [el('span', { class: 'pill ' + emoClass(r.weakest_class), text: r.weakest_class }), ' ', el('small', { text: num(r.min_recall, (v) => pct(v, 0)) })]
        : ['–'];
      return el('tr', {}, [
        el('th', { scope: 'row', class: 'proto' }, [name, desc ? el('small', { text: desc }) : '']),
        el('td', { class: 'num', text: num(r.n_test, (v) => v.toLocaleString()) }),
        el('td', { class: 'num' }, [acc]),
        el('td', { class: 'num', text: num(r.macro_f1, (v) => v.toFixed(3)) }),
        el('td', { class: 'num', text: num(r.weighted_f1, (v) => v.toFixed(3)) }),
        el('td', {}, weakest),
      ]);
    }));
    $('metrics').hidden = false;
    note.textContent = 'Means over the folds of each protocol. Chance is ' + pct(1 / labels.length, 1) +
      '. Speaker-independent protocols are the honest estimate for a new voice.' +
      (info.metrics_source ? ' Source: ' + info.metrics_source + '.' : '');
  }

  // ---- Result rendering ----------------------------------------------------------------------

  function setBusy(on, text) {
    busy = on;
    $('result-card').setAttribute('aria-busy', on ? 'true' : 'false');
    const status = $('status');
    status.textContent = text || '';
    status.classList.toggle('busy', on);
    $('drop').classList.toggle('disabled', on);
    $('record').disabled = on || recorder !== null;
  }

  function showError(title, text) {
    $('error-title').textContent = title;
    $('error-text').textContent = text;
    $('error').hidden = false;
    $('placeholder').hidden = true;
  }

  function clearError() {
    $('error').hidden = true;
  }

  function showResult(data) {
    const probs = data.probabilities || {};
    const order = labels.filter((l) => l in probs).concat(Object.keys(probs).filter((l) => !labels.includes(l)));
    const top = data.emotion;
    $('placeholder').hidden = true;
    const badge = $('emotion-badge');
    badge.className = 'emotion-badge ' + emoClass(top);
    badge.textContent = (top || '?').charAt(0).toUpperCase();
    $('emotion').textContent = top;
    const parts = [pct(probs[top] || 0) + ' confidence'];
    if (typeof data.duration_s === 'number') parts.push(data.duration_s.toFixed(2) + ' s clip');
    if (data.sample_rate) parts.push(String(Number((data.sample_rate / 1000).toFixed(2))) + ' kHz');
    if (data.speaker_statistics === 'population') parts.push('average-speaker scaling');
    $('result-meta').textContent = parts.join(' · ');
    $('bars').replaceChildren(...order.map((label) => {
      const p = Number(probs[label]) || 0;
      const fill = el('div', { class: 'bar-fill' });
      const li = el('li', { class: 'bar ' + emoClass(label) + (label === top ? ' top' : '') }, [
        el('span', { class: 'bar-label', text: label }),
        el('div', {
          class: 'bar-track', role: 'meter', 'aria-label': label,
          'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': (100 * p).toFixed(1),
          'aria-valuetext': pct(p),
        }, [fill]),
        el('span', { class: 'bar-value', text: pct(p) }),
      ]);
      requestAnimationFrame(() => { fill.style.width = Math.max(0.5, 100 * p) + '%'; });
      return li;
    }));
    const note = $('result-note');
    note.hidden = honestAccuracy === null;
    // A per-speaker-normalised model was evaluated on each test voice's own statistics; a lone
    // clip is scaled by the average speaker instead and is judged less well than that figure.
    const averaged = data.speaker_statistics === 'population';
    note.textContent = honestAccuracy === null ? '' : 'A guess from acted speech (RAVDESS): on voices it has not heard, this model is right ' +
      pct(honestAccuracy, 0) + ' of the time (chance ' + pct(1 / labels.length, 1) + ')' +
      (averaged ? " when it hears many recordings of each voice; a single clip, scaled by the training speakers' average, is judged less well." : '.');
    $('result').hidden = false;
  }

  function showClip(blob, name) {
    if (clipUrl) URL.revokeObjectURL(clipUrl);
    clipUrl = URL.createObjectURL(blob);
    const player = $('player');
    const playable = /^audio\//.test(blob.type) || /\.(wav|wave|flac)$/i.test(name);
    player.hidden = !playable;
    if (playable) player.src = clipUrl; else player.removeAttribute('src');
    $('clip-name').textContent = name;
    $('clip').hidden = false;
  }

  async function predict(body, name) {
    if (busy) return;
    clearError();
    const size = body instanceof FormData ? body.get('file').size : body.size;
    if (size > limits.max_upload_bytes) {
      showError('The file is too large', name + ' is ' + fmtBytes(size) + '; this server accepts at most ' + fmtBytes(limits.max_upload_bytes) + '.');
      return;
    }
    setBusy(true, 'Analysing ' + name + '…');
    try {
      const init = { method: 'POST', body };
      if (!(body instanceof FormData)) init.headers = { 'Content-Type': body.type || 'application/octet-stream' };
      const res = await fetch('/api/predict', init);
      let data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (!res.ok) {
        const msg = data && data.error ? data.error : res.status + ' ' + res.statusText;
        const noVoice = res.status === 422 && /^no voice found in the clip/.test(msg);
        showError(noVoice ? 'No voice found in the clip' : res.status === 413 ? 'Too large'
          : res.status === 415 ? 'Not a supported audio file' : 'Could not analyse ' + name,
        noVoice ? 'No emotion is given for ' + name + ': ' + msg.replace(/^no voice found in the clip: /, '') +
          '. Check that the right file was chosen, or that the microphone is not muted.' : msg);
        $('result').hidden = true;
        return;
      }
      showResult(data);
    } catch (err) {
      showError('Network error', String(err.message || err));
    } finally {
      setBusy(false, '');
    }
  }

  function uploadFile(file) {
    if (!file) return;
    showClip(file, file.name);
    const form = new FormData();
    form.append('file', file, file.name);
    predict(form, file.name);
  }

  // ---- File input and drag-and-drop ----------------------------------------------------------

  const drop = $('drop');
  const input = $('file');
  drop.addEventListener('click', () => input.click());
  drop.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click(); }
  });
  input.addEventListener('change', () => {
    uploadFile(input.files[0]);
    input.value = '';
  });
  ['dragenter', 'dragover'].forEach((type) => drop.addEventListener(type, (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    drop.classList.add('dragging');
  }));
  ['dragleave', 'dragend'].forEach((type) => drop.addEventListener(type, () => drop.classList.remove('dragging')));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('dragging');
    const file = e.dataTransfer.files && e.dataTransfer.files[0];
    if (file) uploadFile(file);
  });
  // A file dropped elsewhere on the page must not navigate away from it.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  // ---- Microphone recording: Web Audio -> 16-bit PCM mono WAV ---------------------------------

  function encodeWav(samples, sampleRate) {
    const buffer = new ArrayBuffer(44 + samples.length * 2);
    const v = new DataView(buffer);
    const ascii = (offset, s) => { for (let i = 0; i < s.length; i++) v.setUint8(offset + i, s.charCodeAt(i)); };
    ascii(0, 'RIFF');
    v.setUint32(4, 36 + samples.length * 2, true);
    ascii(8, 'WAVE');
    ascii(12, 'fmt ');
    v.setUint32(16, 16, true);
    v.setUint16(20, 1, true); // PCM
    v.setUint16(22, 1, true); // mono
    v.setUint32(24, sampleRate, true);
    v.setUint32(28, sampleRate * 2, true);
    v.setUint16(32, 2, true);
    v.setUint16(34, 16, true);
    ascii(36, 'data');
    v.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.round(samples[i] * 32768);
      v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, s)), true);
    }
    return new Blob([buffer], { type: 'audio/wav' });
  }

  async function startRecording() {
    clearError();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError('Recording is not available', 'This browser only allows the microphone on https:// pages or on localhost.');
      return;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      showError('Cannot use the microphone', err.name === 'NotAllowedError'
        ? 'Permission to use the microphone was denied.'
        : String(err.message || err));
      return;
    }
    const AudioCtx = window.AudioContext || window.webkitAudioContext;
    const ctx = new AudioCtx();
    if (ctx.state === 'suspended') await ctx.resume();
    const source = ctx.createMediaStreamSource(stream);
    const processor = ctx.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    let frames = 0;
    const started = performance.now();
    processor.onaudioprocess = (e) => {
      if (!recorder) return;
      const data = e.inputBuffer.getChannelData(0);
      chunks.push(new Float32Array(data));
      frames += data.length;
      let peak = 0;
      for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
      $('level').style.width = Math.min(100, Math.sqrt(peak) * 100) + '%';
      if (frames / ctx.sampleRate >= limits.max_duration_s) stopRecording();
    };
    source.connect(processor);
    processor.connect(ctx.destination); // Chrome only runs a processor that is connected; its output is silence.
    const timer = setInterval(() => {
      $('rec-time').textContent = ((performance.now() - started) / 1000).toFixed(1) + ' s';
    }, 100);
    recorder = { stream, ctx, source, processor, chunks, timer, get frames() { return frames; } };
    const btn = $('record');
    btn.classList.add('recording');
    btn.disabled = true;
    $('record-label').textContent = 'Recording…';
    $('stop').disabled = false;
    $('stop').focus();
  }

  function stopRecording() {
    const r = recorder;
    if (!r) return;
    recorder = null;
    clearInterval(r.timer);
    try { r.source.disconnect(); r.processor.disconnect(); } catch (_) { /* already */ }
    r.stream.getTracks().forEach((t) => t.stop());
    const sampleRate = r.ctx.sampleRate;
    r.ctx.close();
    const btn = $('record');
    btn.classList.remove('recording');
    btn.disabled = false;
    $('record-label').textContent = 'Record again';
    $('stop').disabled = true;
    $('level').style.width = '0';
    const n = r.chunks.reduce((s, c) => s + c.length, 0);
    if (n === 0) {
      showError('Nothing was recorded', 'The microphone delivered no audio. Try again, and speak for a second or two.');
      return;
    }
    const samples = new Float32Array(n);
    let offset = 0;
    for (const c of r.chunks) { samples.set(c, offset); offset += c.length; }
    $('rec-time').textContent = (n / sampleRate).toFixed(1) + ' s';
    const blob = encodeWav(samples, sampleRate);
    const name = 'Recording (' + (n / sampleRate).toFixed(1) + ' s)';
    showClip(blob, name);
    predict(blob, 'the recording');
  }

  $('record').addEventListener('click', startRecording);
  $('stop').addEventListener('click', stopRecording);

  loadModel();
})();

// Router live viewer: plain ES2020 module, no dependencies, no build step.
//
//   Viewer      polls GET /v1/sources every 5 s, renders the camera list, owns one CameraTile per camera.
//   CameraTile  one consumer WebSocket (format=binary) + one <canvas>; decodes only the newest frame,
//               measures fps / latency, reconnects with backoff (never after 4001 unauthorized).
//
// Test hooks: tile [data-camera="<source_id>/<camera_id>"], and inside it [data-role=frame|status|fps|frames].
// window.routerViewer.tiles is a Map "<source_id>/<camera_id>" -> CameraTile {framesDrawn, fps, status, ...}.
// The API key (or a viewer token from "#token=<token>", minted by a backend with POST /v1/tokens) is only ever
// sent in the Authorization header and the WebSocket auth message; it is never put in a URL or logged. The
// fragment is never sent to the server, and it is removed from the address bar at once.

const POLL_INTERVAL_MS = 5000;
const POLL_TIMEOUT_MS = 4000;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 10000;
const LATENCY_SMOOTHING = 0.2; // weight of the newest sample in the latency moving average
const CLOSE_UNAUTHORIZED = 4001;
const KEY_STORAGE = 'router.viewer.apiKey';
const UNAUTHORIZED_TEXT = 'unauthorized — check the API key';
const FRAME_TYPE = 0x01;

const $ = (id) => document.getElementById(id);
const utf8 = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Protocol helpers
// ---------------------------------------------------------------------------------------------

/**
 * Decodes one binary frame message:
 * 0x01 | u8 len | source_id | u8 len | camera_id | u32 BE width | u32 BE height | i64 BE timestamp_ms | JPEG.
 * Returns the header fields plus `jpeg`, a view onto the JPEG bytes (no copy). Throws on malformed input.
 */
export function parseFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 1 || bytes[0] !== FRAME_TYPE) throw new Error('not a video frame (type byte)');
  let pos = 1;
  const readShortString = () => {
    if (pos >= bytes.length || pos + 1 + bytes[pos] > bytes.length) throw new Error('truncated frame header');
    const len = bytes[pos];
    const value = utf8.decode(bytes.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
    return value;
  };
  const sourceId = readShortString();
  const cameraId = readShortString();
  if (pos + 16 > bytes.length) throw new Error('truncated frame header');
  const view = new DataView(bytes.buffer, bytes.byteOffset + pos, 16);
  return {
    sourceId,
    cameraId,
    width: view.getUint32(0),
    height: view.getUint32(4),
    timestampMs: Number(view.getBigInt64(8)),
    jpeg: bytes.subarray(pos + 16),
  };
}

/** Resolves an API path against the page's own location, so the viewer also works under a path prefix. */
const apiUrl = (path) => new URL(path, document.baseURI);

/**
 * Width (px) of the variant the tiles ask for when more than one camera is shown: the gateway encodes it once per
 * frame for all viewers (docs/api.md, "Variants"); one tile alone gets the full-size frames.
 */
const TILE_VARIANT_WIDTH = 320;

/** ws(s):// URL of the consumer stream for one camera (camera_id may contain ':' or '/'); width: variant or null. */
function streamUrl(sourceId, cameraId, width) {
  const url = apiUrl(`v1/sources/${encodeURIComponent(sourceId)}/video/stream`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = `?camera_id=${encodeURIComponent(cameraId)}&format=binary${width ? `&width=${width}` : ''}`;
  return url.href;
}

const CLOSE_REASONS = { 4008: 'stream timeout', 1011: 'server error', 1006: 'connection lost', 1001: 'server going away' };
const describeClose = (ev) => CLOSE_REASONS[ev.code] ?? `closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`;

// ---------------------------------------------------------------------------------------------
// CameraTile: one camera, one socket, one canvas
// ---------------------------------------------------------------------------------------------

class CameraTile {
  constructor(viewer, sourceId, cameraId) {
    Object.assign(this, { viewer, sourceId, cameraId, key: `${sourceId}/${cameraId}` });
    // Public stats (read by tests through window.routerViewer).
    Object.assign(this, {
      status: 'connecting', framesDrawn: 0, fps: 0, latencyMs: null, width: 0, height: 0,
      framesReceived: 0,
      framesDropped: 0, // superseded by a newer frame before they could be decoded
      badFrames: 0,     // malformed headers or undecodable JPEGs
      listed: true,     // still present in the latest /v1/sources answer
      variantWidth: viewer.tileVariantWidth(viewer.tiles.size + 1), // with this tile; null: full size
    });
    // Connection and decoder state.
    Object.assign(this, {
      ws: null, disposed: false, backoffMs: BACKOFF_MIN_MS, retryTimer: 0, openedAt: 0, lastError: '',
      pending: null,    // newest frame waiting for the decoder
      decoding: false, windowFrames: 0, windowStart: performance.now(),
    });

    this.buildDom();
    this.connect();
  }

  buildDom() {
    const el = $('tile-template').content.firstElementChild.cloneNode(true);
    el.dataset.camera = this.key;
    const role = (name) => el.querySelector(`[data-role="${name}"]`);
    this.el = el;
    this.canvas = role('frame');
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.statusEl = role('status');
    this.messageEl = role('message');
    this.fpsEl = role('fps');
    this.framesEl = role('frames');
    this.latencyEl = role('latency');
    this.resolutionEl = role('resolution');
    role('name').textContent = `${this.sourceId} / ${this.cameraId}`;
    role('name').title = this.key;
    this.canvas.setAttribute('aria-label', `Live video of ${this.sourceId} / ${this.cameraId}`);
    this.canvas.setAttribute('role', 'img');
  }

  /** status: connecting | live | reconnecting | unauthorized | error. message: overlay text (optional). */
  setStatus(status, message = '') {
    this.status = status;
    this.el.dataset.status = status;
    this.statusEl.textContent = status;
    const defaults = { connecting: 'connecting…', live: this.framesDrawn ? '' : 'waiting for frames…' };
    const text = message || defaults[status] || '';
    this.messageEl.textContent = text;
    this.messageEl.hidden = !text;
  }

  setListed(listed) {
    this.listed = listed;
    this.el.classList.toggle('unlisted', !listed);
    // A camera that vanished from /v1/sources keeps its tile only while its socket is open.
    if (!listed && !this.ws) this.viewer.removeTile(this);
  }

  connect() {
    clearTimeout(this.retryTimer);
    if (this.disposed) return;
    if (this.status === 'reconnecting') this.setStatus('reconnecting', 'reconnecting…');
    else this.setStatus('connecting');
    let ws;
    try {
      ws = new WebSocket(streamUrl(this.sourceId, this.cameraId, this.variantWidth));
    } catch (err) {
      this.setStatus('error', `cannot open socket: ${err.message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.openedAt = performance.now();
    // The auth message must be the first thing the server receives.
    ws.onopen = () => ws.send(this.viewer.authMessage());
    ws.onmessage = (ev) => { if (ws === this.ws) this.onMessage(ev.data); };
    ws.onclose = (ev) => { if (ws === this.ws) this.onClose(ev); };
    // 'error' is always followed by 'close', which does the bookkeeping.
  }

  onMessage(data) {
    if (typeof data !== 'string') {
      let frame;
      try { frame = parseFrame(data); } catch { this.badFrames++; return; }
      this.onFrame(frame);
      return;
    }
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    if (msg.type === 'init') {
      this.markLive();
    } else if (msg.type === 'error') {
      this.lastError = String(msg.message ?? 'server error');
      this.setStatus('error', this.lastError);
    }
  }

  markLive() {
    this.lastError = '';
    this.setStatus('live');
  }

  onFrame(frame) {
    this.framesReceived++;
    this.backoffMs = BACKOFF_MIN_MS; // frames flow again: the next outage starts over at 1 s
    if (this.status !== 'live') this.markLive();
    if (this.pending) this.framesDropped++; // only the newest frame is worth decoding
    this.pending = frame;
    this.pump();
  }

  /** Decodes and draws the newest pending frame; at most one decode runs at a time. */
  async pump() {
    if (this.decoding || !this.pending || this.disposed) return;
    const frame = this.pending;
    this.pending = null;
    this.decoding = true;
    try {
      const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: 'image/jpeg' }));
      try {
        if (!this.disposed) this.draw(bitmap, frame);
      } finally {
        bitmap.close();
      }
    } catch {
      this.badFrames++;
    } finally {
      this.decoding = false;
    }
    this.pump();
  }

  draw(bitmap, frame) {
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
    }
    this.ctx.drawImage(bitmap, 0, 0);
    if (this.framesDrawn === 0 && this.status === 'live') this.messageEl.hidden = true;
    this.framesDrawn++;
    this.windowFrames++;
    const width = frame.width || bitmap.width;
    const height = frame.height || bitmap.height;
    if (width !== this.width || height !== this.height) {
      this.width = width;
      this.height = height;
      this.resolutionEl.textContent = `${width}×${height}`;
    }
    const sample = Date.now() - frame.timestampMs;
    if (Number.isFinite(sample)) {
      this.latencyMs = this.latencyMs === null
        ? sample
        : this.latencyMs + LATENCY_SMOOTHING * (sample - this.latencyMs);
    }
    this.framesEl.textContent = String(this.framesDrawn);
  }

  /** Called once a second: fps = frames drawn since the previous tick, per second. */
  tick(now) {
    const elapsed = now - this.windowStart;
    this.fps = elapsed > 0 ? (this.windowFrames * 1000) / elapsed : 0;
    this.windowFrames = 0;
    this.windowStart = now;
    this.fpsEl.textContent = this.fps.toFixed(1);
    this.framesEl.textContent = String(this.framesDrawn);
    this.latencyEl.textContent = this.latencyMs === null ? '–' : String(Math.round(this.latencyMs));
  }

  onClose(ev) {
    this.ws = null;
    this.pending = null;
    if (this.disposed) return;
    if (!this.listed) { this.viewer.removeTile(this); return; }
    if (ev.code === CLOSE_UNAUTHORIZED) {
      // A new key or token is needed: no reconnect. The reason says which (e.g. "unauthorized: token expired").
      this.setStatus('unauthorized', ev.reason && ev.reason !== 'unauthorized' ? ev.reason : unauthorizedText());
      return;
    }
    // A connection that stayed up a while counts as healthy even without frames (e.g. camera offline).
    if (performance.now() - this.openedAt > BACKOFF_MAX_MS) this.backoffMs = BACKOFF_MIN_MS;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    const why = this.lastError || describeClose(ev);
    this.setStatus('reconnecting', `${why} — reconnecting in ${delay / 1000} s…`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Switches to another variant width (null: full size) with a new socket; the canvas keeps its last picture. */
  setVariant(width) {
    if (width === this.variantWidth || this.disposed) return;
    this.variantWidth = width;
    this.closeSocket('variant changed');
    this.backoffMs = BACKOFF_MIN_MS;
    this.connect();
  }

  closeSocket(reason) {
    const ws = this.ws;
    this.ws = null;
    this.pending = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close(1000, reason);
    }
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.closeSocket('viewer closed');
    this.el.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// Viewer: key handling, /v1/sources polling, camera list and tile grid
// ---------------------------------------------------------------------------------------------

// Module-private, so they never show up when window.routerViewer is inspected. With a viewer token, apiKey holds the
// token (it goes in the same Authorization header) and usingToken is set.
let apiKey = '';
let usingToken = false;

const unauthorizedText = () => (usingToken ? 'unauthorized — the viewer token expired or is invalid' : UNAUTHORIZED_TEXT);

class Viewer {
  constructor() {
    this.tiles = new Map();    // "<source_id>/<camera_id>" -> CameraTile
    this.cameras = new Map();  // same key -> camera entry of the latest /v1/sources answer
    this.disabled = new Set(); // cameras the user toggled off in the list
    this.generation = 0;       // bumped on every (re)connect so stale polls are ignored
    this.pollTimer = 0;
    this.grid = $('grid');
    this.list = $('camera-list');
    setInterval(() => this.tick(), 1000);
  }

  authMessage() {
    return JSON.stringify(usingToken ? { type: 'auth', token: apiKey } : { type: 'auth', api_key: apiKey });
  }

  start(key, isToken = false) {
    this.stop();
    apiKey = key;
    usingToken = isToken;
    this.setGlobal('connecting', 'Connecting…');
    this.poll();
  }

  stop() {
    this.generation++;
    clearTimeout(this.pollTimer);
    for (const tile of this.tiles.values()) tile.dispose();
    this.tiles.clear();
    this.cameras.clear();
    this.renderList();
  }

  async poll() {
    const gen = this.generation;
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), POLL_TIMEOUT_MS);
    let keepPolling = true;
    try {
      const res = await fetch(apiUrl('v1/sources'), {
        headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json' },
        cache: 'no-store',
        signal: abort.signal,
      });
      if (gen !== this.generation) return;
      if (res.status === 401 && usingToken && this.tiles.size > 0) {
        // An expired token opens nothing new, but the streams it opened keep running until their timeout.
        keepPolling = false;
        this.setGlobal('expired', 'Viewer token expired — open streams continue; a new token is needed to reconnect');
        return;
      }
      if (res.status === 401 || res.status === 403) {
        keepPolling = false;
        this.stop();
        this.setGlobal('unauthorized', res.status === 401 ? unauthorizedText() : 'forbidden — this key has no view scope');
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      if (gen !== this.generation) return;
      this.reconcile(Array.isArray(body.sources) ? body.sources : []);
      const online = [...this.cameras.values()].filter((c) => c.online).length;
      this.setGlobal('ok', `Connected · ${this.cameras.size} camera${this.cameras.size === 1 ? '' : 's'}, ${online} online`);
    } catch (err) {
      if (gen !== this.generation) return;
      this.setGlobal('error', `Cannot list sources: ${err.name === 'AbortError' ? 'timeout' : err.message}`);
    } finally {
      clearTimeout(timeout);
      if (keepPolling && gen === this.generation) this.pollTimer = setTimeout(() => this.poll(), POLL_INTERVAL_MS);
    }
  }

  /** Applies a /v1/sources answer: opens tiles for new cameras, flags vanished ones. */
  reconcile(sources) {
    const cameras = new Map();
    for (const src of sources) {
      for (const cam of Array.isArray(src.cameras) ? src.cameras : []) {
        const entry = { ...cam, source_id: String(src.source_id), camera_id: String(cam.camera_id) };
        cameras.set(`${entry.source_id}/${entry.camera_id}`, entry);
      }
    }
    this.cameras = new Map([...cameras].sort(([a], [b]) => a.localeCompare(b)));
    for (const [key, cam] of this.cameras) {
      const tile = this.tiles.get(key);
      if (tile) tile.setListed(true);
      else if (!this.disabled.has(key)) this.addTile(cam.source_id, cam.camera_id);
    }
    for (const tile of [...this.tiles.values()]) {
      if (!this.cameras.has(tile.key)) tile.setListed(false);
    }
    this.renderList();
  }

  addTile(sourceId, cameraId) {
    const tile = new CameraTile(this, sourceId, cameraId);
    this.tiles.set(tile.key, tile);
    // Keep the grid sorted by key so tiles do not jump around between polls.
    const next = [...this.grid.children].find((el) => el.dataset.camera.localeCompare(tile.key) > 0);
    this.grid.insertBefore(tile.el, next ?? null);
    this.updateVariants();
    this.updateEmptyStates();
  }

  removeTile(tile) {
    tile.dispose();
    if (this.tiles.get(tile.key) === tile) this.tiles.delete(tile.key);
    this.updateVariants();
    this.updateEmptyStates();
  }

  /** Variant width for the tiles: small when several cameras share the grid, full size (null) for one. */
  tileVariantWidth(tileCount = this.tiles.size) {
    return tileCount > 1 ? TILE_VARIANT_WIDTH : null;
  }

  updateVariants() {
    const width = this.tileVariantWidth();
    for (const tile of this.tiles.values()) tile.setVariant(width);
  }

  toggleCamera(key) {
    if (this.disabled.has(key)) {
      this.disabled.delete(key);
      const cam = this.cameras.get(key);
      if (cam && !this.tiles.has(key)) this.addTile(cam.source_id, cam.camera_id);
    } else {
      this.disabled.add(key);
      const tile = this.tiles.get(key);
      if (tile) this.removeTile(tile);
    }
    this.renderList();
  }

  renderList() {
    const focused = document.activeElement?.closest?.('#camera-list [data-camera]')?.dataset.camera;
    const items = [...this.cameras].map(([key, cam]) => {
      const enabled = !this.disabled.has(key);
      const li = document.createElement('li');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = `camera${cam.online ? ' online' : ''}${enabled ? '' : ' off'}`;
      btn.dataset.camera = key;
      btn.setAttribute('aria-pressed', String(enabled));
      btn.title = enabled ? 'Click to hide this camera' : 'Click to show this camera';
      const fps = Number.isFinite(cam.fps) ? `${cam.fps.toFixed(1)} fps` : '– fps';
      const res = cam.width && cam.height ? `${cam.width}×${cam.height}` : '–';
      btn.innerHTML = '<span class="dot" aria-hidden="true"></span><span class="cam-name"></span><span class="cam-meta"></span>';
      btn.querySelector('.cam-name').textContent = `${cam.source_id} / ${cam.camera_id}`;
      btn.querySelector('.cam-meta').textContent = `${cam.online ? 'online' : 'offline'} · ${fps} · ${res}`;
      btn.addEventListener('click', () => this.toggleCamera(key));
      li.append(btn);
      return li;
    });
    this.list.replaceChildren(...items);
    if (focused) this.list.querySelector(`[data-camera="${CSS.escape(focused)}"]`)?.focus();
    $('camera-count').textContent = this.cameras.size ? String(this.cameras.size) : '';
    this.updateEmptyStates();
  }

  updateEmptyStates() {
    $('camera-empty').hidden = this.cameras.size > 0;
    $('grid-empty').hidden = this.tiles.size > 0;
    $('grid-empty').textContent = this.cameras.size ? 'All cameras are toggled off.' : 'No cameras to show yet.';
  }

  setGlobal(state, text) {
    const el = $('global-status');
    el.dataset.state = state;
    el.textContent = text;
  }

  tick() {
    const now = performance.now();
    for (const tile of this.tiles.values()) tile.tick(now);
  }
}

// ---------------------------------------------------------------------------------------------
// Page wiring: API key field, show toggle, Connect, #key=<key> fragment
// ---------------------------------------------------------------------------------------------

/**
 * Takes the credential out of a "#key=<key>" or "#token=<viewer token>" fragment and strips it from the address bar.
 * Returns { value, isToken } or null.
 */
function takeKeyFromFragment() {
  // Parsed by hand: URLSearchParams would turn a '+' in the key into a space.
  const match = /(?:^#|&)(key|token)=([^&]*)/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, '', location.pathname + location.search);
  let value;
  try { value = decodeURIComponent(match[2]).trim(); } catch { value = match[2].trim(); }
  return value ? { value, isToken: match[1] === 'token' } : null;
}

function loadStoredKey() {
  try { return localStorage.getItem(KEY_STORAGE) ?? ''; } catch { return ''; }
}

function storeKey(key) {
  try { localStorage.setItem(KEY_STORAGE, key); } catch { /* storage disabled: nothing to remember */ }
}

function main() {
  const viewer = new Viewer();
  const input = $('api-key');
  const toggle = $('toggle-key');

  window.routerViewer = {
    tiles: viewer.tiles,
    viewer,
    /** Plain per-tile stats, handy from a test or the devtools console. */
    snapshot: () => [...viewer.tiles.values()].map((t) => ({
      camera: t.key, status: t.status, framesDrawn: t.framesDrawn, fps: Number(t.fps.toFixed(1)),
      latencyMs: t.latencyMs === null ? null : Math.round(t.latencyMs), width: t.width, height: t.height,
      framesDropped: t.framesDropped, badFrames: t.badFrames, variantWidth: t.variantWidth,
    })),
  };

  const connect = (key) => {
    input.value = key;
    if (!key) { viewer.setGlobal('idle', 'Enter an API key to connect'); input.focus(); return; }
    storeKey(key);
    viewer.start(key);
  };

  // A viewer token is short-lived: it is neither stored nor shown in the key field.
  const connectToken = (token) => {
    input.value = '';
    viewer.start(token, true);
  };
  const connectFragment = (credential) => (credential.isToken ? connectToken(credential.value) : connect(credential.value));

  toggle.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    toggle.textContent = show ? 'Hide' : 'Show';
    toggle.setAttribute('aria-pressed', String(show));
    toggle.setAttribute('aria-label', show ? 'Hide API key' : 'Show API key');
  });

  $('connect-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    connect(input.value.trim());
  });

  // A "#key=..." or "#token=..." link opened in an already-open tab only changes the fragment.
  window.addEventListener('hashchange', () => {
    const credential = takeKeyFromFragment();
    if (credential) connectFragment(credential);
  });

  const fromFragment = takeKeyFromFragment();
  if (fromFragment) connectFragment(fromFragment);
  else if (loadStoredKey()) connect(loadStoredKey());
}

main();

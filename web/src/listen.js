// Cloudcast web player: one mix, streamed over HLS, with a seekable waveform,
// its tracklist, and listening heartbeats.
//
// Heartbeats: one per second of audio actually played. Played time is the sum
// of small forward steps of currentTime seen while playing; a seek is one big
// jump and is never counted, and paused or buffering playback does not move.
// Beats queue in `pending` until the server acknowledges them (202); transient
// failures (429, 5xx, network) keep them queued and back off, and whatever is
// still queued when the page goes away leaves with navigator.sendBeacon.
//
// window.cloudcastPlayer mirrors the page's state for tests and scripts.

// The light build: these streams are plain audio variants (no alternate tracks, subtitles or DRM).
import Hls from 'hls.js/light'

const BEATS_URL = '/api/v1/heartbeats'
// hls.js's ES module build has no inline worker; the build copies its worker here.
const WORKER_PATH = '/assets/hls.worker.js'
const MAX_BATCH = 50 // the server takes up to 100 per request
const MAX_PENDING = 3600 // an hour of beats; older ones give way if the server stays away
const SEND_INTERVAL_MS = 1000
const TICK_MS = 250
const MAX_STEP_S = 1.5 // a larger jump of currentTime is a seek, not playback
const BACKOFF_MIN_MS = 2000
const BACKOFF_MAX_MS = 30_000
const RETRY_AFTER_MAX_MS = 5 * 60_000
const RECOVERY_WINDOW_MS = 10_000
const RELOAD_MS = 5000
const SEEK_STEP_S = 10
const BAR_CSS_PX = 2
const GAP_CSS_PX = 1
const RENDITION_RE = /^[A-Za-z0-9_-]{1,32}$/

const $ = (id) => document.getElementById(id)

const ui = {
  title: $('title'),
  owner: $('owner'),
  play: $('play'),
  currentTime: $('current-time'),
  duration: $('duration'),
  waveform: $('waveform'),
  audio: $('audio'),
  error: $('error'),
  tracks: $('tracks'),
  tracklist: $('tracklist'),
}
const audio = ui.audio

/** Public, test-visible state. One object, updated in place. */
const state = {
  ready: false,
  state: 'loading', // loading | ready | playing | paused | buffering | error
  engine: null, // 'hls.js' | 'native'
  title: null,
  durationMs: null,
  sessionId: randomHex(16),
  beatsMade: 0,
  beatsAcked: 0,
  maxAckedPositionMs: null,
  lastBeat: null,
  pending: 0,
  error: null,
}
window.cloudcastPlayer = state

let cloudcast = null // the API's view of the mix
let hls = null
let rendition // name of the rendition playing, when hls.js knows it
const recoveredAt = { network: 0, media: 0 }

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function randomHex(bytes) {
  const buf = new Uint8Array(bytes)
  crypto.getRandomValues(buf)
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('')
}

const pad2 = (n) => String(n).padStart(2, '0')

/** 0:07, 12:34, 1:02:03 */
function formatTime(seconds) {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h ? `${h}:${pad2(m)}:${pad2(s % 60)}` : `${m}:${pad2(s % 60)}`
}

/** Tracklist times: 00:00, 07:30, 1:02:03 */
function formatTrackTime(ms) {
  const s = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(s / 3600)
  const rest = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`
  return h ? `${h}:${rest}` : rest
}

/** Reads `{"error": {"message"}}` from a response body, else a fallback. */
function errorMessage(body, fallback) {
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body
    if (parsed && parsed.error && parsed.error.message) return parsed.error.message
  } catch {
    // not JSON
  }
  return fallback
}

/** Milliseconds to wait by a Retry-After header (delta-seconds or an HTTP date), else 0. */
function retryAfterMs(res) {
  const raw = res && res.headers.get('Retry-After')
  if (!raw) return 0
  const secs = Number(raw)
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(raw) - Date.now()
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS) : 0
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function cloudcastIdFromPath() {
  const parts = window.location.pathname.split('/').filter(Boolean)
  if (parts.length < 2) return null
  try {
    return decodeURIComponent(parts[parts.length - 1])
  } catch {
    return null
  }
}

/** The mix's length in seconds: the API's, since audio.duration is NaN or Infinity early on. */
function durationSec() {
  if (state.durationMs > 0) return state.durationMs / 1000
  return Number.isFinite(audio.duration) ? audio.duration : 0
}

function setMessage(text, kind = 'info') {
  ui.error.textContent = text
  ui.error.dataset.kind = kind
}

function setPlayerState(s) {
  state.state = s
  const playing = s === 'playing' || s === 'buffering'
  ui.play.textContent = playing ? 'Pause' : 'Play'
  ui.play.setAttribute('aria-label', playing ? 'Pause' : 'Play')
  ui.play.disabled = s === 'loading' || s === 'error'
}

function showError(message) {
  state.error = message
  setMessage(message, 'error')
  setPlayerState('error')
  stopTicking()
}

// ---------------------------------------------------------------------------
// The cloudcast
// ---------------------------------------------------------------------------

async function fetchCloudcast(id) {
  const res = await fetch(`/api/v1/cloudcasts/${encodeURIComponent(id)}`, {
    headers: { Accept: 'application/json' },
    credentials: 'same-origin', // the listener cookie names who streams
  })
  const text = await res.text()
  if (!res.ok) {
    const err = new Error(errorMessage(text, `Could not load this mix (HTTP ${res.status}).`))
    err.status = res.status
    throw err
  }
  return JSON.parse(text)
}

/** Fetches the mix until it is playable, showing why it is not yet. */
async function loadCloudcast(id) {
  for (;;) {
    let cc
    try {
      cc = await fetchCloudcast(id)
    } catch (err) {
      if (err.status && err.status < 500 && err.status !== 429) throw err
      setMessage('Cannot reach Cloudcast right now; trying again…')
      await sleep(RELOAD_MS)
      continue
    }
    showCloudcast(cc)
    switch (cc.status) {
      case 'ready':
        setMessage('')
        return cc
      case 'processing': {
        const progress = Number.isFinite(cc.progress) ? ` (${cc.progress}%)` : ''
        setMessage(`This mix is still processing${progress}; it will play as soon as it is ready.`)
        await sleep(RELOAD_MS)
        break
      }
      case 'failed':
        throw new Error('This mix could not be processed, so it cannot be played.')
      case 'rejected':
        throw new Error('This mix was rejected and cannot be played.')
      default:
        throw new Error(`This mix cannot be played (status: ${cc.status}).`)
    }
  }
}

function showCloudcast(cc) {
  cloudcast = cc
  state.title = cc.title
  state.durationMs = cc.duration_ms > 0 ? cc.duration_ms : null
  ui.title.textContent = cc.title || 'Untitled mix'
  ui.owner.textContent = cc.owner || ''
  document.title = `${cc.title || 'Untitled mix'} · Cloudcast`
  ui.duration.textContent = formatTime(durationSec())
  ui.waveform.setAttribute('aria-valuemax', String(Math.round(durationSec())))
  renderTracklist(cc.tracklist || [])
  setMediaSession(cc)
}

function setMediaSession(cc) {
  if (!('mediaSession' in navigator) || typeof MediaMetadata === 'undefined') return
  navigator.mediaSession.metadata = new MediaMetadata({ title: cc.title, artist: cc.owner, album: 'Cloudcast' })
  const handlers = {
    play: () => play(),
    pause: () => audio.pause(),
    seekbackward: (d) => seekTo(audio.currentTime - (d.seekOffset || SEEK_STEP_S)),
    seekforward: (d) => seekTo(audio.currentTime + (d.seekOffset || SEEK_STEP_S)),
    seekto: (d) => seekTo(d.seekTime),
  }
  for (const [action, handler] of Object.entries(handlers)) {
    try {
      navigator.mediaSession.setActionHandler(action, handler)
    } catch {
      // this browser does not know the action
    }
  }
}

// ---------------------------------------------------------------------------
// Tracklist
// ---------------------------------------------------------------------------

let tracks = [] // sorted by start_ms, each with its <li>
let currentTrack = -1

function renderTracklist(list) {
  tracks = list
    .filter((t) => t && Number.isFinite(t.start_ms))
    .slice()
    .sort((a, b) => a.start_ms - b.start_ms)
  ui.tracklist.replaceChildren(...tracks.map(trackItem))
  ui.tracks.hidden = tracks.length === 0
  currentTrack = -1
  highlightTrack()
}

function trackItem(track) {
  const li = document.createElement('li')
  const button = document.createElement('button')
  button.type = 'button'
  const at = document.createElement('span')
  at.className = 'at'
  at.textContent = formatTrackTime(track.start_ms)
  const name = document.createElement('span')
  name.textContent = `${track.artist || 'Unknown artist'} – ${track.title || 'Untitled'}`
  button.append(at, name)
  button.addEventListener('click', () => {
    seekTo(track.start_ms / 1000)
    if (audio.paused) play()
  })
  li.append(button)
  track.li = li
  return li
}

function highlightTrack() {
  const ms = audio.currentTime * 1000
  let index = -1
  for (let i = 0; i < tracks.length && tracks[i].start_ms <= ms; i++) index = i
  if (index === currentTrack) return
  if (tracks[currentTrack]) {
    tracks[currentTrack].li.classList.remove('current')
    tracks[currentTrack].li.removeAttribute('aria-current')
  }
  if (tracks[index]) {
    tracks[index].li.classList.add('current')
    tracks[index].li.setAttribute('aria-current', 'true')
  }
  currentTrack = index
}

// ---------------------------------------------------------------------------
// Playback engine
// ---------------------------------------------------------------------------

function attachPlayer(streamUrl) {
  if (Hls.isSupported()) {
    attachHls(streamUrl)
    return 'hls.js'
  }
  if (audio.canPlayType('application/vnd.apple.mpegurl')) {
    audio.src = streamUrl // Safari and iOS play HLS themselves
    return 'native'
  }
  return null
}

function attachHls(streamUrl) {
  hls = new Hls({ enableWorker: true, workerPath: WORKER_PATH })
  hls.on(Hls.Events.ERROR, (_event, data) => onHlsError(data, streamUrl))
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    rendition = renditionOf(hls.levels[data.level])
  })
  hls.attachMedia(audio)
  hls.loadSource(streamUrl)
}

/** The variants have no NAME, so the media playlist's file name names them: `.../128k.m3u8?…` is "128k". */
function renditionOf(level) {
  if (!level) return undefined
  let name = level.name
  if (!name) {
    const url = level.uri || (Array.isArray(level.url) ? level.url[0] : level.url)
    try {
      const path = new URL(url, window.location.href).pathname
      name = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)).replace(/\.m3u8$/i, '')
    } catch {
      name = undefined
    }
  }
  return name && RENDITION_RE.test(name) ? name : undefined
}

function currentRendition() {
  if (rendition || !hls) return rendition
  return renditionOf(hls.levels && hls.levels[hls.currentLevel])
}

/** Fatal hls.js errors: one recovery attempt per kind within a short window, then give up. */
function onHlsError(data, streamUrl) {
  if (!data.fatal || !hls) return
  const now = Date.now()
  const { NETWORK_ERROR, MEDIA_ERROR } = Hls.ErrorTypes
  if (data.type === NETWORK_ERROR && now - recoveredAt.network > RECOVERY_WINDOW_MS) {
    recoveredAt.network = now
    // Without levels the master playlist itself failed: load it again.
    if (hls.levels && hls.levels.length > 0) hls.startLoad()
    else hls.loadSource(streamUrl)
    return
  }
  if (data.type === MEDIA_ERROR && now - recoveredAt.media > RECOVERY_WINDOW_MS) {
    recoveredAt.media = now
    hls.recoverMediaError()
    return
  }
  hls.destroy()
  hls = null
  const http = data.response && data.response.code ? ` (HTTP ${data.response.code})` : ''
  const what = data.type === NETWORK_ERROR ? 'the stream could not be loaded' : 'the audio could not be decoded'
  showError(`Playback stopped: ${what}${http}. Reload the page to try again.`)
}

function play() {
  const p = audio.play()
  if (p && p.catch) {
    p.catch((err) => {
      // A pause() or a new source interrupting play() is not a failure.
      if (err && err.name === 'AbortError') return
      if (err && err.name === 'NotAllowedError') setMessage('Press Play to start listening.')
      else showError(`Cannot play: ${err ? err.message : 'unknown error'}`)
    })
  }
}

function togglePlay() {
  if (state.state === 'error' || state.state === 'loading') return
  if (audio.paused) play()
  else audio.pause()
}

function seekTo(seconds) {
  const d = durationSec()
  if (!(d > 0) || !Number.isFinite(seconds)) return
  // Not quite the end, which would finish the mix rather than play its last moments.
  audio.currentTime = Math.min(Math.max(seconds, 0), Math.max(d - 0.5, 0))
  lastTime = null
  updateProgress()
}

// ---------------------------------------------------------------------------
// Waveform
// ---------------------------------------------------------------------------

const ctx = ui.waveform.getContext('2d')
let peaks = null // Float32Array of [min, max] pairs in -1..1, one pair per peaks pixel
let bars = null // Path2D of the bars at the current canvas size
let drawQueued = false
const colors = {}

function readColors() {
  const css = getComputedStyle(document.documentElement)
  const get = (name, fallback) => css.getPropertyValue(name).trim() || fallback
  colors.played = get('--accent', '#3b5bdb')
  colors.rest = get('--wave', '#c3c9d5')
  colors.cursor = get('--fg', '#1d2330')
}

async function loadPeaks(url) {
  try {
    const res = await fetch(url, { credentials: 'same-origin' })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    peaks = parsePeaks(await res.json())
  } catch {
    peaks = null // the player works without a waveform: a flat line still seeks
  }
  layoutWaveform()
}

/** audiowaveform JSON (v1 or v2): interleaved min/max per pixel, per channel; channels merge. */
function parsePeaks(json) {
  const data = json && Array.isArray(json.data) ? json.data : []
  const channels = Math.max(1, json.channels || 1)
  const stride = 2 * channels
  const length = Math.floor(data.length / stride)
  const scale = json.bits === 16 ? 32768 : 128
  const out = new Float32Array(length * 2)
  let loudest = 0
  for (let i = 0; i < length; i++) {
    let lo = 0
    let hi = 0
    for (let c = 0; c < channels; c++) {
      lo = Math.min(lo, data[i * stride + 2 * c] / scale)
      hi = Math.max(hi, data[i * stride + 2 * c + 1] / scale)
    }
    out[2 * i] = lo
    out[2 * i + 1] = hi
    loudest = Math.max(loudest, -lo, hi)
  }
  // Quiet masters still fill the canvas.
  if (loudest > 0 && loudest < 1) for (let i = 0; i < out.length; i++) out[i] /= loudest
  return out
}

/** Sizes the canvas to its box in device pixels and rebuilds the bars: on load and on resize only. */
function layoutWaveform() {
  const dpr = window.devicePixelRatio || 1
  const cssWidth = ui.waveform.clientWidth
  const width = Math.max(1, Math.round(cssWidth * dpr))
  const height = Math.max(1, Math.round(ui.waveform.clientHeight * dpr))
  if (ui.waveform.width !== width) ui.waveform.width = width
  if (ui.waveform.height !== height) ui.waveform.height = height
  bars = buildBars(width, height, dpr)
  drawWaveform()
}

function buildBars(width, height, dpr) {
  const path = new Path2D()
  const barW = Math.max(1, Math.round(BAR_CSS_PX * dpr))
  const step = barW + Math.max(1, Math.round(GAP_CSS_PX * dpr))
  const count = Math.max(1, Math.floor(width / step))
  const mid = height / 2
  const half = (height / 2) * 0.95
  const pixels = peaks ? peaks.length / 2 : 0
  for (let i = 0; i < count; i++) {
    let lo = 0
    let hi = 0
    if (pixels > 0) {
      // The peaks pixels this bar covers; at least one when there are fewer pixels than bars.
      const from = Math.floor((i * pixels) / count)
      const to = Math.max(from + 1, Math.floor(((i + 1) * pixels) / count))
      for (let p = from; p < to && p < pixels; p++) {
        lo = Math.min(lo, peaks[2 * p])
        hi = Math.max(hi, peaks[2 * p + 1])
      }
    }
    const top = mid - hi * half
    const h = Math.max(dpr, (hi - lo) * half)
    path.rect(i * step, Math.min(top, mid - h / 2), barW, h)
  }
  return path
}

function scheduleDraw() {
  if (drawQueued) return
  drawQueued = true
  requestAnimationFrame(() => {
    drawQueued = false
    drawWaveform()
  })
}

function drawWaveform() {
  if (!bars) return
  const { width, height } = ui.waveform
  const d = durationSec()
  const x = d > 0 ? Math.min(1, Math.max(0, audio.currentTime / d)) * width : 0
  ctx.clearRect(0, 0, width, height)
  ctx.fillStyle = colors.rest
  ctx.fill(bars)
  ctx.save()
  ctx.beginPath()
  ctx.rect(0, 0, x, height)
  ctx.clip()
  ctx.fillStyle = colors.played
  ctx.fill(bars)
  ctx.restore()
  const cursor = Math.max(1, Math.round(window.devicePixelRatio || 1))
  ctx.fillStyle = colors.cursor
  ctx.fillRect(Math.min(x, width - cursor), 0, cursor, height)
}

function onWaveformClick(event) {
  const rect = ui.waveform.getBoundingClientRect()
  if (rect.width <= 0) return
  const fraction = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width))
  seekTo(fraction * durationSec())
}

function onWaveformKey(event) {
  const steps = {
    ArrowLeft: -SEEK_STEP_S,
    ArrowDown: -SEEK_STEP_S,
    ArrowRight: SEEK_STEP_S,
    ArrowUp: SEEK_STEP_S,
  }
  if (event.key in steps) seekTo(audio.currentTime + steps[event.key])
  else if (event.key === 'Home') seekTo(0)
  else if (event.key === 'End') seekTo(durationSec())
  else return
  event.preventDefault()
}

// ---------------------------------------------------------------------------
// Progress display
// ---------------------------------------------------------------------------

let shownSecond = -1

function updateProgress() {
  const t = audio.currentTime
  const second = Math.floor(t)
  if (second !== shownSecond) {
    shownSecond = second
    ui.currentTime.textContent = formatTime(t)
    ui.waveform.setAttribute('aria-valuenow', String(second))
    ui.waveform.setAttribute('aria-valuetext', `${formatTime(t)} of ${formatTime(durationSec())}`)
  }
  highlightTrack()
  scheduleDraw()
}

// ---------------------------------------------------------------------------
// Heartbeats: counting played time
// ---------------------------------------------------------------------------

let lastTime = null // currentTime at the last look, null when unknown (start, seek)
let played = 0 // seconds played and not yet turned into a beat
let nextSeq = 0
let ticker = null

function startTicking() {
  if (!ticker) ticker = setInterval(onTick, TICK_MS)
}

function stopTicking() {
  if (ticker) clearInterval(ticker)
  ticker = null
}

function onTick() {
  countPlayed()
  updateProgress()
}

function countPlayed() {
  const t = audio.currentTime
  if (audio.paused || audio.seeking || lastTime === null) {
    lastTime = audio.seeking ? null : t
    return
  }
  const delta = t - lastTime
  lastTime = t
  if (!(delta > 0 && delta < MAX_STEP_S)) return
  played += delta
  while (played >= 1) {
    played -= 1
    makeBeat()
  }
}

function makeBeat() {
  let positionMs = Math.round(audio.currentTime * 1000)
  if (state.durationMs) positionMs = Math.min(positionMs, state.durationMs)
  const beat = {
    cloudcast_id: cloudcast.id,
    session_id: state.sessionId,
    seq: nextSeq++,
    position_ms: positionMs,
    client_ts: Date.now(),
  }
  const r = currentRendition()
  if (r) beat.rendition = r
  if (document.referrer) beat.referrer = document.referrer
  pending.push(beat)
  if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING)
  state.beatsMade++
  state.lastBeat = beat
  state.pending = pending.length
  scheduleSend()
}

// ---------------------------------------------------------------------------
// Heartbeats: delivery
// ---------------------------------------------------------------------------

const pending = []
let inFlight = null // Set of the beats in the request under way
let sendTimer = null
let lastSendAt = 0
let backoffMs = 0
let retryAt = 0

/** At most one request in flight, and at most one send a second. */
function scheduleSend() {
  if (sendTimer || inFlight || pending.length === 0) return
  const now = Date.now()
  const wait = Math.max(0, lastSendAt + SEND_INTERVAL_MS - now, retryAt - now)
  sendTimer = setTimeout(() => {
    sendTimer = null
    sendPending()
  }, wait)
}

async function sendPending() {
  if (inFlight || pending.length === 0) return
  const batch = pending.slice(0, MAX_BATCH)
  inFlight = new Set(batch)
  lastSendAt = Date.now()
  let res = null
  try {
    res = await fetch(BEATS_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(batch),
      credentials: 'same-origin',
      keepalive: true, // survives a navigation away mid-request
    })
  } catch {
    res = null // offline or the connection dropped
  }
  try {
    await settle(batch, res)
  } finally {
    inFlight = null
    state.pending = pending.length
    scheduleSend()
  }
}

async function settle(batch, res) {
  if (res && res.ok) {
    removeFromPending(batch)
    acknowledge(batch)
    backoffMs = 0
    retryAt = 0
    return
  }
  if (!res || res.status === 429 || res.status >= 500) {
    backoffMs = backoffMs ? Math.min(backoffMs * 2, BACKOFF_MAX_MS) : BACKOFF_MIN_MS
    retryAt = Date.now() + Math.max(backoffMs, retryAfterMs(res))
    return
  }
  // Any other refusal is final: sending these again would be refused again.
  removeFromPending(batch)
  const text = await res.text().catch(() => '')
  state.error = `heartbeats refused (HTTP ${res.status}): ${errorMessage(text, 'no reason given')}`
}

function removeFromPending(batch) {
  const sent = new Set(batch)
  let kept = 0
  for (const beat of pending) if (!sent.has(beat)) pending[kept++] = beat
  pending.length = kept
  state.pending = kept
}

function acknowledge(batch) {
  state.beatsAcked += batch.length
  for (const beat of batch) {
    if (state.maxAckedPositionMs === null || beat.position_ms > state.maxAckedPositionMs) {
      state.maxAckedPositionMs = beat.position_ms
    }
  }
}

/** The page is going away (or may be killed in the background): hand the queue to the browser. */
function flushWithBeacon() {
  if (!navigator.sendBeacon) return
  // Beats in a request under way are left to it: it was sent with keepalive.
  const waiting = inFlight ? pending.filter((b) => !inFlight.has(b)) : pending.slice()
  for (let i = 0; i < waiting.length; i += MAX_BATCH) {
    const batch = waiting.slice(i, i + MAX_BATCH)
    // text/plain keeps it a simple request: no CORS preflight, which a beacon cannot wait for.
    const blob = new Blob([JSON.stringify(batch)], { type: 'text/plain' })
    if (!navigator.sendBeacon(BEATS_URL, blob)) break
    removeFromPending(batch)
  }
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

function wireAudio() {
  audio.addEventListener('timeupdate', () => {
    countPlayed()
    updateProgress()
  })
  audio.addEventListener('playing', () => {
    lastTime = audio.currentTime
    setPlayerState('playing')
    startTicking()
  })
  audio.addEventListener('pause', () => {
    stopTicking()
    if (state.state !== 'error') setPlayerState('paused')
    updateProgress()
  })
  audio.addEventListener('waiting', () => {
    if (!audio.paused && state.state !== 'error') setPlayerState('buffering')
  })
  audio.addEventListener('seeking', () => {
    lastTime = null
    updateProgress()
  })
  audio.addEventListener('seeked', () => {
    lastTime = audio.currentTime
    updateProgress()
  })
  audio.addEventListener('ended', () => {
    stopTicking()
    if (state.state !== 'error') setPlayerState('paused')
  })
  audio.addEventListener('durationchange', () => {
    if (!state.durationMs) ui.duration.textContent = formatTime(durationSec())
  })
  audio.addEventListener('error', () => {
    // hls.js reports its own errors; this is the native engine's.
    if (state.engine !== 'native') return
    const code = audio.error ? audio.error.code : 0
    showError(`Playback stopped: the stream could not be played (media error ${code}). Reload the page to try again.`)
  })
}

function wirePage() {
  ui.play.addEventListener('click', togglePlay)
  ui.waveform.addEventListener('click', onWaveformClick)
  ui.waveform.addEventListener('keydown', onWaveformKey)
  if ('ResizeObserver' in window) new ResizeObserver(layoutWaveform).observe(ui.waveform)
  else window.addEventListener('resize', layoutWaveform)
  window.addEventListener('pagehide', flushWithBeacon)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushWithBeacon()
  })
}

async function init() {
  readColors()
  wireAudio()
  wirePage()
  setPlayerState('loading')
  layoutWaveform()
  const id = cloudcastIdFromPath()
  if (!id) {
    showError('No mix is named in this address.')
    return
  }
  let cc
  try {
    cc = await loadCloudcast(id)
  } catch (err) {
    showError(err.message)
    return
  }
  if (!cc.stream_url) {
    showError('This mix has no stream yet.')
    return
  }
  const engine = attachPlayer(cc.stream_url)
  if (!engine) {
    showError('This browser cannot play HLS streams; try a current Chrome, Firefox, Edge or Safari.')
    return
  }
  state.engine = engine
  if (cc.peaks_url) loadPeaks(cc.peaks_url)
  state.ready = true
  if (state.state === 'loading') setPlayerState('ready')
  updateProgress()
  document.body.dataset.ready = 'true'
}

init()

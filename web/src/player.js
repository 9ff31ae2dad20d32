// The player engine: one mix at a time over HLS (hls.js, or the browser's
// own HLS in Safari), with listening heartbeats. The site's persistent bar
// and the embed player drive it; it lives as long as the document, so a
// 2-hour mix keeps playing while the site swaps pages around it.
//
// Heartbeats: one per second of audio actually played. Played time is the sum
// of small forward steps of currentTime seen while playing; a seek is one big
// jump and is never counted, and paused or buffering playback does not move.
// Beats queue in `pending` and go a few seconds at a time (the page's
// `data-beat-batch-secs`) until the server acknowledges them (202); transient
// failures (429, 5xx, network) keep them queued and back off, and whatever is
// still queued when the page goes away leaves with navigator.sendBeacon.
// A beat carries its session and sequence number, so a batch sent twice
// (a retry after a lost answer) is counted once by the server.
//
// window.cloudcastPlayer mirrors the engine's state for tests and scripts.

// The light build: these streams are plain audio variants (no alternate tracks, subtitles or DRM).
import Hls from 'hls.js/light'
import { errorMessage } from './session.js'

const BEATS_URL = '/api/v1/heartbeats'
// hls.js's ES module build has no inline worker; the build copies its worker here.
const WORKER_PATH = '/assets/hls.worker.js'
const MAX_BATCH = 50 // the server takes up to 100 per request
const MAX_PENDING = 3600 // an hour of beats; older ones give way if the server stays away
const TICK_MS = 250
const MAX_STEP_S = 1.5 // a larger jump of currentTime is a seek, not playback
const BACKOFF_MIN_MS = 2000
const BACKOFF_MAX_MS = 30_000
const RETRY_AFTER_MAX_MS = 5 * 60_000
const RECOVERY_WINDOW_MS = 10_000
const RELOAD_MS = 5000
const RENDITION_RE = /^[A-Za-z0-9_-]{1,32}$/

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


/** Milliseconds to wait by a Retry-After header (delta-seconds or an HTTP date), else 0. */
function retryAfterMs(res) {
  const raw = res && res.headers.get('Retry-After')
  if (!raw) return 0
  const secs = Number(raw)
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(raw) - Date.now()
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS) : 0
}


const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * ui: { audio, play, currentTime, duration, message } (elements; all but audio may be null)
 * opts: { batchSecs, referrer(), onNext(), onPrevious() } (the last two: the
 * lock screen's next and previous buttons; without them, previous goes to
 * the tracklist's previous track)
 */
export function createPlayer(ui, opts = {}) {
  const audio = ui.audio
  const SEND_INTERVAL_MS = Math.max(1, Number(opts.batchSecs) || 5) * 1000
  const listeners = { load: [], progress: [], state: [] }
  const emit = (event, arg) => listeners[event].forEach((fn) => fn(arg))

  /** Public, test-visible state. One object, updated in place. */
  const state = {
    ready: false,
    state: 'idle', // idle | loading | ready | playing | paused | buffering | error
    engine: null, // 'hls.js' | 'native'
    cloudcastId: null,
    title: null,
    durationMs: null,
    sessionId: randomHex(16),
    beatsMade: 0,
    beatsAcked: 0,
    requests: 0,
    maxAckedPositionMs: null,
    resumedAt: null, // where a mix heard before resumed, if it did
    lastBeat: null,
    pending: 0,
    error: null,
  }

  let cloudcast = null
  let hls = null
  let rendition
  let loadToken = 0
  const recoveredAt = { network: 0, media: 0 }

  function durationSec() {
    if (state.durationMs > 0) return state.durationMs / 1000
    return Number.isFinite(audio.duration) ? audio.duration : 0
  }

  function setMessage(text, kind = 'info') {
    if (!ui.message) return
    ui.message.textContent = text
    ui.message.dataset.kind = kind
  }

  function setPlayerState(s) {
    state.state = s
    const playing = s === 'playing' || s === 'buffering'
    if (ui.play) {
      ui.play.textContent = playing ? 'Pause' : 'Play'
      ui.play.setAttribute('aria-label', `${playing ? 'Pause' : 'Play'}${state.title ? ` ${state.title}` : ''}`)
      ui.play.disabled = s === 'loading' || s === 'error' || s === 'idle'
    }
    emit('state', s)
  }

  function showError(message) {
    state.error = message
    setMessage(message, 'error')
    setPlayerState('error')
    stopTicking()
  }

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
  async function loadCloudcast(id, token) {
    for (;;) {
      let cc
      try {
        cc = await fetchCloudcast(id)
      } catch (err) {
        if (err.status && err.status < 500 && err.status !== 429) throw err
        setMessage('Cannot reach Cloudcast right now; trying again…')
        await sleep(RELOAD_MS)
        if (token !== loadToken) return null
        continue
      }
      if (token !== loadToken) return null
      show(cc)
      switch (cc.status) {
        case 'ready':
          setMessage('')
          return cc
        case 'processing': {
          const progress = Number.isFinite(cc.progress) ? ` (${cc.progress}%)` : ''
          setMessage(`This mix is still processing${progress}; it will play as soon as it is ready.`)
          await sleep(RELOAD_MS)
          if (token !== loadToken) return null
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

  function show(cc) {
    cloudcast = cc
    state.title = cc.title
    state.durationMs = cc.duration_ms > 0 ? cc.duration_ms : null
    if (ui.duration) ui.duration.textContent = formatTime(durationSec())
    setMediaSession(cc)
    emit('load', cc)
  }

  const hasSession = () => 'mediaSession' in navigator && typeof MediaMetadata !== 'undefined'
  let shownTrack = null

  /** The tracklist entry playing at `t` seconds, if the mix has a tracklist. */
  function trackAt(t) {
    const tracks = (cloudcast && cloudcast.tracklist) || []
    let current = null
    for (const tr of tracks) if (tr.start_ms <= t * 1000) current = tr
    return current
  }

  /** The lock screen and notification: the track playing (else the mix), the DJ, the mix, its cover. */
  function showOnLockScreen(t) {
    if (!hasSession() || !cloudcast) return
    const track = trackAt(t)
    if (track === shownTrack && navigator.mediaSession.metadata) return
    shownTrack = track
    const pics = cloudcast.picture_urls || {}
    const artwork = [
      [pics.small, '100x100'],
      [pics.medium, '300x300'],
      [pics.large, '600x600'],
    ]
      .filter(([src]) => src)
      .map(([src, sizes]) => ({ src: new URL(src, location.href).href, sizes, type: 'image/jpeg' }))
    navigator.mediaSession.metadata = new MediaMetadata({
      title: track ? `${track.artist} – ${track.title}` : cloudcast.title,
      artist: cloudcast.owner,
      album: cloudcast.title,
      artwork,
    })
  }

  function setPositionState() {
    if (!hasSession() || !navigator.mediaSession.setPositionState) return
    const duration = durationSec()
    if (!(duration > 0)) return
    try {
      navigator.mediaSession.setPositionState({ duration, position: Math.min(audio.currentTime, duration), playbackRate: audio.playbackRate || 1 })
    } catch {
      // a position past a duration the browser knows better
    }
  }

  function setMediaSession(cc) {
    if (!hasSession()) return
    shownTrack = undefined
    showOnLockScreen(0)
    const previousTrack = () => {
      const tracks = (cloudcast && cloudcast.tracklist) || []
      const now = audio.currentTime * 1000
      // Within 3 s of a track's start, the one before it; else this one's start.
      const starts = tracks.map((t) => t.start_ms).filter((s) => s < now - 3000)
      seek(starts.length ? starts[starts.length - 1] / 1000 : 0)
    }
    const handlers = {
      play: () => play(),
      pause: () => audio.pause(),
      seekbackward: (d) => seek(audio.currentTime - (d.seekOffset || 10)),
      seekforward: (d) => seek(audio.currentTime + (d.seekOffset || 10)),
      seekto: (d) => seek(d.seekTime),
      previoustrack: opts.onPrevious || previousTrack,
      nexttrack: opts.onNext || null,
    }
    for (const [action, handler] of Object.entries(handlers)) {
      try {
        navigator.mediaSession.setActionHandler(action, handler)
      } catch {
        // this browser does not know the action
      }
    }
  }

  function attachPlayer(streamUrl) {
    if (Hls.isSupported()) {
      hls = new Hls({ enableWorker: true, workerPath: WORKER_PATH })
      hls.on(Hls.Events.ERROR, (_event, data) => onHlsError(data, streamUrl))
      hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
        rendition = renditionOf(hls.levels[data.level])
      })
      hls.attachMedia(audio)
      hls.loadSource(streamUrl)
      return 'hls.js'
    }
    if (audio.canPlayType('application/vnd.apple.mpegurl')) {
      audio.src = streamUrl // Safari and iOS play HLS themselves
      return 'native'
    }
    return null
  }

  function detach() {
    if (hls) {
      hls.destroy()
      hls = null
    }
    rendition = undefined
    audio.removeAttribute('src')
    audio.load()
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
    showError(`Playback stopped: ${what}${http}. Press Play to try again.`)
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

  function toggle() {
    if (state.state === 'loading' || state.state === 'idle') return
    if (state.state === 'error' && state.cloudcastId) {
      load(state.cloudcastId, { autoplay: true })
      return
    }
    if (audio.paused) play()
    else audio.pause()
  }

  function seek(seconds) {
    const d = durationSec()
    if (!(d > 0) || !Number.isFinite(seconds)) return
    // Not quite the end, which would finish the mix rather than play its last moments.
    audio.currentTime = Math.min(Math.max(seconds, 0), Math.max(d - 0.5, 0))
    lastTime = null
    updateProgress()
  }

  /** Loads mix `id` (the one playing stops); `at` seconds to start from. */
  /**
   * Loads `id` (and plays it with `autoplay`) from `at` seconds; a
   * `resume` point within `nearEnd` seconds of the end starts over instead.
   */
  async function load(id, { autoplay = false, at = 0, resume = false, nearEnd = 30 } = {}) {
    const token = ++loadToken
    if (state.cloudcastId && state.cloudcastId !== id) {
      flushWithBeacon()
      audio.pause()
    }
    detach()
    stopTicking()
    Object.assign(state, { ready: false, cloudcastId: id, error: null, engine: null })
    lastTime = null
    played = 0
    setPlayerState('loading')
    let cc
    try {
      cc = await loadCloudcast(id, token)
    } catch (err) {
      if (token === loadToken) showError(err.message)
      return
    }
    if (!cc || token !== loadToken) return
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
    state.ready = true
    setPlayerState('ready')
    if (resume && durationSec() > 0 && at > durationSec() - nearEnd) at = 0
    state.resumedAt = resume && at > 0 ? at : null
    if (at > 0) {
      const start = () => seek(at)
      audio.addEventListener('loadedmetadata', start, { once: true })
    }
    if (autoplay) play()
    updateProgress()
  }

  let shownSecond = -1

  function updateProgress() {
    const t = audio.currentTime
    const second = Math.floor(t)
    if (second !== shownSecond) {
      shownSecond = second
      if (ui.currentTime) ui.currentTime.textContent = formatTime(t)
      showOnLockScreen(t)
      if (second % 5 === 0) setPositionState()
    }
    emit('progress', t)
  }

  // -------------------------------------------------------------------------
  // Heartbeats: counting played time
  // -------------------------------------------------------------------------

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
    if (!cloudcast) return
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
    const referrer = opts.referrer ? opts.referrer() : document.referrer
    if (referrer) beat.referrer = referrer
    pending.push(beat)
    if (pending.length > MAX_PENDING) pending.splice(0, pending.length - MAX_PENDING)
    state.beatsMade++
    state.lastBeat = beat
    state.pending = pending.length
    scheduleSend()
  }


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
    state.requests++
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
    emit('state', 'ended')
  })
  audio.addEventListener('durationchange', () => {
    if (!state.durationMs && ui.duration) ui.duration.textContent = formatTime(durationSec())
  })
  audio.addEventListener('error', () => {
    // hls.js reports its own errors; this is the native engine's.
    if (state.engine !== 'native') return
    const code = audio.error ? audio.error.code : 0
    showError(`Playback stopped: the stream could not be played (media error ${code}).`)
  })
  if (ui.play) ui.play.addEventListener('click', toggle)
  window.addEventListener('pagehide', flushWithBeacon)
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flushWithBeacon()
  })

  return {
    state,
    load,
    toggle,
    play,
    pause: () => audio.pause(),
    seek,
    position: () => audio.currentTime,
    duration: durationSec,
    cloudcast: () => cloudcast,
    paused: () => audio.paused,
    /** The volume (0 to 1); sets it when given. */
    volume: (v) => {
      if (v !== undefined) audio.volume = Math.min(1, Math.max(0, v))
      return audio.volume
    },
    on: (event, fn) => listeners[event].push(fn),
    off: (event, fn) => {
      const list = listeners[event]
      const i = list.indexOf(fn)
      if (i >= 0) list.splice(i, 1)
    },
    formatTime,
  }
}

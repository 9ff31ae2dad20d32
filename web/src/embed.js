// The embed player (`/embed/{id}`, inside other sites' iframes): play,
// seek on the waveform, time, title and a link back; the same heartbeats as
// the site's player, with the embedding page as the referrer.
//
// postMessage API, for the page that embeds it (as Mixcloud's widget):
//   send    {method: 'play'|'pause'|'toggle'|'seek', value?: seconds}
//           {method: 'getPosition'|'getDuration', id?}  -> {event: 'position'|'duration', value, id}
//   receive {event: 'ready'|'play'|'pause'|'ended'|'progress', value?: seconds}
// Every message the player sends carries `source: 'cloudcast'` and the cloudcast's id.
//
// A playlist's embed (`/embed/playlist/{id}`) lists its mixes beneath: one
// ends, the next plays; any of them plays when chosen.

import { createPlayer } from './player.js'
import { Waveform } from './waveform.js'

const $ = (id) => document.getElementById(id)
const body = document.body
let id = body.dataset.cloudcast
let durationS = Number(body.dataset.durationMs) / 1000

// Inside an iframe, document.referrer is the embedding page (its origin
// under the default referrer policy): where the embed plays is what the
// DJ's referrer statistics show.
const player = createPlayer(
  { audio: $('audio'), play: null, currentTime: $('current-time'), duration: $('duration'), message: $('error') },
  { batchSecs: body.dataset.beatBatchSecs, referrer: () => document.referrer },
)
window.cloudcastPlayer = player.state

const wave = new Waveform($('waveform'), {
  onSeek: (s) => start(s),
  duration: () => player.duration() || durationS,
  position: () => player.position(),
})
wave.load(body.dataset.peaks)

let loaded = null

const list = $('embed-list')
const entries = list ? [...list.querySelectorAll('[data-id]')] : []

/** Plays entry `i` of a playlist's embed from its start. */
async function playEntry(i) {
  const b = entries[i]
  if (!b) return
  let cc
  try {
    const res = await fetch(`/api/v1/cloudcasts/${b.dataset.id}`, { credentials: 'omit' })
    if (!res.ok) throw new Error(String(res.status))
    cc = await res.json()
  } catch {
    $('error').textContent = `${b.dataset.title} cannot be played now.`
    return
  }
  for (const e of entries) e.setAttribute('aria-current', String(e === b))
  id = cc.id
  durationS = (cc.duration_ms || 0) / 1000
  body.dataset.cloudcast = id
  const title = $('embed-title')
  title.textContent = cc.title
  title.href = b.dataset.url
  $('embed-owner').textContent = cc.owner
  playButton.setAttribute('aria-label', `Play ${cc.title}`)
  wave.load(cc.peaks_url)
  loaded = player.load(id, { autoplay: true })
}

list?.addEventListener('click', (e) => {
  const b = e.target.closest('[data-id]')
  if (b) playEntry(entries.indexOf(b))
})

/** Loads on first use (no stream is opened until someone presses play). */
function start(at) {
  if (!loaded) {
    loaded = player.load(id, { autoplay: true, at })
    return
  }
  if (at !== undefined) player.seek(at)
  if (player.paused()) player.play()
}

const playButton = $('play')
playButton.addEventListener('click', () => {
  if (loaded && !player.paused()) player.pause()
  else start()
})

function post(event, value, extra = {}) {
  if (window.parent === window) return
  window.parent.postMessage({ source: 'cloudcast', cloudcast: id, event, value, ...extra }, '*')
}

let lastProgress = -1
player.on('progress', (t) => {
  wave.schedule()
  const slider = $('waveform')
  slider.setAttribute('aria-valuenow', String(Math.floor(t)))
  slider.setAttribute('aria-valuetext', player.formatTime(t))
  const second = Math.floor(t)
  if (second !== lastProgress) {
    lastProgress = second
    post('progress', t)
  }
})
player.on('state', (s) => {
  const playing = s === 'playing' || s === 'buffering'
  playButton.textContent = playing ? 'Pause' : 'Play'
  playButton.setAttribute('aria-label', playing ? 'Pause' : 'Play')
  if (s === 'playing') post('play', player.position())
  else if (s === 'paused') post('pause', player.position())
  else if (s === 'ended') {
    post('ended', player.position())
    const now = entries.findIndex((e) => e.getAttribute('aria-current') === 'true')
    if (now >= 0 && now + 1 < entries.length) playEntry(now + 1)
  }
})

window.addEventListener('message', (e) => {
  const m = e.data
  if (!m || typeof m !== 'object' || typeof m.method !== 'string') return
  switch (m.method) {
    case 'play':
      start()
      break
    case 'pause':
      player.pause()
      break
    case 'toggle':
      playButton.click()
      break
    case 'seek':
      if (Number.isFinite(m.value)) start(m.value)
      break
    case 'getPosition':
      post('position', player.position(), { id: m.id })
      break
    case 'getDuration':
      post('duration', player.duration() || durationS, { id: m.id })
      break
    default:
      break
  }
})

body.dataset.ready = 'true'
post('ready', durationS)

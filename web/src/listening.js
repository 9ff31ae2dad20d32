// What keeps a listener with the player: where each mix stopped (this
// browser's, and the history's for a signed-in listener, whichever is
// newer), the volume they chose, the queue that goes on from the list
// they started in, and keyboard shortcuts.

import { api } from './session.js'

const POSITION = (id) => `cloudcast.position.${id}`
const VOLUME = 'cloudcast.volume'
/** Closer to the start than this, a mix starts over; so it does within this of its end. */
const RESUME_AFTER_S = 10
const NEAR_END_S = 30

export function savePosition(id, at, duration) {
  try {
    localStorage.setItem(POSITION(id), JSON.stringify({ at, duration, when: Date.now() }))
  } catch {
    // storage full or off: resuming is a nicety
  }
}

export function forgetPosition(id) {
  try {
    localStorage.removeItem(POSITION(id))
  } catch {
    // as above
  }
}

/** Where to resume `id`, in seconds, or null to start at the beginning (the player also starts over near the end). */
export async function resumePoint(id, signedIn) {
  let best = null
  try {
    best = JSON.parse(localStorage.getItem(POSITION(id)) || 'null')
  } catch {
    best = null
  }
  if (signedIn) {
    try {
      const h = await api('GET', `/api/v1/me/history?cloudcast=${encodeURIComponent(id)}&limit=1`)
      const e = h.history && h.history[0]
      const when = e ? Date.parse(e.ended_at) : NaN
      if (e && (!best || when > best.when)) best = { at: e.stopped_at_ms / 1000, duration: null, when }
    } catch {
      // the history is away: this browser's position will do
    }
  }
  if (!best || !(best.at >= RESUME_AFTER_S)) return null
  if (best.duration && best.at > best.duration - NEAR_END_S) return null
  return best.at
}

/** The volume slider, remembered across visits. */
export function volumeControl(input, player) {
  if (!input) return
  const saved = Number(localStorage.getItem(VOLUME))
  const v = Number.isFinite(saved) && localStorage.getItem(VOLUME) !== null ? saved : 1
  player.volume(v)
  input.value = String(v)
  const set = (value) => {
    const now = player.volume(value)
    input.value = String(now)
    input.setAttribute('aria-valuetext', `${Math.round(now * 100)}%`)
    try {
      localStorage.setItem(VOLUME, String(now))
    } catch {
      // as above
    }
  }
  input.addEventListener('input', () => set(Number(input.value)))
  return set
}

/** What plays after the current mix: the rest of the list it was started from, and "play next" picks. */
export class Queue {
  constructor(onChange) {
    this.items = []
    this.onChange = onChange
  }

  /** The mixes after `button`'s card in its list. */
  fromList(button) {
    const list = button.closest('ol.cards')
    if (!list) return
    const buttons = [...list.querySelectorAll('[data-play]')]
    const after = buttons.slice(buttons.indexOf(button) + 1)
    this.items = after.map((b) => ({ id: b.dataset.play, title: b.dataset.title || b.getAttribute('aria-label') || 'a mix' }))
    this.onChange(this.items[0])
  }

  playNext(item) {
    this.items = [item, ...this.items.filter((i) => i.id !== item.id)]
    this.onChange(this.items[0])
  }

  take() {
    const next = this.items.shift()
    this.onChange(this.items[0])
    return next
  }
}

/** Does the focused element take `key` itself (text, a choice, a slider's arrows, a button's Space)? */
function ownKey(t, key) {
  if (!t || !t.tagName) return false
  if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return true
  const slider = t.getAttribute('role') === 'slider' || (t.tagName === 'INPUT' && t.type === 'range')
  if (slider) return key.startsWith('Arrow')
  if (t.tagName === 'INPUT') return !['checkbox', 'radio', 'button', 'submit'].includes(t.type) || key === ' '
  if (t.tagName === 'BUTTON' || t.tagName === 'A') return key === ' ' || key === 'Enter'
  return false
}

/**
 * The player's keys, anywhere but in a field: Space or K plays and
 * pauses, ← / J and → / L move 10 s, + and − set the volume, M mutes,
 * N plays the next mix.
 */
export function shortcuts(player, { setVolume, next }) {
  let unmuted = 1
  document.addEventListener('keydown', (e) => {
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key
    if (e.ctrlKey || e.metaKey || e.altKey || ownKey(e.target, key) || !player.state.cloudcastId) return
    const act = {
      ' ': () => player.toggle(),
      k: () => player.toggle(),
      ArrowLeft: () => player.seek(player.position() - 10),
      j: () => player.seek(player.position() - 10),
      ArrowRight: () => player.seek(player.position() + 10),
      l: () => player.seek(player.position() + 10),
      '+': () => setVolume(player.volume() + 0.1),
      '=': () => setVolume(player.volume() + 0.1),
      '-': () => setVolume(player.volume() - 0.1),
      m: () => {
        if (player.volume() > 0) {
          unmuted = player.volume()
          setVolume(0)
        } else setVolume(unmuted || 1)
      },
      n: () => next(),
    }[key]
    if (!act) return
    e.preventDefault()
    act()
  })
}

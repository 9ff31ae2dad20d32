// The bell in the header: the unread count, live. One event stream per tab
// for as long as the tab is open (in-site navigation replaces the header,
// so the count goes to whichever bell is current). A node that keeps no
// more streams refuses one (503), and the tab asks for the count every
// `body[data-poll-secs]` instead. `body[data-bell]` says which (tests read it).

import { $ } from './ui.js'

let source = null
let timer = null

export function showUnread(n) {
  const bell = $('nav-bell')
  if (!bell) return
  const badge = bell.querySelector('.count')
  badge.textContent = n > 0 ? String(n) : ''
  badge.hidden = n === 0
  bell.dataset.unread = String(n)
  bell.setAttribute('aria-label', `Notifications: ${n} unread`)
}

export function stopBell() {
  if (source) source.close()
  source = null
  clearInterval(timer)
  timer = null
  delete document.body.dataset.bell
}

function poll() {
  const secs = Number(document.body.dataset.pollSecs) || 30
  document.body.dataset.bell = 'poll'
  const ask = async () => {
    try {
      const res = await fetch('/api/v1/me/notifications/unread', { credentials: 'same-origin' })
      if (res.status === 401) return stopBell()
      if (res.ok) showUnread((await res.json()).unread)
    } catch {
      // offline for now; the next round asks again
    }
  }
  ask()
  timer = setInterval(ask, secs * 1000)
}

function listen() {
  source = new EventSource('/api/v1/me/notifications/stream')
  document.body.dataset.bell = 'stream'
  source.addEventListener('unread', (e) => {
    try {
      showUnread(JSON.parse(e.data).unread)
    } catch {
      // not ours
    }
  })
  source.addEventListener('error', () => {
    // The browser reconnects by itself after a dropped connection; a
    // refusal (a full node, an ended session) closes the stream for good.
    if (source && source.readyState === EventSource.CLOSED) {
      source = null
      poll()
    }
  })
}

/** Keeps the bell live while signed in; called on every page shown. */
export function wireBell() {
  if (!$('nav-bell')) return stopBell()
  if (source || timer) return
  if (typeof EventSource === 'undefined') poll()
  else listen()
}

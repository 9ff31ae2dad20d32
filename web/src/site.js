// The site's script: in-site navigation that swaps the page's <main> and
// keeps the player bar (so a mix plays on while the listener browses),
// the bar itself, and what each page does beyond what the server rendered
// (favourite, follow, comment, sign up, search as you type, my mixes...).
// Every page works without it for reading; it adds the doing.
//
// A page names itself in `main[data-page]`; a page with a bigger script of
// its own (upload, dashboard, settings) names it in `main[data-script]`,
// and that script runs again each time its page is shown.

import { showUnread, stopBell, wireBell } from './bell.js'
import { commentsSection } from './comments.js'
import { createPlayer } from './player.js'
import { detailsForm, saveDetails, statusText } from './mix_editor.js'
import { $, el, link, say, signedIn, wireShare } from './ui.js'
import { Queue, forgetPosition, resumePoint, savePosition, shortcuts, volumeControl } from './listening.js'
import { Waveform } from './waveform.js'
import { contactPage, termsPage, wireBanners } from './policies.js'
import { accountQueues, decisionForm } from './moderation_accounts.js'
import { addFromCard, addToPlaylist, playlistPage } from './playlists.js'
import { api, errorMessage, forget, loadToken, remember } from './session.js'
import { passkeysHere, signInWithPasskey } from './passkey.js'


// ---------------------------------------------------------------------------
// The player bar
// ---------------------------------------------------------------------------

const bar = $('player-bar')
const player = createPlayer(
  { audio: $('audio'), play: $('play'), currentTime: $('current-time'), duration: $('duration'), message: $('error') },
  { batchSecs: document.body.dataset.beatBatchSecs, onNext: () => playNext() },
)
window.cloudcastPlayer = player.state

// What plays next: the rest of the list a mix was started from, and picks.
const queue = new Queue((next) => {
  const b = $('next')
  b.hidden = !next
  $('up-next').textContent = next ? `Next: ${next.title}` : ''
  if (next) b.setAttribute('aria-label', `Play next: ${next.title}`)
})
window.cloudcastSite = { player, queue, navigations: 0 }

function playNext() {
  const next = queue.take()
  if (next) playInBar(next.id)
}

const setVolume = volumeControl($('volume'), player)
shortcuts(player, { setVolume, next: playNext })
$('next').addEventListener('click', playNext)

// Where each mix stopped, for resuming it; a mix heard to its end starts over.
let savedSecond = -1
player.on('progress', (t) => {
  const s = Math.floor(t)
  if (s % 5 === 0 && s !== savedSecond && player.state.state === 'playing') {
    savedSecond = s
    savePosition(player.state.cloudcastId, t, player.duration())
  }
})
player.on('state', (s) => {
  const id = player.state.cloudcastId
  if (!id) return
  if (s === 'paused') savePosition(id, player.position(), player.duration())
  if (s === 'ended') {
    forgetPosition(id)
    playNext()
  }
})

const barWave = new Waveform($('bar-waveform'), {
  onSeek: (s) => player.seek(s),
  duration: () => player.duration(),
  position: () => player.position(),
})

player.on('load', (cc) => {
  bar.hidden = false
  const title = $('now-title')
  title.textContent = cc.title || 'Untitled mix'
  title.href = cc.url || `/listen/${cc.id}`
  const owner = $('now-owner')
  owner.textContent = cc.owner || ''
  owner.href = `/${cc.owner}`
  const slider = $('bar-waveform')
  slider.setAttribute('aria-valuemax', String(Math.round(player.duration())))
  barWave.load(cc.peaks_url)
})

player.on('progress', (t) => {
  barWave.schedule()
  const slider = $('bar-waveform')
  slider.setAttribute('aria-valuenow', String(Math.floor(t)))
  slider.setAttribute('aria-valuetext', `${player.formatTime(t)} of ${player.formatTime(player.duration())}`)
})

/**
 * Plays `id` in the bar: toggles it when it is the one loaded. Without
 * `at`, a mix heard before resumes where it stopped.
 */
async function playInBar(id, at) {
  if (player.state.cloudcastId === id && player.state.state !== 'error') {
    if (at !== undefined) {
      player.seek(at)
      if (player.paused()) player.play()
    } else player.toggle()
    return
  }
  const note = $('resume-note')
  note.hidden = true
  const resume = at === undefined
  const from = resume ? await resumePoint(id, !!loadToken()) : at
  await player.load(id, { autoplay: true, at: from ?? 0, resume })
  if (player.state.resumedAt !== null && player.state.cloudcastId === id) {
    $('resume-at').textContent = player.formatTime(player.state.resumedAt)
    note.hidden = false
  }
}

$('start-over').addEventListener('click', () => {
  $('resume-note').hidden = true
  player.seek(0)
})

// Any "play" button on a card: the rest of its list plays after it.
document.addEventListener('click', (e) => {
  const next = e.target.closest('[data-play-next]')
  if (next) {
    e.preventDefault()
    queue.playNext({ id: next.dataset.playNext, title: next.dataset.title })
    return
  }
  const add = e.target.closest('[data-add-to-playlist]')
  if (add) {
    e.preventDefault()
    addFromCard(add)
    return
  }
  const b = e.target.closest('[data-play]')
  if (!b) return
  e.preventDefault()
  if (b.closest('ol.cards')) queue.fromList(b)
  playInBar(b.dataset.play, b.dataset.at === undefined ? undefined : Number(b.dataset.at))
})

// ---------------------------------------------------------------------------
// In-site navigation
// ---------------------------------------------------------------------------

const NO_SWAP = ['/api/', '/stream/', '/assets/', '/embed/', '/oembed']

function swappable(url) {
  return url.origin === location.origin && !NO_SWAP.some((p) => url.pathname.startsWith(p))
}

let navigating = 0

async function navigate(href, { push }) {
  const token = ++navigating
  let res
  try {
    res = await fetch(href, { headers: { Accept: 'text/html' }, credentials: 'same-origin' })
  } catch {
    location.href = href // offline or refused: let the browser say so
    return
  }
  const type = res.headers.get('Content-Type') || ''
  if (!type.startsWith('text/html')) {
    location.href = href
    return
  }
  const html = await res.text()
  if (token !== navigating) return // a later click won
  const doc = new DOMParser().parseFromString(html, 'text/html')
  const main = doc.getElementById('content')
  if (!main) {
    location.href = href
    return
  }
  unmount()
  $('content').replaceWith(document.adoptNode(main))
  const header = doc.querySelector('header.site')
  if (header) document.querySelector('header.site').replaceWith(document.adoptNode(header))
  document.title = doc.title
  const url = new URL(res.url || href, location.href)
  const hash = new URL(href, location.href).hash
  if (push) history.pushState({ cloudcast: true }, '', url.pathname + url.search + hash)
  else if (url.href !== location.href) history.replaceState({ cloudcast: true }, '', url.pathname + url.search + hash)
  const target = hash && document.getElementById(hash.slice(1))
  if (target) target.scrollIntoView()
  else window.scrollTo(0, 0)
  $('content').focus({ preventScroll: true })
  window.cloudcastSite.navigations++
  mount()
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  const a = e.target.closest('a[href]')
  if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download') || 'noSwap' in a.dataset) return
  const url = new URL(a.href, location.href)
  if (!swappable(url)) return
  // A link to a place on this page.
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return
  e.preventDefault()
  navigate(url.href, { push: true })
})

document.addEventListener('submit', (e) => {
  const form = e.target
  if (e.defaultPrevented || (form.method || 'get').toLowerCase() !== 'get' || !form.action) return
  const url = new URL(form.action, location.href)
  if (!swappable(url)) return
  e.preventDefault()
  url.search = new URLSearchParams(new FormData(form)).toString()
  navigate(url.href, { push: true })
})

window.addEventListener('popstate', () => navigate(location.href, { push: false }))

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

let cleanups = []

function unmount() {
  for (const fn of cleanups) fn()
  cleanups = []
}

function mount() {
  const main = $('content')
  // Signed in without this tab's form (a mailed link signs in on the
  // server): the header names the account, so the page scripts know it too.
  const me = $('nav-me')
  if (me && !loadToken()) remember({ expires_at: null }, me.textContent.trim())
  // Signing in or up from a page comes back to it.
  const here = location.pathname + location.search
  if (!['/sign-in', '/sign-up'].includes(location.pathname)) {
    for (const a of document.querySelectorAll('header.site a[href^="/sign-in"], header.site a[href^="/sign-up"]')) {
      a.href = `${new URL(a.href).pathname}?next=${encodeURIComponent(here)}`
    }
  }
  wireHeader()
  wireBanners()
  const page = PAGES[main.dataset.page]
  if (page) page(main)
  if (main.dataset.script) {
    const s = document.createElement('script')
    s.src = main.dataset.script
    main.append(s) // runs each time the page is shown
  }
  document.body.dataset.ready = 'true'
}

/** A toggle button backed by PUT (on) and DELETE (off). */
function toggleButton(button, path, messageEl, { on, off, after }) {
  if (!button) return
  button.addEventListener('click', async () => {
    const pressed = button.getAttribute('aria-pressed') === 'true'
    const done = await signedIn(() => api(pressed ? 'DELETE' : 'PUT', path).then((r) => r || {}), messageEl)
    if (!done) return
    // A follow answers with the follower count as it now stands.
    const count = $('followers-count')
    if (count && Number.isFinite(done.followers)) count.textContent = String(done.followers)
    button.setAttribute('aria-pressed', String(!pressed))
    if (button.dataset.on) button.textContent = pressed ? button.dataset.off : button.dataset.on
    const n = button.querySelector('.n')
    if (n) n.textContent = String(Math.max(0, Number(n.textContent) + (pressed ? -1 : 1)))
    say(messageEl, pressed ? off : on)
    if (after) after(!pressed)
  })
}

function wireHeader() {
  const out = $('sign-out')
  if (out && !out.dataset.wired) {
    out.dataset.wired = 'true'
    out.addEventListener('click', async () => {
      try {
        await api('DELETE', '/api/v1/sessions')
      } catch {
        // signed out already
      }
      forget()
      stopBell()
      navigate('/', { push: true })
    })
  }
  wireSuggestions()
  wireBell()
}

// Search as you type: the first few cloudcasts and people, as links.
function wireSuggestions() {
  const input = $('site-search')
  const list = $('search-suggestions')
  if (!input || input.dataset.wired) return
  input.dataset.wired = 'true'
  let timer = null
  let asked = 0
  const hide = () => {
    list.hidden = true
    input.setAttribute('aria-expanded', 'false')
  }
  input.addEventListener('input', () => {
    clearTimeout(timer)
    const q = input.value.trim()
    if (q.length < 2) return hide()
    timer = setTimeout(async () => {
      const n = ++asked
      // One kind per query, as the API answers: mixes, people, tags.
      const ask = (type, limit) =>
        api('GET', `/api/v1/search?q=${encodeURIComponent(q)}&type=${type}&limit=${limit}`).catch(() => ({}))
      const [mixes, people, tags] = await Promise.all([ask('cloudcast', 5), ask('user', 3), ask('tag', 3)])
      if (n !== asked) return
      const r = { cloudcasts: mixes.cloudcasts, users: people.users, tags: tags.tags }
      const items = [
        ...(r.cloudcasts || []).map((c) => [c.url, `${c.title} · ${c.owner}`]),
        ...(r.users || []).map((u) => [u.url, `@${u.username}`]),
        ...(r.tags || []).map((t) => [`/tags/${encodeURIComponent(t.tag)}`, `#${t.tag}`]),
      ]
      list.replaceChildren(
        ...items.map(([href, text]) => {
          const li = document.createElement('li')
          li.setAttribute('role', 'option')
          li.append(link(href, text))
          return li
        }),
      )
      list.hidden = items.length === 0
      input.setAttribute('aria-expanded', String(items.length > 0))
    }, 150)
  })
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') hide()
    if (e.key === 'ArrowDown' && !list.hidden) {
      const first = list.querySelector('a')
      if (first) {
        e.preventDefault()
        first.focus()
      }
    }
  })
  list.addEventListener('click', hide)
  document.addEventListener('click', (e) => {
    if (!e.target.closest('form.search')) hide()
  })
}

function cloudcastPage(main) {
  const article = main.querySelector('article[data-cloudcast]')
  if (!article) return
  const id = article.dataset.cloudcast
  const durationS = Number(article.dataset.durationMs) / 1000
  const mine = () => player.state.cloudcastId === id
  const message = $('action-message')
  const bigPlay = $('play-this')
  const pageTime = $('page-time')
  const canvas = $('waveform')
  const wave = new Waveform(canvas, {
    onSeek: (s) => playInBar(id, s),
    duration: () => durationS,
    position: () => (mine() ? player.position() : 0),
  })
  wave.load(article.dataset.peaks)
  const tracks = [...main.querySelectorAll('#tracklist li[data-start-ms]')]
  tracks.forEach((li) =>
    li.querySelector('button').addEventListener('click', () => playInBar(id, Number(li.dataset.startMs) / 1000)),
  )
  let current = -1
  const onProgress = (t) => {
    if (!mine()) return
    wave.schedule()
    pageTime.textContent = player.formatTime(t)
    canvas.setAttribute('aria-valuenow', String(Math.floor(t)))
    canvas.setAttribute('aria-valuetext', player.formatTime(t))
    let index = -1
    for (let i = 0; i < tracks.length && Number(tracks[i].dataset.startMs) <= t * 1000; i++) index = i
    if (index !== current) {
      if (tracks[current]) tracks[current].classList.remove('current'), tracks[current].removeAttribute('aria-current')
      if (tracks[index]) tracks[index].classList.add('current'), tracks[index].setAttribute('aria-current', 'true')
      current = index
    }
  }
  const onState = (s) => {
    if (!bigPlay) return
    const playing = mine() && (s === 'playing' || s === 'buffering')
    bigPlay.textContent = playing ? 'Pause' : 'Play'
    bigPlay.setAttribute('aria-label', `${playing ? 'Pause' : 'Play'} ${$('title').textContent}`)
  }
  if (bigPlay) bigPlay.addEventListener('click', () => playInBar(id))
  player.on('progress', onProgress)
  player.on('state', onState)
  onState(player.state.state)
  if (mine()) onProgress(player.position())
  cleanups.push(() => {
    player.off('progress', onProgress)
    player.off('state', onState)
    wave.destroy()
  })

  toggleButton($('favourite'), `/api/v1/cloudcasts/${id}/favourite`, message, { on: 'Added to your favourites.', off: 'Removed from your favourites.' })
  toggleButton($('repost'), `/api/v1/cloudcasts/${id}/repost`, message, { on: 'Reposted to your followers.', off: 'Repost taken back.' })
  toggleButton($('listen-later'), `/api/v1/cloudcasts/${id}/listen-later`, message, { on: 'Saved to listen later.', off: 'No longer saved.' })
  const follow = $('follow')
  if (follow) {
    toggleButton(follow, `/api/v1/users/${encodeURIComponent(follow.dataset.follow)}/follow`, message, {
      on: `You follow ${follow.dataset.follow}.`,
      off: `You no longer follow ${follow.dataset.follow}.`,
    })
  }
  wireShare()
  reportForm(id, message)
  addToPlaylist(id, message)
  counterNoticeForm(id)
  const atMoment = commentsSection(`/api/v1/cloudcasts/${id}/comments`, {
    playAt: (s) => playInBar(id, s),
    position: () => (mine() ? player.position() : null),
    message,
  })
  const pin = (t) => {
    if (mine()) atMoment(t)
  }
  player.on('progress', pin)
  cleanups.push(() => player.off('progress', pin))
}

/** The report form under "Report": abuse, or a copyright notice with its particulars. */
function reportForm(id, message) {
  const button = $('report')
  const box = $('report-box')
  if (!button || !box) return
  button.addEventListener('click', () => {
    box.hidden = !box.hidden
    button.setAttribute('aria-expanded', String(!box.hidden))
    if (!box.hidden) $('report-reason').focus()
  })
  const kind = () => box.querySelector('input[name=kind]:checked').value
  box.addEventListener('change', () => {
    const copyright = kind() === 'copyright'
    $('copyright-fields').hidden = !copyright
    for (const f of ['report-name', 'report-email', 'report-work', 'report-good-faith']) $(f).required = copyright
  })
  box.addEventListener('submit', async (e) => {
    e.preventDefault()
    const body = { kind: kind(), reason: $('report-reason').value }
    if (body.kind === 'copyright') {
      Object.assign(body, {
        name: $('report-name').value,
        email: $('report-email').value,
        work: $('report-work').value,
        good_faith: $('report-good-faith').checked,
      })
    }
    try {
      await api('POST', `/api/v1/cloudcasts/${id}/report`, body)
      box.reset()
      box.hidden = true
      button.setAttribute('aria-expanded', 'false')
      button.disabled = true
      say(message, 'Thank you: a moderator will look at it.')
    } catch (err) {
      say(message, err.message, 'error')
    }
  })
}

/** A taken-down cloudcast's owner answers with a counter-notice. */
function counterNoticeForm(id) {
  const form = $('counter-notice-form')
  if (!form) return
  const message = $('counter-notice-message')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    try {
      await api('POST', `/api/v1/cloudcasts/${id}/counter-notice`, {
        statement: $('counter-statement').value,
        good_faith: $('counter-good-faith').checked,
      })
      form.remove()
      say(message, 'Sent: a moderator will decide and write to you.')
    } catch (err) {
      say(message, err.message, 'error')
    }
  })
}

function profilePage(main) {
  const user = main.querySelector('[data-profile]')?.dataset.profile
  if (user) {
    commentsSection(`/api/v1/users/${encodeURIComponent(user)}/comments`, { message: $('profile-comments-message') })
  }
  const follow = main.querySelector('#follow')
  if (!follow) return
  const message = document.createElement('p')
  message.className = 'message'
  message.setAttribute('role', 'status')
  // Below the profile's buttons, so they stay on one line.
  const last = main.querySelector('#report-account') || follow
  last.after(message)
  toggleButton(follow, `/api/v1/users/${encodeURIComponent(user)}/follow`, message, {
    on: `You follow ${user}.`,
    off: `You no longer follow ${user}.`,
  })
  const block = main.querySelector('#block')
  toggleButton(block, `/api/v1/me/blocks/${encodeURIComponent(user)}`, message, {
    on: `You blocked ${user}: you no longer follow each other, and neither of you can reach the other.`,
    off: `You unblocked ${user}.`,
    // A block ends the follows both ways: the follow button says so.
    after: (blocked) => {
      if (!blocked) return
      follow.setAttribute('aria-pressed', 'false')
      follow.textContent = follow.dataset.off
    },
  })
}

function signUpPage() {
  const form = $('signup-form')
  const message = $('signup-message')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const body = {
      username: $('su-username').value.trim(),
      email: $('su-email').value.trim(),
      password: $('su-password').value,
      birth_date: $('su-birth').value,
      next: $('su-next').value || '/',
      personalised_ads: $('su-ads').checked,
    }
    if (!body.username || !body.email || !body.password || !body.birth_date) {
      return say(message, 'Please fill in every field.', 'error')
    }
    const terms = $('su-terms')
    if (terms) {
      if (!terms.checked) {
        terms.focus()
        return say(message, 'Please read and accept the terms of service to sign up.', 'error')
      }
      body.terms = terms.value
    }
    $('signup').disabled = true
    try {
      // The same answer whether or not the address has an account: the
      // account starts when the mailed link is opened (it signs in).
      const received = await api('POST', '/api/v1/accounts', body)
      const parts = [
        `Thank you, ${received.username}! We sent a link to ${received.sent_to}: open it within 24 hours to start using your account.`,
      ]
      if (received.parental_advice) parts.push(received.parental_advice)
      form.replaceWith(Object.assign(document.createElement('div'), { id: 'signup-done' }))
      const done = $('signup-done')
      for (const p of parts) done.append(Object.assign(document.createElement('p'), { textContent: p }))
      done.setAttribute('role', 'status')
      document.body.dataset.signedUp = received.is_minor ? 'minor' : 'adult'
    } catch (err) {
      $('signup').disabled = false
      if (err.code === 'under_13') {
        say(message, 'Sorry: you must be 13 or older to use Cloudcast. Nothing you entered has been stored.', 'error')
      } else say(message, err.message, 'error')
    }
  })
}

function signInPage() {
  const form = $('site-signin-form')
  const message = $('signin-message')
  const withPasskey = $('site-passkey')
  if (passkeysHere()) {
    withPasskey.hidden = false
    withPasskey.addEventListener('click', async () => {
      try {
        await signInWithPasskey()
        navigate(form.dataset.next || '/', { push: true })
      } catch (err) {
        say(message, err.name === 'NotAllowedError' ? 'No passkey was used.' : err.message, 'error')
      }
    })
  }
  // A right password on an account with an authenticator app opens a
  // challenge: the code field shows, and the next submit sends the code.
  let challenge = null
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const login = $('si-login').value.trim()
    try {
      const session = challenge
        ? await api('POST', '/api/v1/sessions/second-factor', { challenge, code: $('si-code').value.trim() })
        : await api('POST', '/api/v1/sessions', { login, password: $('si-password').value })
      remember(session, login)
      navigate(form.dataset.next || '/', { push: true })
    } catch (err) {
      if (err.code === 'second_factor_required') {
        challenge = err.challenge
        $('si-code-step').hidden = false
        $('si-code').focus()
        say(message, err.message)
      } else if (challenge && err.code === 'invalid_credentials') {
        // A wrong code, or a challenge spent or expired (the answer does not
        // say which): start again from the password.
        challenge = null
        $('si-code-step').hidden = true
        $('si-code').value = ''
        say(message, 'That code was not accepted: enter your password again, then a current code.', 'error')
      } else say(message, err.message, 'error')
    }
  })
  $('resend-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    const m = $('resend-message')
    try {
      await api('POST', '/api/v1/accounts/confirmation', { login: $('rs-login').value.trim() })
      say(m, 'If a sign-up waits under that name or address, a new link is on its way.')
    } catch (err) {
      say(m, err.message, 'error')
    }
  })
  $('reset-request-form').addEventListener('submit', async (e) => {
    e.preventDefault()
    const m = $('reset-request-message')
    try {
      await api('POST', '/api/v1/accounts/password-reset', { login: $('rr-login').value.trim() })
      say(m, 'If an account matches, a link to choose a new password is on its way.')
    } catch (err) {
      say(m, err.message, 'error')
    }
  })
}

function resetPage() {
  const form = $('reset-form')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const m = $('reset-message')
    try {
      await api('POST', '/api/v1/accounts/password-reset/confirm', { token: form.dataset.token, password: $('rp-password').value })
      m.replaceChildren('Your password is changed. ', link('/sign-in', 'Sign in'))
      m.dataset.kind = 'info'
    } catch (err) {
      say(m, err.message, 'error')
    }
  })
}

// My mixes: edit, delete, retry, and live progress while processing.
function mixesPage(main) {
  const list = main.querySelector('#mix-list')
  if (!list) return
  const message = $('mixes-message')
  const poll = setInterval(async () => {
    for (const li of list.querySelectorAll('li[data-status=processing], li[data-status=uploading]')) {
      try {
        const cc = await api('GET', `/api/v1/cloudcasts/${li.dataset.mix}`)
        li.dataset.status = cc.status
        li.querySelector('.mix-status').textContent = statusText(cc)
        const publish = li.querySelector('[data-publish]')
        if (publish) publish.disabled = cc.status !== 'ready'
      } catch {
        // the next round asks again
      }
    }
  }, 2000)
  cleanups.push(() => clearInterval(poll))
  list.addEventListener('click', async (e) => {
    const li = e.target.closest('li[data-mix]')
    if (!li) return
    const id = li.dataset.mix
    if (e.target.closest('[data-delete]')) {
      if (!window.confirm('Delete this mix for good? Its plays and comments go with it.')) return
      try {
        await api('DELETE', `/api/v1/cloudcasts/${id}`)
        li.remove()
        say(message, 'Deleted.')
      } catch (err) {
        say(message, err.message, 'error')
      }
    } else if (e.target.closest('[data-publish]')) {
      const button = e.target.closest('[data-publish]')
      try {
        const cc = await api('POST', `/api/v1/cloudcasts/${id}/publish`)
        delete li.dataset.draft
        li.querySelector('.mix-status').textContent = statusText(cc)
        button.remove()
        say(message, `Published: “${cc.title}” is out.`)
      } catch (err) {
        say(message, err.message, 'error')
      }
    } else if (e.target.closest('[data-retry]')) {
      try {
        await api('POST', `/api/v1/cloudcasts/${id}/retry`)
        li.dataset.status = 'processing'
        li.querySelector('.mix-status').textContent = 'processing'
        e.target.closest('[data-retry]').remove()
      } catch (err) {
        say(message, err.message, 'error')
      }
    } else if (e.target.closest('[data-edit]')) {
      const button = e.target.closest('[data-edit]')
      const form = li.querySelector('form.mix-form')
      if (!form.hidden) {
        form.hidden = true
        button.setAttribute('aria-expanded', 'false')
        return
      }
      try {
        fillEditForm(form, await api('GET', `/api/v1/cloudcasts/${id}`), li)
        form.hidden = false
        button.setAttribute('aria-expanded', 'true')
      } catch (err) {
        say(message, err.message, 'error')
      }
    }
  })
  const hash = location.hash.match(/^#edit-(.+)$/)
  if (hash) {
    const button = $(`edit-${hash[1]}`)?.querySelector('[data-edit]')
    if (button) button.click()
  }
}

function fillEditForm(form, cc, li) {
  const { values, cover } = detailsForm(form, cc, `m-${cc.id}`)
  const save = el('button', { type: 'submit', textContent: 'Save' })
  const status = el('p', { className: 'message' })
  status.setAttribute('role', 'status')
  form.append(save, status)
  form.onsubmit = async (e) => {
    e.preventDefault()
    try {
      const saved = await saveDetails(cc.id, values(), cover.files[0])
      const a = li.querySelector('a')
      a.textContent = saved.title
      a.href = saved.url
      say(status, 'Saved.')
    } catch (err) {
      say(status, err.message, 'error')
    }
  }
}

function moderationPage() {
  const list = $('moderation-list')
  const message = $('moderation-message')
  const act = async (method, path, li, body) => {
    try {
      await api(method, path, body)
      li.remove()
    } catch (err) {
      say(message, err.message, 'error')
    }
  }
  const load = async () => {
    let page
    try {
      page = await api('GET', '/api/v1/admin/comments')
    } catch (err) {
      return say(message, err.message, 'error')
    }
    const items = page.comments || []
    if (!items.length) say(message, 'No comments wait.')
    list.replaceChildren(
      ...items.map((c) => {
        const li = el('li')
        li.dataset.comment = c.id
        li.append(el('p', { textContent: `${c.author}${c.profile ? ` (on ${c.profile}'s profile)` : ''}: ${c.body}` }))
        const why = [c.held_reason, ...(c.report_reasons || []).map((r) => `reported: ${r}`)].filter(Boolean).join(' · ')
        li.append(el('p', { className: 'muted', textContent: `${c.status}${why ? ` · ${why}` : ''}` }))
        const approve = el('button', { type: 'button', textContent: 'Approve' })
        approve.setAttribute('aria-label', `Approve the comment by ${c.author}`)
        const remove = el('button', { type: 'button', className: 'danger', textContent: 'Remove' })
        remove.setAttribute('aria-label', `Remove the comment by ${c.author}`)
        approve.onclick = () => act('POST', `/api/v1/admin/comments/${c.id}/approve`, li)
        remove.onclick = () => act('DELETE', `/api/v1/admin/comments/${c.id}`, li)
        li.append(approve, ' ', remove)
        return li
      }),
    )
  }
  /** One decision: a labelled statement of reasons and a button per action. */
  const decision = (li, key, path, actions) => {
    const note = el('textarea', { id: `note-${key}`, rows: 2, maxLength: 4000 })
    const label = el('label', { htmlFor: note.id, textContent: 'Reasons (sent to those concerned)' })
    li.append(label, note)
    for (const [action, text, className] of actions) {
      const b = el('button', { type: 'button', textContent: text, className })
      b.dataset.action = action
      b.onclick = () => {
        if (!note.value.trim()) return say(message, 'Give the reasons first: they are sent with the decision.', 'error')
        act('POST', path, li, { action, note: note.value })
      }
      li.append(' ', b)
    }
  }
  const reports = async () => {
    const ol = $('report-list')
    let page
    try {
      page = await api('GET', '/api/v1/admin/reports')
    } catch (err) {
      return say(message, err.message, 'error')
    }
    ol.replaceChildren(
      ...page.reports.map((r) => {
        const li = el('li')
        li.dataset.report = r.id
        const cc = r.cloudcast
        li.append(el('p', {}), el('p', { className: 'description', textContent: r.reason }))
        li.firstChild.append(link(cc.url, cc.title), ` by ${cc.owner} · ${r.kind}${r.reporter ? ` from ${r.reporter}` : ''}`)
        if (r.kind === 'copyright') {
          li.append(el('p', { className: 'muted', textContent: `Notice by ${r.notifier_name} <${r.notifier_email}> for “${r.work}”${r.good_faith ? ', in good faith' : ''}` }))
        }
        if (cc.repeat_infringer) {
          li.append(el('p', { className: 'badge repeat-infringer', textContent: `Repeat infringer: ${cc.owner_strikes} cloudcasts taken down for copyright` }))
          // The flag proposes a suspension of the owner's account.
          li.append(decisionForm(cc.owner, { suggested: 'suspend', message }))
        }
        decision(li, r.id, `/api/v1/admin/reports/${r.id}/decision`, [
          ['take_down', 'Take down', 'danger'],
          ['dismiss', 'Dismiss', ''],
        ])
        return li
      }),
    )
  }
  const counterNotices = async () => {
    const ol = $('counter-notice-list')
    let page
    try {
      page = await api('GET', '/api/v1/admin/counter-notices')
    } catch (err) {
      return say(message, err.message, 'error')
    }
    ol.replaceChildren(
      ...page.counter_notices.map((n) => {
        const li = el('li')
        li.dataset.counterNotice = n.id
        const cc = n.cloudcast
        li.append(el('p', {}))
        li.firstChild.append(link(cc.url, cc.title), ` by ${cc.owner}, taken down for: ${n.takedown_reason || ''}`)
        li.append(el('p', { className: 'description', textContent: `Their answer: ${n.statement}` }))
        decision(li, n.id, `/api/v1/admin/counter-notices/${n.id}/decision`, [
          ['reinstate', 'Reinstate', ''],
          ['reject', 'Reject', 'danger'],
        ])
        return li
      }),
    )
  }
  load()
  reports()
  counterNotices()
  accountQueues(message)
}

// My notifications: read one by opening it or with its button, or all.
function notificationsPage(main) {
  const read = async (id) => {
    const done = await api('POST', `/api/v1/me/notifications/${id}/read`)
    const item = main.querySelector(`[data-notification="${id}"]`)
    if (item) {
      item.classList.remove('unread')
      item.querySelector('[data-mark-read]')?.remove()
    }
    showUnread(done.unread)
  }
  main.addEventListener('click', (e) => {
    const mark = e.target.closest('[data-mark-read]')
    if (mark) read(mark.dataset.markRead).catch(() => {})
    const open = e.target.closest('a[data-read]')
    if (open && open.closest('.unread')) read(open.dataset.read).catch(() => {})
  })
  const all = $('read-all')
  if (all) {
    all.addEventListener('click', async () => {
      try {
        await api('POST', '/api/v1/me/notifications/read')
      } catch (err) {
        return say($('notifications-message'), err.message)
      }
      for (const item of main.querySelectorAll('.notification.unread')) {
        item.classList.remove('unread')
        item.querySelector('[data-mark-read]')?.remove()
      }
      all.disabled = true
      showUnread(0)
      say($('notifications-message'), 'All read.')
    })
  }
}

const PAGES = {
  cloudcast: cloudcastPage,
  profile: profilePage,
  playlist: playlistPage,
  'sign-up': signUpPage,
  'sign-in': signInPage,
  'reset-password': resetPage,
  upload: mixesPage,
  moderation: moderationPage,
  notifications: notificationsPage,
  terms: termsPage,
  contact: contactPage,
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount)
else mount()

// Settings and privacy (signed-in users): the profile (profile_editor.js),
// consents with their history, the people I blocked,
// open-API keys, the data export and account deletion, over the same API
// third-party clients use.
//
// window.cloudcastSettings mirrors the page's state for tests and scripts.

import { createPasskey, passkeyProof, passkeysHere } from './passkey.js'
import { profileEditor } from './profile_editor.js'
import { say } from './ui.js'
import { api, authHeaders, errorMessage, forget, loadToken, signIn } from './session.js'

const $ = (id) => document.getElementById(id)
const status = (window.cloudcastSettings = { state: 'starting', error: null, exported: null })

function setState(state, error) {
  status.state = state
  status.error = error || null
  document.body.dataset.state = state
}

const when = (t) => (t ? new Date(t).toLocaleString('en-GB') : '–')

function cell(text) {
  const td = document.createElement('td')
  td.textContent = text
  return td
}

function showSignIn(message) {
  forget()
  $('settings-section').hidden = true
  $('signin-section').hidden = false
  $('signin-error').textContent = message || ''
  setState('signed-out')
}

async function loadConsents() {
  const c = await api('GET', '/api/v1/me/consents')
  $('third-party').checked = c.third_party_contact
  $('ads').checked = c.personalised_ads
  const rows = c.history
    .slice()
    .reverse()
    .map((e) => {
      const tr = document.createElement('tr')
      tr.append(
        cell(when(e.at)),
        cell(e.kind === 'personalised_ads' ? 'Personalised ads' : 'Contact by partners'),
        cell(e.granted ? 'yes' : 'no'),
        cell(e.source === 'signup' ? 'default at sign-up' : e.source === 'policy' ? `the site: ${e.reason || ''}` : 'you'),
      )
      return tr
    })
  $('consent-history').replaceChildren(...rows)
}

const ACTIONS = {
  suspend: 'Account suspended',
  no_uploads: 'No uploads',
  no_comments: 'No comments',
  erase_minor: 'Account to be erased (under 13)',
}

function decisionItem(d) {
  const li = document.createElement('li')
  li.className = 'decision'
  li.dataset.id = d.id
  const head = document.createElement('p')
  const until = d.erase_after ? `erased after ${when(d.erase_after)}` : d.until ? `until ${when(d.until)}` : 'for good'
  head.append(Object.assign(document.createElement('strong'), { textContent: ACTIONS[d.action] || d.action }), ` (${until}; ${d.state.replace('_', ' ')}), decided ${when(d.created_at)}`)
  const reasons = Object.assign(document.createElement('p'), { textContent: d.reasons, className: 'reasons' })
  li.append(head, reasons)
  if (d.appeal) {
    const a = d.appeal
    const said = a.status === 'open' ? 'Your appeal is waiting for a moderator.' : `Your appeal was ${a.status}${a.answer ? `: ${a.answer}` : '.'}`
    li.append(Object.assign(document.createElement('p'), { className: 'appeal-status', textContent: said }))
  }
  if (d.state === 'in_force' && (!d.appeal || d.appeal.status !== 'open')) {
    const form = document.createElement('form')
    form.className = 'stack appeal-form'
    const id = `appeal-${d.id}`
    const label = Object.assign(document.createElement('label'), { htmlFor: id, textContent: 'Why this decision is wrong' })
    const text = Object.assign(document.createElement('textarea'), { id, rows: 3, maxLength: 4000, required: true })
    const send = Object.assign(document.createElement('button'), { type: 'submit', textContent: 'Appeal' })
    form.append(label, text, send)
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      try {
        await api('POST', `/api/v1/me/decisions/${d.id}/appeal`, { statement: text.value })
        $('standing-status').textContent = 'Your appeal is in the moderators\' queue.'
        await loadDecisions()
      } catch (err) {
        $('standing-status').textContent = err.message
      }
    })
    li.append(form)
  }
  return li
}

async function loadDecisions() {
  const decisions = await api('GET', '/api/v1/me/decisions')
  $('standing').hidden = decisions.length === 0
  $('decisions').replaceChildren(...decisions.map(decisionItem))
}

async function loadPreferences() {
  const p = await api('GET', '/api/v1/me/preferences')
  $('activity-private').checked = p.activity_private
  $('security-contact').value = p.security_contact || ''
  $('profile-comments').checked = p.profile_comments
  $('profile-comments').disabled = !p.profile_comments_available
  $('profile-comments-minor').hidden = p.profile_comments_available
}

async function savePreferences(event) {
  event.preventDefault()
  $('preferences-saved').textContent = ''
  $('preferences-error').textContent = ''
  try {
    await api('PUT', '/api/v1/me/preferences', {
      activity_private: $('activity-private').checked,
      security_contact: $('security-contact').value,
      ...($('profile-comments').disabled ? {} : { profile_comments: $('profile-comments').checked }),
    })
    await loadPreferences()
    $('preferences-saved').textContent = 'Saved.'
  } catch (err) {
    $('preferences-error').textContent = err.message
  }
}

// Two-step sign-in: enrol an authenticator app (its QR code, then a first
// code turns it on and shows the recovery codes once), or turn it off.
async function loadSecondFactor() {
  const f = await api('GET', '/api/v1/me/second-factor')
  status.secondFactor = f.totp
  $('sf-state').textContent = f.totp
    ? `On: signing in asks for a code from your authenticator app. ${f.recovery_codes_left} recovery code(s) left.`
    : f.passkeys > 0
      ? `No authenticator app; your passkeys guard your sign-in. ${f.recovery_codes_left} recovery code(s) left.`
      : 'Off: signing in asks for your password alone. An authenticator app adds a code, so a stolen password is not enough.'
  $('sf-begin-form').hidden = f.totp
  $('sf-remove-form').hidden = !f.totp
  $('sf-new-codes-form').hidden = !(f.totp || f.passkeys > 0)
  for (const el of document.querySelectorAll('.sf-needed')) el.hidden = !f.totp
}

async function loadPasskeys() {
  const keys = await api('GET', '/api/v1/me/passkeys')
  status.passkeys = keys.length
  const items = keys.map((k) => {
    const li = document.createElement('li')
    li.dataset.passkey = k.id
    const name = document.createElement('strong')
    name.textContent = k.name
    const when_ = document.createElement('span')
    when_.className = 'muted'
    when_.textContent = ` added ${when(k.created_at)}; last used ${when(k.last_used_at)} `
    const remove = document.createElement('button')
    remove.type = 'button'
    remove.className = 'secondary'
    remove.textContent = 'Remove'
    remove.addEventListener('click', async () => {
      if (!$('pk-password').value) {
        say($('pk-message'), 'Enter your password above first, to remove a passkey.', 'error')
        return
      }
      try {
        await api('DELETE', `/api/v1/me/passkeys/${k.id}`, { password: $('pk-password').value, ...(await codeOf('pk-code')) })
        $('pk-password').value = ''
        await loadPasskeys()
        say($('pk-message'), `Removed ${k.name}.`, 'ok')
      } catch (err) {
        say($('pk-message'), err.message, 'error')
      }
    })
    li.append(name, when_, remove)
    return li
  })
  $('pk-list').replaceChildren(...items)
}

async function addPasskey(event) {
  await formAction(
    event,
    'pk-message',
    async () => {
      const { ceremony, options } = await api('POST', '/api/v1/me/passkeys/registration', {
        password: $('pk-password').value,
        ...(await codeOf('pk-code')),
      })
      const credential = await createPasskey(options)
      const added = await api('POST', '/api/v1/me/passkeys', { ceremony, name: $('pk-name').value, credential })
      $('pk-password').value = ''
      $('pk-name').value = ''
      if (added.recovery_codes.length) {
        $('pk-code-list').replaceChildren(...added.recovery_codes.map((c) => Object.assign(document.createElement('li'), { textContent: c })))
        $('pk-codes').hidden = false
      }
      await loadPasskeys()
    },
    'Passkey added: use it on the sign-in page.',
  )
}

/** The code field's value when the account asks for one. */
/**
 * What an action that asks for the person again sends besides the
 * password: the code field's value with an authenticator app, else with a
 * passkey a one-time code the passkey gives (the browser asks for it).
 */
async function codeOf(id) {
  if (status.secondFactor) return { code: $(id).value.trim() }
  if (status.passkeys > 0) return { code: await passkeyProof() }
  return {}
}

async function newRecoveryCodes(event) {
  await formAction(
    event,
    'sf-message',
    async () => {
      const r = await api('POST', '/api/v1/me/second-factor/recovery-codes', {
        password: $('sf-new-codes-password').value,
        ...(await codeOf('sf-new-codes-code')),
      })
      $('sf-new-codes-password').value = ''
      $('sf-code-list').replaceChildren(...r.recovery_codes.map((c) => Object.assign(document.createElement('li'), { textContent: c })))
      $('sf-codes').hidden = false
      await loadSecondFactor()
    },
    'New recovery codes made; the old ones no longer work.',
  )
}

async function beginSecondFactor(event) {
  await formAction(
    event,
    'sf-message',
    async () => {
      const e = await api('POST', '/api/v1/me/second-factor/totp', { password: $('sf-password').value, ...(await codeOf()) })
      $('sf-password').value = ''
      $('sf-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qr_svg)}`
      $('sf-secret').textContent = e.secret
      $('sf-enrol').hidden = false
      $('sf-first-code').focus()
    },
    '',
  )
}

async function confirmSecondFactor(event) {
  await formAction(
    event,
    'sf-message',
    async () => {
      const r = await api('POST', '/api/v1/me/second-factor/totp/confirm', { code: $('sf-first-code').value.trim() })
      $('sf-first-code').value = ''
      $('sf-enrol').hidden = true
      $('sf-code-list').replaceChildren(...r.recovery_codes.map((c) => Object.assign(document.createElement('li'), { textContent: c })))
      $('sf-codes').hidden = false
      await loadSecondFactor()
    },
    'Two-step sign-in is on.',
  )
}

async function removeSecondFactor(event) {
  await formAction(
    event,
    'sf-message',
    async () => {
      await api('DELETE', '/api/v1/me/second-factor/totp', { password: $('sf-remove-password').value, code: $('sf-remove-code').value.trim() })
      $('sf-remove-password').value = ''
      $('sf-remove-code').value = ''
      $('sf-codes').hidden = true
      await loadSecondFactor()
    },
    'Two-step sign-in is off.',
  )
}

// Apple's top-level categories, as the API takes them.
const CATEGORIES = ['Arts', 'Business', 'Comedy', 'Education', 'Fiction', 'Government', 'History', 'Health & Fitness', 'Kids & Family', 'Leisure', 'Music', 'News', 'Religion & Spirituality', 'Science', 'Society & Culture', 'Sports', 'Technology', 'True Crime', 'TV & Film']

async function loadPodcast() {
  const f = await api('GET', '/api/v1/me/podcast')
  $('podcast-feed-url').value = f.url
  $('podcast-items').textContent = `${f.items} ${f.items === 1 ? 'mix' : 'mixes'} in it now.`
  $('podcast-enabled').checked = f.enabled
  $('podcast-explicit').checked = f.explicit
  $('podcast-contact').value = f.contact_email || ''
  const select = $('podcast-category')
  select.replaceChildren(...CATEGORIES.map((c) => Object.assign(document.createElement('option'), { value: c, textContent: c, selected: c === f.category })))
}

async function savePodcast(event) {
  event.preventDefault()
  $('podcast-saved').textContent = ''
  $('podcast-error').textContent = ''
  try {
    await api('PUT', '/api/v1/me/podcast', {
      enabled: $('podcast-enabled').checked,
      category: $('podcast-category').value,
      explicit: $('podcast-explicit').checked,
      contact_email: $('podcast-contact').value.trim() || null,
    })
    await loadPodcast()
    $('podcast-saved').textContent = 'Saved.'
  } catch (err) {
    $('podcast-error').textContent = err.message
  }
}

// How each kind of notification reaches me (the API names the choices).
const DELIVERY = {
  in_app: 'On the site only',
  mail: 'Mail at once',
  daily: 'Daily digest',
  weekly: 'Weekly digest',
  off: 'Off',
}

async function loadNotificationSettings() {
  const s = await api('GET', '/api/v1/me/notification-settings')
  const rows = s.kinds.map((k) => {
    const tr = document.createElement('tr')
    const select = document.createElement('select')
    select.id = `notify-${k.kind}`
    select.name = k.kind
    select.disabled = k.choices.length < 2
    for (const c of k.choices) {
      const o = document.createElement('option')
      o.value = c
      o.textContent = DELIVERY[c] || c
      o.selected = c === k.delivery
      select.append(o)
    }
    const label = document.createElement('label')
    label.htmlFor = select.id
    label.textContent = k.label
    const what = document.createElement('td')
    what.append(label)
    const how = document.createElement('td')
    how.append(select)
    tr.append(what, how)
    return tr
  })
  $('notification-settings').replaceChildren(...rows)
}

async function saveNotificationSettings(event) {
  event.preventDefault()
  $('notification-settings-saved').textContent = ''
  $('notification-settings-error').textContent = ''
  const change = {}
  for (const select of $('notification-settings').querySelectorAll('select:not(:disabled)')) {
    change[select.name] = select.value
  }
  try {
    await api('PUT', '/api/v1/me/notification-settings', change)
    await loadNotificationSettings()
    $('notification-settings-saved').textContent = 'Saved.'
  } catch (err) {
    $('notification-settings-error').textContent = err.message
  }
}

async function loadKeys() {
  const keys = await api('GET', '/api/v1/me/api-keys')
  const rows = keys.map((k) => {
    const tr = document.createElement('tr')
    const revoke = document.createElement('button')
    revoke.type = 'button'
    revoke.className = 'secondary'
    revoke.textContent = 'Revoke'
    revoke.addEventListener('click', async () => {
      try {
        await api('DELETE', `/api/v1/me/api-keys/${k.id}`)
        await loadKeys()
      } catch (err) {
        $('key-error').textContent = err.message
      }
    })
    const action = document.createElement('td')
    action.append(revoke)
    tr.append(cell(k.name), cell(`${k.prefix}…`), cell(when(k.created_at)), cell(when(k.last_used_at)), action)
    return tr
  })
  $('keys').replaceChildren(...rows)
}

async function loadConnectedApps() {
  const apps = await api('GET', '/api/v1/me/connected-apps')
  const items = apps.map((a) => {
    const li = document.createElement('li')
    li.dataset.clientId = a.client_id
    const name = document.createElement('strong')
    name.textContent = a.name
    const can = document.createElement('ul')
    can.replaceChildren(...a.scopes.map((s) => Object.assign(document.createElement('li'), { textContent: s.words })))
    const since = document.createElement('p')
    since.className = 'muted'
    since.textContent = `Connected ${when(a.connected_at)}; last used ${when(a.last_used_at)}`
    const off = document.createElement('button')
    off.type = 'button'
    off.className = 'secondary'
    off.textContent = 'Disconnect'
    off.addEventListener('click', async () => {
      try {
        await api('DELETE', `/api/v1/me/connected-apps/${a.id}`)
        await loadConnectedApps()
      } catch (err) {
        $('apps-error').textContent = err.message
      }
    })
    li.append(name, can, since, off)
    return li
  })
  $('apps-list').replaceChildren(...items)
  $('apps-none').hidden = items.length > 0
}

async function loadBlocks() {
  const blocks = await api('GET', '/api/v1/me/blocks')
  const items = blocks.map((b) => {
    const li = document.createElement('li')
    const link = document.createElement('a')
    link.href = `/${encodeURIComponent(b.username)}`
    link.textContent = b.username
    const unblock = document.createElement('button')
    unblock.type = 'button'
    unblock.className = 'secondary'
    unblock.textContent = 'Unblock'
    unblock.setAttribute('aria-label', `Unblock ${b.username}`)
    unblock.addEventListener('click', async () => {
      try {
        await api('DELETE', `/api/v1/me/blocks/${encodeURIComponent(b.username)}`)
        await loadBlocks()
      } catch (err) {
        $('blocks-error').textContent = err.message
      }
    })
    li.append(link, ` since ${when(b.blocked_at)} `, unblock)
    return li
  })
  $('blocks').replaceChildren(...items)
  $('blocks-none').hidden = items.length > 0
}

/** Bytes as people read them. */
function size(n) {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

async function loadAccount() {
  const me = await api('GET', '/api/v1/me')
  $('unverified').hidden = me.email_verified
  const q = me.quota
  if (!q) return
  const row = (name, used, limit) => {
    const tr = document.createElement('tr')
    tr.append(cell(name), cell(used), cell(limit))
    tr.children[1].className = 'num'
    tr.children[2].className = 'num'
    return tr
  }
  $('quota').replaceChildren(
    row('Unfinished uploads', String(q.used.open_uploads), String(q.limits.open_uploads)),
    row('Space (uploads and their media)', size(q.used.storage_bytes), size(q.limits.storage_bytes)),
    row('Uploaded today (UTC)', size(q.used.daily_upload_bytes), size(q.limits.daily_upload_bytes)),
  )
}

async function resendVerification() {
  const status = $('verification-status')
  try {
    const sent = await api('POST', '/api/v1/me/verification')
    status.textContent = `A new link is on its way to ${sent.sent_to}.`
    status.dataset.kind = 'ok'
  } catch (err) {
    status.textContent = err.message
    status.dataset.kind = 'error'
  }
}

async function signedIn(login) {
  $('signin-section').hidden = true
  $('settings-section').hidden = false
  $('whoami').textContent = login || ''
  // A suspended account, or one asked to accept new terms, may read only
  // some of these: the rest answer 403 and their cards stay empty.
  const results = await Promise.allSettled([
    loadDecisions(),
    loadAccount(),
    loadConsents(),
    loadPreferences(),
    loadPodcast(),
    loadSecondFactor(),
    loadPasskeys(),
    loadBlocks(),
    loadNotificationSettings(),
    loadKeys(),
    loadConnectedApps(),
    profileEditor(login),
  ])
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason)
  if (failed.some((e) => e.status === 401)) return showSignIn('Your session has ended; sign in again.')
  const real = failed.filter((e) => !['account_suspended', 'terms_not_accepted'].includes(e.code))
  if (real.length) setState('error', real[0].message)
  else setState('ready')
}

async function saveConsents(event) {
  event.preventDefault()
  $('consents-saved').textContent = ''
  $('consents-error').textContent = ''
  try {
    await api('PUT', '/api/v1/me/consents', {
      third_party_contact: $('third-party').checked,
      personalised_ads: $('ads').checked,
    })
    await loadConsents()
    $('consents-saved').textContent = 'Saved.'
  } catch (err) {
    $('consents-error').textContent = err.message
  }
}

async function createKey(event) {
  event.preventDefault()
  $('key-error').textContent = ''
  try {
    const created = await api('POST', '/api/v1/me/api-keys', { name: $('key-name').value })
    $('new-key-value').textContent = created.key
    $('new-key').hidden = false
    $('key-name').value = ''
    await loadKeys()
  } catch (err) {
    $('key-error').textContent = err.message
  }
}

/** Saves a response body as a file through a temporary link. */
async function save(res) {
  const blob = await res.blob()
  const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '')
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name ? name[1] : 'cloudcast-export.zip'
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000)
  status.exported = blob.size
  $('export-status').textContent = `Downloaded (${(blob.size / 1024).toFixed(0)} KiB).`
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function exportData() {
  $('export-status').textContent = 'Preparing your data…'
  $('export-error').textContent = ''
  $('export').disabled = true
  try {
    const res = await fetch('/api/v1/me/export', { headers: authHeaders(), credentials: 'same-origin' })
    if (res.status === 200) return await save(res)
    if (res.status !== 202) throw new Error(errorMessage(await res.text(), `HTTP ${res.status}`))
    // Large: built in the background; poll until it is ready.
    let job = await res.json()
    $('export-status').textContent = 'Your data is large; it is being gathered. You can leave this page open.'
    while (job.status === 'building') {
      await sleep(2000)
      job = await api('GET', job.status_url)
    }
    if (job.status !== 'ready') throw new Error(job.error || 'the export failed')
    const file = await fetch(job.download_url, { headers: authHeaders(), credentials: 'same-origin' })
    if (!file.ok) throw new Error(`HTTP ${file.status}`)
    await save(file)
  } catch (err) {
    $('export-status').textContent = ''
    $('export-error').textContent = err.message
  } finally {
    $('export').disabled = false
  }
}

async function deleteAccount(event) {
  event.preventDefault()
  $('delete-error').textContent = ''
  if (!window.confirm('Delete your account and everything held about you? This cannot be undone.')) return
  try {
    const erased = await api('DELETE', '/api/v1/me', { password: $('delete-password').value, ...(await codeOf('delete-code')) })
    forget()
    $('settings-section').hidden = true
    $('deleted-section').hidden = false
    $('whoami').textContent = ''
    $('deleted-summary').textContent =
      `${erased.cloudcasts} cloudcast(s) and ${erased.objects_deleted} stored file(s) were deleted; listening statistics follow within seconds.`
    setState('deleted')
  } catch (err) {
    $('delete-error').textContent = err.message
  } finally {
    $('delete-password').value = ''
  }
}

/** Runs a form's request and says what came of it in `status`. */
async function formAction(event, status, run, done) {
  event.preventDefault()
  const el = $(status)
  el.textContent = ''
  delete el.dataset.kind
  try {
    await run()
    el.textContent = done
  } catch (err) {
    el.textContent = err.message
    el.dataset.kind = 'error'
  }
}

function changePassword(event) {
  return formAction(
    event,
    'password-status',
    async () => {
      await api('PUT', '/api/v1/me/password', { current_password: $('pw-current').value, new_password: $('pw-new').value, ...(await codeOf('pw-code')) })
      $('pw-current').value = ''
      $('pw-new').value = ''
    },
    'Your password is changed; other devices are signed out.',
  )
}

function changeEmail(event) {
  const email = $('em-new').value.trim()
  return formAction(
    event,
    'email-status',
    async () => {
      await api('PUT', '/api/v1/me/email', { email, password: $('em-password').value, ...(await codeOf('em-code')) })
      $('em-password').value = ''
    },
    `We sent a link to ${email}: open it to start using that address.`,
  )
}

async function submitSignIn(event) {
  event.preventDefault()
  const login = $('login').value.trim()
  try {
    await signIn(login, $('password').value)
    $('password').value = ''
    await signedIn(login)
  } catch (err) {
    $('signin-error').textContent = err.message
  }
}

function start() {
  $('signin-form').addEventListener('submit', submitSignIn)
  $('resend-verification').addEventListener('click', resendVerification)
  $('consents-form').addEventListener('submit', saveConsents)
  $('preferences-form').addEventListener('submit', savePreferences)
  $('podcast-form').addEventListener('submit', savePodcast)
  $('sf-begin-form').addEventListener('submit', beginSecondFactor)
  $('sf-confirm-form').addEventListener('submit', confirmSecondFactor)
  $('sf-remove-form').addEventListener('submit', removeSecondFactor)
  $('pk-form').addEventListener('submit', addPasskey)
  $('sf-new-codes-form').addEventListener('submit', newRecoveryCodes)
  if (!passkeysHere()) {
    $('pk-form').hidden = true
    $('pk-unsupported').hidden = false
  }
  $('notification-settings-form').addEventListener('submit', saveNotificationSettings)
  $('key-form').addEventListener('submit', createKey)
  $('export').addEventListener('click', exportData)
  $('delete-form').addEventListener('submit', deleteAccount)
  $('password-form').addEventListener('submit', changePassword)
  $('email-form').addEventListener('submit', changeEmail)
  const saved = loadToken()
  if (saved) signedIn(saved.login)
  else showSignIn()
}

start()

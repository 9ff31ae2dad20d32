// The developer page (signed in): the apps I registered, registering one
// (its secret shown once), a new secret, and deleting one, over the same
// API third-party clients use.
//
// window.cloudcastDevelopers mirrors the page's state for tests.

import { api, loadToken } from './session.js'
import { $, say } from './ui.js'

const status = (window.cloudcastDevelopers = { state: 'starting', created: null })

function line(label, value) {
  const p = document.createElement('p')
  const code = document.createElement('code')
  code.textContent = value
  p.append(`${label}: `, code)
  return p
}

async function loadApps() {
  const apps = await api('GET', '/api/v1/me/apps')
  const items = apps.map((a) => {
    const li = document.createElement('li')
    li.dataset.clientId = a.client_id
    const name = document.createElement('strong')
    name.textContent = a.name
    const kind = a.client_type === 'confidential' ? 'confidential (holds a secret)' : 'public (PKCE)'
    const people = document.createElement('p')
    people.className = 'muted'
    people.textContent = `${kind}; ${a.people} ${a.people === 1 ? 'person has' : 'people have'} allowed it`
    li.append(name, line('Client id', a.client_id), line('Redirect URIs', a.redirect_uris.join(' ')), people)
    if (a.client_type === 'confidential') {
      const rotate = document.createElement('button')
      rotate.type = 'button'
      rotate.className = 'secondary'
      rotate.textContent = 'New secret'
      rotate.addEventListener('click', async () => {
        try {
          const s = await api('POST', `/api/v1/me/apps/${a.id}/secret`)
          showCreated(a.client_id, s.client_secret)
        } catch (err) {
          say($('dev-message'), err.message, 'error')
        }
      })
      li.append(rotate)
    }
    const logoLabel = document.createElement('label')
    logoLabel.htmlFor = `logo-${a.id}`
    logoLabel.textContent = a.logo_url ? 'New logo' : 'Logo'
    const logo = document.createElement('input')
    logo.type = 'file'
    logo.id = `logo-${a.id}`
    logo.accept = 'image/png,image/jpeg,image/webp'
    logo.addEventListener('change', async () => {
      const file = logo.files[0]
      if (!file) return
      const res = await fetch(`/api/v1/me/apps/${a.id}/logo`, {
        method: 'PUT',
        headers: { 'Content-Type': file.type || 'application/octet-stream' },
        credentials: 'same-origin',
        body: file,
      })
      if (res.ok) await loadApps()
      else say($('dev-message'), (await res.json().catch(() => ({}))).error?.message || `HTTP ${res.status}`, 'error')
    })
    if (a.logo_url) {
      const img = document.createElement('img')
      img.src = a.logo_url
      img.alt = ''
      img.width = 48
      img.height = 48
      li.prepend(img)
    }
    li.append(logoLabel, logo)
    const del = document.createElement('button')
    del.type = 'button'
    del.className = 'secondary'
    del.textContent = 'Delete'
    del.addEventListener('click', async () => {
      if (!confirm(`Delete ${a.name}? Everyone who allowed it loses it at once.`)) return
      try {
        await api('DELETE', `/api/v1/me/apps/${a.id}`)
        await loadApps()
      } catch (err) {
        say($('dev-message'), err.message, 'error')
      }
    })
    li.append(' ', del)
    return li
  })
  $('dev-apps').replaceChildren(...items)
  $('dev-none').hidden = items.length > 0
}

function showCreated(clientId, secret) {
  $('dev-client-id').textContent = clientId
  $('dev-secret').textContent = secret || ''
  $('dev-secret-line').hidden = !secret
  $('dev-created').hidden = false
  // The secret stays on the page alone (no global a script could read).
  status.created = { client_id: clientId, confidential: !!secret }
}

async function register(event) {
  event.preventDefault()
  say($('dev-message'), '')
  try {
    const app = await api('POST', '/api/v1/me/apps', {
      name: $('dev-name').value,
      redirect_uris: $('dev-redirects').value.split('\n').map((s) => s.trim()).filter(Boolean),
      website: $('dev-website').value.trim() || null,
      confidential: $('dev-confidential').checked,
    })
    showCreated(app.client_id, app.client_secret)
    $('dev-form').reset()
    await loadApps()
    say($('dev-message'), `Registered ${app.name}.`, 'ok')
  } catch (err) {
    say($('dev-message'), err.message, 'error')
  }
}

async function start() {
  $('dev-form').addEventListener('submit', register)
  if (!loadToken() && !document.getElementById('nav-me')) {
    $('developers-signed-out').hidden = false
    status.state = 'signed-out'
    return
  }
  try {
    await loadApps()
    $('developers-section').hidden = false
    status.state = 'ready'
  } catch (err) {
    if (err.status === 401) {
      $('developers-signed-out').hidden = false
      status.state = 'signed-out'
    } else {
      say($('dev-message'), err.message, 'error')
      $('developers-section').hidden = false
      status.state = 'error'
    }
  }
}

start()

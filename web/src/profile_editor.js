// The profile card of the settings page: the public fields with a
// visibility each (PUT /api/v1/me/profile), and the picture, cropped to a
// square in the page (drag or arrow keys, and a zoom) before it is sent
// (PUT /api/v1/me/avatar; the server makes it again at its sizes).

import { api } from './session.js'

const $ = (id) => document.getElementById(id)
const FIELDS = ['real_name', 'bio', 'city', 'country', 'gender', 'birth_year', 'links']
const SIZE = 300

/** Every region code the browser can name, as `<option>`s sorted by name. */
function countries(select) {
  if (select.options.length > 1 || typeof Intl.DisplayNames !== 'function') return
  const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' })
  const found = []
  for (let a = 65; a <= 90; a++)
    for (let b = 65; b <= 90; b++) {
      const code = String.fromCharCode(a, b)
      const name = names.of(code)
      if (name && name !== code) found.push([name, code])
    }
  found.sort((x, y) => x[0].localeCompare(y[0]))
  for (const [name, code] of found) select.append(new Option(name, code))
}

/** The square crop: an image drawn to cover the canvas, moved and zoomed. */
class Crop {
  constructor(canvas, zoom) {
    this.canvas = canvas
    this.zoom = zoom
    this.img = null
    this.x = 0
    this.y = 0
    zoom.addEventListener('input', () => this.draw())
    let drag = null
    canvas.addEventListener('pointerdown', (e) => {
      if (!this.img) return
      drag = { x: e.clientX, y: e.clientY }
      canvas.setPointerCapture(e.pointerId)
    })
    canvas.addEventListener('pointermove', (e) => {
      if (!drag) return
      // The canvas is shown at half its pixels.
      const k = canvas.width / canvas.getBoundingClientRect().width
      this.x += (e.clientX - drag.x) * k
      this.y += (e.clientY - drag.y) * k
      drag = { x: e.clientX, y: e.clientY }
      this.draw()
    })
    canvas.addEventListener('pointerup', () => (drag = null))
    canvas.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: [-10, 0], ArrowRight: [10, 0], ArrowUp: [0, -10], ArrowDown: [0, 10] }[e.key]
      if (!step || !this.img) return
      e.preventDefault()
      this.x += step[0]
      this.y += step[1]
      this.draw()
    })
  }

  set(img) {
    this.img = img
    this.x = 0
    this.y = 0
    this.zoom.value = '1'
    this.zoom.disabled = false
    this.draw()
  }

  draw() {
    const ctx = this.canvas.getContext('2d')
    ctx.fillStyle = '#fff'
    ctx.fillRect(0, 0, SIZE, SIZE)
    if (!this.img) return
    const { width: w, height: h } = this.img
    const s = Math.max(SIZE / w, SIZE / h) * Number(this.zoom.value)
    // Keep the picture over the whole square.
    const maxX = (w * s - SIZE) / 2
    const maxY = (h * s - SIZE) / 2
    this.x = Math.max(-maxX, Math.min(maxX, this.x))
    this.y = Math.max(-maxY, Math.min(maxY, this.y))
    ctx.drawImage(this.img, (SIZE - w * s) / 2 + this.x, (SIZE - h * s) / 2 + this.y, w * s, h * s)
  }

  blob() {
    return new Promise((resolve) => this.canvas.toBlob(resolve, 'image/jpeg', 0.92))
  }
}

function image(src) {
  return new Promise((resolve, reject) => {
    const img = new Image()
    img.onload = () => resolve(img)
    img.onerror = () => reject(new Error('That picture could not be read.'))
    img.src = src
  })
}

function say(id, text, kind) {
  const el = $(id)
  el.textContent = text
  if (kind) el.dataset.kind = kind
  else delete el.dataset.kind
}

/** Fills the card from the API and wires its controls; `login` names the page. */
export async function profileEditor(login) {
  const form = $('profile-form')
  if (!form) return
  countries($('pf-country'))
  $('profile-link').href = `/${encodeURIComponent(login)}`
  const crop = new Crop($('avatar-preview'), $('avatar-zoom'))
  const p = await api('GET', '/api/v1/me/profile')
  for (const f of FIELDS) {
    const v = p[f]
    $(`pf-${f}`).value = v === null || v === undefined ? '' : f === 'links' ? v.join('\n') : String(v)
    $(`vis-${f}`).checked = p.visibility[f] === 'public'
  }
  $('vis-avatar').checked = p.visibility.avatar === 'public'
  if (p.avatar_url) image(`${p.avatar_url}?size=300`).then((img) => crop.img || crop.set(img), () => {})
  if (form.dataset.wired) return
  form.dataset.wired = 'true'

  $('avatar-file').addEventListener('change', async (e) => {
    const file = e.target.files[0]
    if (!file) return
    say('avatar-status', '')
    try {
      const url = URL.createObjectURL(file)
      crop.set(await image(url))
      URL.revokeObjectURL(url)
      $('avatar-save').disabled = false
    } catch (err) {
      say('avatar-status', err.message, 'error')
    }
  })
  $('avatar-save').addEventListener('click', async () => {
    $('avatar-save').disabled = true
    try {
      const res = await fetch('/api/v1/me/avatar', {
        method: 'PUT',
        headers: { 'Content-Type': 'image/jpeg' },
        credentials: 'same-origin',
        body: await crop.blob(),
      })
      if (!res.ok) throw new Error((await res.json().catch(() => null))?.error?.message || `HTTP ${res.status}`)
      say('avatar-status', $('vis-avatar').checked ? 'Saved.' : 'Saved. Tick “Picture public” and save the profile to show it.', 'ok')
    } catch (err) {
      say('avatar-status', err.message, 'error')
      $('avatar-save').disabled = false
    }
  })
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const text = (f) => $(`pf-${f}`).value.trim() || null
    const visibility = {}
    for (const f of [...FIELDS, 'avatar']) if ($(`vis-${f}`).checked) visibility[f] = 'public'
    const year = $('pf-birth_year').value
    const links = $('pf-links').value.split('\n').map((l) => l.trim()).filter(Boolean)
    try {
      await api('PUT', '/api/v1/me/profile', {
        real_name: text('real_name'),
        bio: text('bio'),
        city: text('city'),
        country: text('country'),
        gender: text('gender'),
        birth_year: year ? Number(year) : null,
        links: links.length ? links : null,
        visibility,
      })
      say('profile-status', 'Saved.', 'ok')
    } catch (err) {
      say('profile-status', err.message, 'error')
    }
  })
}

// Cloudcast analytics dashboard (admins): plays over time, retention,
// referrers, browsers and top cloudcasts for a date range, from
// /api/v1/analytics/overview, plus Arrow/Parquet downloads of the datasets.
//
// Charts are drawn on a canvas by hand: two simple charts do not justify a
// charting library many times the size of this page.
//
// window.cloudcastDashboard mirrors the page's state for tests and scripts.

import { TOKEN_KEY, api, authHeaders, errorMessage, loadToken, signIn as signInWith } from './session.js'

const $ = (id) => document.getElementById(id)
const status = (window.cloudcastDashboard = { state: 'starting', error: null, data: null })

function setState(state, error) {
  status.state = state
  status.error = error || null
  document.body.dataset.state = state
}

const isoDay = (d) => d.toISOString().slice(0, 10)

function defaultRange() {
  const to = new Date()
  const from = new Date(to.getTime() - 29 * 86_400_000)
  return { from: isoDay(from), to: isoDay(to) }
}

const fmt = (n) => Number(n).toLocaleString('en')
const hours = (secs) => (secs / 3600).toFixed(1)

/** Sizes the canvas to its CSS box at the device pixel ratio. */
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1
  const w = canvas.clientWidth || 400
  const h = canvas.clientHeight || 220
  canvas.width = Math.round(w * ratio)
  canvas.height = Math.round(h * ratio)
  const ctx = canvas.getContext('2d')
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
  ctx.clearRect(0, 0, w, h)
  return { ctx, w, h }
}

/** Bars (`kind: 'bar'`) or a line of `points` [{label, value}] with a y axis. */
function chart(canvas, points, kind) {
  const { ctx, w, h } = prepare(canvas)
  const pad = { l: 44, r: 8, t: 10, b: 22 }
  const max = Math.max(1, ...points.map((p) => p.value))
  const x0 = pad.l
  const plotW = w - pad.l - pad.r
  const plotH = h - pad.t - pad.b
  const y = (v) => pad.t + plotH - (v / max) * plotH
  ctx.font = '11px system-ui, sans-serif'
  ctx.fillStyle = '#5f6878'
  ctx.strokeStyle = '#d9dde5'
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac)
    ctx.beginPath()
    ctx.moveTo(x0, y(v))
    ctx.lineTo(w - pad.r, y(v))
    ctx.stroke()
    ctx.fillText(String(v), 4, y(v) + 4)
  }
  if (points.length === 0) {
    ctx.fillText('No data for this range', x0 + 8, pad.t + plotH / 2)
    return
  }
  const step = plotW / points.length
  ctx.fillStyle = '#3b5bdb'
  ctx.strokeStyle = '#3b5bdb'
  ctx.lineWidth = 2
  if (kind === 'bar') {
    points.forEach((p, i) => {
      const bw = Math.max(1, step * 0.7)
      ctx.fillRect(x0 + i * step + (step - bw) / 2, y(p.value), bw, pad.t + plotH - y(p.value))
    })
  } else {
    ctx.beginPath()
    points.forEach((p, i) => {
      const px = x0 + i * step + step / 2
      if (i === 0) ctx.moveTo(px, y(p.value))
      else ctx.lineTo(px, y(p.value))
    })
    ctx.stroke()
  }
  ctx.fillStyle = '#5f6878'
  const first = points[0].label
  const last = points[points.length - 1].label
  ctx.fillText(first, x0, h - 6)
  if (points.length > 1) ctx.fillText(last, w - pad.r - ctx.measureText(last).width, h - 6)
}

/** Fills a table body; `cells(row)` gives [text, className] pairs. */
function rows(tbody, items, cells) {
  tbody.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement('tr')
      for (const [value, cls] of cells(item)) {
        const td = document.createElement('td')
        if (cls) td.className = cls
        if (value instanceof Node) td.append(value)
        else td.textContent = value
        tr.append(td)
      }
      return tr
    }),
  )
}

function bar(value, max) {
  const span = document.createElement('span')
  span.style.width = `${Math.round((100 * value) / Math.max(1, max))}%`
  return span
}

function render(data) {
  $('total-plays').textContent = fmt(data.plays)
  $('total-listeners').textContent = fmt(data.listeners)
  $('total-hours').textContent = hours(data.listened_seconds)
  chart($('chart-plays'), data.by_day.map((d) => ({ label: d.day, value: d.plays })), 'bar')
  chart($('chart-retention'), data.retention.map((r) => ({ label: `${Math.round(r.position_s / 60)} min`, value: r.listeners })), 'line')
  const top = data.top_cloudcasts
  $('retention-title').textContent = top.length ? `(${top[0].title || top[0].cloudcast_id})` : ''
  rows($('top'), top, (t) => [
    [t.title || t.cloudcast_id],
    [fmt(t.plays), 'num'],
    [fmt(t.listeners), 'num'],
    [hours(t.listened_seconds), 'num'],
  ])
  const maxRef = Math.max(0, ...data.referrers.map((r) => r.listeners))
  rows($('referrers'), data.referrers, (r) => [
    [r.domain || '(direct)'],
    [fmt(r.listeners), 'num'],
    [bar(r.listeners, maxRef), 'bar'],
  ])
  const maxBrowser = Math.max(0, ...data.browsers.map((b) => b.listeners))
  rows($('browsers'), data.browsers, (b) => [
    [b.browser || '(unknown)'],
    [fmt(b.listeners), 'num'],
    [bar(b.listeners, maxBrowser), 'bar'],
  ])
}

function query() {
  return new URLSearchParams({ from: $('from').value, to: $('to').value }).toString()
}

async function load() {
  setState('loading')
  $('dash-error').textContent = ''
  try {
    const data = await api('GET', `/api/v1/analytics/overview?${query()}`)
    status.data = data
    render(data)
    setState('ready')
  } catch (err) {
    $('dash-error').textContent = err.message
    if (err.status === 401) return signedOut('Your session has ended; please sign in again.')
    setState('error', err.message)
  }
}

async function download(format) {
  const name = $('dataset').value
  $('dash-error').textContent = ''
  const res = await fetch(`/api/v1/analytics/datasets/${name}?${query()}&format=${format}`, { headers: authHeaders() })
  if (!res.ok) {
    $('dash-error').textContent = errorMessage(await res.text(), `download failed: HTTP ${res.status}`)
    return
  }
  const url = URL.createObjectURL(await res.blob())
  const a = document.createElement('a')
  a.href = url
  a.download = `${name}_${$('from').value}_${$('to').value}.${format}`
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

function signedOut(message) {
  localStorage.removeItem(TOKEN_KEY)
  $('signin-section').hidden = false
  $('dash-section').hidden = true
  $('signin-error').textContent = message || ''
  setState('signed-out')
}

async function signedIn(login) {
  $('signin-section').hidden = true
  $('dash-section').hidden = false
  $('whoami').textContent = login || ''
  await load()
}

async function signIn(event) {
  event.preventDefault()
  const login = $('login').value.trim()
  const password = $('password').value
  try {
    await signInWith(login, password)
    $('password').value = ''
    await signedIn(login)
  } catch (err) {
    $('signin-error').textContent = err.message
  }
}

function start() {
  const range = defaultRange()
  $('from').value = range.from
  $('to').value = range.to
  $('signin-form').addEventListener('submit', signIn)
  $('range-form').addEventListener('submit', (e) => {
    e.preventDefault()
    load()
  })
  $('download-arrow').addEventListener('click', () => download('arrow'))
  $('download-parquet').addEventListener('click', () => download('parquet'))
  const saved = loadToken()
  if (saved) signedIn(saved.login)
  else signedOut()
}

start()

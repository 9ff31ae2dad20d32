// The details of a mix, as its DJ fills them in: on the upload page while
// the file uploads (a draft, published when ready) and in "My mixes".
// One form, one set of parsing rules (timed tracklists, cue sheets,
// purchase links), sent as one PATCH and, with a cover, one PUT.

import { api, errorMessage } from './session.js'

const pad = (n) => String(n).padStart(2, '0')

function el(tag, props = {}) {
  return Object.assign(document.createElement(tag), props)
}

function field(form, id, label, input, hint) {
  input.id = id
  const l = el('label', { htmlFor: id, textContent: label })
  form.append(l, input)
  if (hint) form.append(el('p', { className: 'hint', textContent: hint }))
  return input
}

function check(form, id, label) {
  const p = el('p', { className: 'check' })
  const input = el('input', { type: 'checkbox', id })
  p.append(input, ' ', el('label', { htmlFor: id, textContent: label }))
  form.append(p)
  return input
}

/** A position as people write it: 4:05, 1:02:03. */
export function clock(ms) {
  const s = Math.floor(ms / 1000)
  return s >= 3600 ? `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}` : `${pad(Math.floor(s / 60))}:${pad(s % 60)}`
}

/** Tracklist as text: one `mm:ss Artist – Title` (or `h:mm:ss`) per line. */
export function tracksToText(tracks) {
  return tracks.map((t) => `${clock(t.start_ms)} ${t.artist} – ${t.title}`).join('\n')
}

/** A cue sheet's tracks (`TRACK`, `TITLE`, `PERFORMER`, `INDEX 01 mm:ss:ff`, 75 frames a second). */
export function cueToTracks(text) {
  const out = []
  let track = null
  const quoted = (s) => s.trim().replace(/^"(.*)"$/, '$1')
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    let m
    if ((m = line.match(/^TRACK\s+\d+/i))) {
      track = { start_ms: null, artist: '', title: '' }
      out.push(track)
    } else if (track && (m = line.match(/^TITLE\s+(.*)$/i))) track.title = quoted(m[1])
    else if (track && (m = line.match(/^PERFORMER\s+(.*)$/i))) track.artist = quoted(m[1])
    else if (track && (m = line.match(/^INDEX\s+01\s+(\d+):(\d{2}):(\d{2})$/i))) {
      track.start_ms = (Number(m[1]) * 60 + Number(m[2])) * 1000 + Math.round((Number(m[3]) * 1000) / 75)
    }
  }
  const bad = out.findIndex((t) => t.start_ms === null)
  if (bad >= 0) throw new Error(`Cue sheet track ${bad + 1} has no INDEX 01 time.`)
  return out
}

/** Tracks from timed lines (`00:00 Artist - Title`, `[1:02:03] Artist – Title`) or a cue sheet. */
export function textToTracks(text) {
  if (/^\s*TRACK\s+\d+/im.test(text)) return cueToTracks(text)
  const out = []
  for (const [n, line] of text.split('\n').entries()) {
    if (!line.trim()) continue
    const m = line.trim().match(/^\[?(?:(\d+):)?(\d{1,2}):(\d{2})\]?\s+(.*?)\s+[–—-]\s+(.*)$/)
    if (!m) throw new Error(`Tracklist line ${n + 1}: write it as "mm:ss Artist – Title", or paste a cue sheet.`)
    const s = Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3])
    out.push({ start_ms: s * 1000, artist: m[4], title: m[5] })
  }
  return out
}

/** Purchase links as text: one `Label | https://…` a line. */
export function linksToText(links) {
  return links.map((l) => `${l.label} | ${l.url}`).join('\n')
}

export function textToLinks(text) {
  const out = []
  for (const [n, line] of text.split('\n').entries()) {
    if (!line.trim()) continue
    const m = line.trim().match(/^(.*?)\s*\|?\s*(https?:\/\/\S+)$/)
    if (!m || !m[1]) throw new Error(`Purchase link line ${n + 1}: write it as "Label | https://…".`)
    out.push({ label: m[1].replace(/\s*\|$/, ''), url: m[2] })
  }
  return out
}

/**
 * Builds the details fields into `form` (emptied first) from `cc` (a
 * cloudcast as the API shows it, or `{}` for one not uploaded yet); returns
 * `{ values(), cover }`: the PATCH body as typed (throws naming a bad line)
 * and the cover file input. `withTitle: false` leaves the title to the
 * page (the upload form has its own).
 */
export function detailsForm(form, cc, prefix, { withTitle = true } = {}) {
  form.replaceChildren()
  const id = (name) => `${prefix}-${name}`
  const title = withTitle ? field(form, id('title'), 'Title', el('input', { type: 'text', maxLength: 200, value: cc.title || '' })) : null
  const description = field(form, id('description'), 'Description', el('textarea', { rows: 3, maxLength: 5000, value: cc.description || '' }))
  const tags = field(form, id('tags'), 'Tags (comma separated, up to 10)', el('input', { type: 'text', value: (cc.tags || []).join(', ') }))
  const tracklist = field(
    form,
    id('tracklist'),
    'Tracklist',
    el('textarea', { rows: 6, value: tracksToText(cc.tracklist || []), placeholder: '00:00 Artist – Title' }),
    'One "mm:ss Artist – Title" a line, or paste a cue sheet.',
  )
  const links = field(
    form,
    id('links'),
    'Where to buy the tracks',
    el('textarea', { rows: 2, value: linksToText(cc.purchase_links || []), placeholder: 'Bandcamp | https://…' }),
    'One "Label | https://…" a line.',
  )
  const cover = field(form, id('cover'), 'Cover picture (JPEG, PNG or WebP)', el('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp' }))
  const visibility = field(form, id('visibility'), 'Who can listen', el('select'))
  for (const [v, text] of [['public', 'Everyone (public)'], ['unlisted', 'Anyone with the link (unlisted)'], ['private', 'Only me (private)']]) {
    visibility.append(el('option', { value: v, textContent: text, selected: (cc.visibility || 'public') === v }))
  }
  const publishAt = field(form, id('publish-at'), 'Publish at (empty: as soon as it is published)', el('input', { type: 'datetime-local' }))
  if (cc.publish_at) {
    const d = new Date(cc.publish_at)
    publishAt.value = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
  }
  const downloads = field(
    form,
    id('downloads'),
    'Downloads and podcast apps',
    el('select'),
    'Offered, the mix has a download button on its page and goes into your podcast feed. Off, it is only streamed (as any stream, it can still be recorded); choose off when its tracks are licensed for streaming only.',
  )
  for (const [v, text] of [['off', 'Streaming only (no download)'], ['aac', 'Offer a download (AAC, .m4a)'], ['original', 'Offer the file I uploaded']]) {
    downloads.append(el('option', { value: v, textContent: text, selected: (cc.downloads || 'off') === v }))
  }
  const noComments = check(form, id('no-comments'), 'Turn comments off')
  noComments.checked = !!cc.disable_comments
  const hideStats = check(form, id('hide-stats'), 'Hide plays and counts from others')
  hideStats.checked = !!cc.hide_stats
  const values = () => {
    const v = {
      description: description.value,
      tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
      tracklist: textToTracks(tracklist.value),
      purchase_links: textToLinks(links.value),
      visibility: visibility.value,
      publish_at: publishAt.value ? new Date(publishAt.value).toISOString() : null,
      disable_comments: noComments.checked,
      hide_stats: hideStats.checked,
      downloads: downloads.value,
    }
    if (title && title.value.trim()) v.title = title.value.trim()
    return v
  }
  return { values, cover }
}

/** Sends the details (and the cover, when one was chosen); the cloudcast as saved. */
export async function saveDetails(id, values, coverFile) {
  const saved = await api('PATCH', `/api/v1/cloudcasts/${id}`, values)
  if (coverFile) {
    const res = await fetch(`/api/v1/cloudcasts/${id}/picture`, {
      method: 'PUT',
      headers: { 'Content-Type': coverFile.type },
      body: coverFile,
      credentials: 'same-origin',
    })
    if (!res.ok) throw new Error(errorMessage(await res.text(), `The cover was refused (HTTP ${res.status}).`))
  }
  return saved
}

/** Where a DJ's mix stands, in words (as `site/src/shown.rs::status_text`). */
export function statusText(cc) {
  let text
  if (cc.status === 'processing') text = `processing, ${Number.isFinite(cc.progress) ? cc.progress : 0}%`
  else if (cc.status === 'failed') text = `failed: ${cc.error || 'processing failed'}`
  else text = `${cc.status}, ${cc.visibility || 'public'}`
  return cc.draft ? `${text} · draft: only you see it until you publish it` : text
}

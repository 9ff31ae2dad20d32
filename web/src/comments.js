// The comments of a cloudcast page or a profile: posting (on a mix, at the
// moment playing, if asked), one level of replies, deleting (its author,
// the mix's DJ or the profile's owner, an administrator: the API decides),
// reporting with a reason, and playing from a comment's moment. The server
// renders the comments; new ones are built here in the same shape
// (site/templates/comment.html).

import { api } from './session.js'
import { $, el, link, say, signedIn } from './ui.js'

const REASONS = [
  ['spam', 'Spam or advertising'],
  ['harassment', 'Harassment or hate'],
  ['personal', 'Shares someone’s personal information'],
  ['other', 'Something else'],
]

function clock(ms) {
  const s = Math.floor(ms / 1000)
  const pad = (n) => String(n).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}` : `${Math.floor(s / 60)}:${pad(s % 60)}`
}

/** The body with `@username` mentions linked (as site/src/shown.rs::mentions). */
function bodyWithMentions(text) {
  const p = el('p', { className: 'comment-body' })
  const re = /(^|[^\p{L}\p{N}])@([A-Za-z0-9_.-]{3,30})/gu
  let last = 0
  for (const m of text.matchAll(re)) {
    const name = m[2].replace(/[.-]+$/, '')
    if (name.length < 3) continue
    const at = m.index + m[1].length
    p.append(text.slice(last, at), Object.assign(link(`/${name}`, `@${name}`), { className: 'mention' }))
    last = at + 1 + name.length
  }
  p.append(text.slice(last))
  return p
}

function button(text, data, value, label) {
  const b = el('button', { type: 'button', className: 'link', textContent: text })
  b.dataset[data] = value
  if (label) b.setAttribute('aria-label', label)
  return b
}

/** A comment the viewer just posted, in the server's shape. */
function item(c, { top }) {
  const li = el('li')
  li.dataset.comment = c.id
  const head = el('p', { className: 'comment-head' })
  head.append(link(`/${c.author}`, c.author), ' ', el('span', { className: 'muted', textContent: c.created_at.slice(0, 10) }))
  if (Number.isFinite(c.position_ms)) {
    const at = button(`at ${clock(c.position_ms)}`, 'seekMs', String(c.position_ms), `Play from ${clock(c.position_ms)}`)
    at.classList.add('at')
    head.append(' ', at)
  }
  if (c.status === 'held') head.append(' ', el('span', { className: 'badge', textContent: 'waiting for a moderator' }))
  const actions = el('p', { className: 'comment-actions' })
  if (top) actions.append(button('Reply', 'reply', c.id, `Reply to ${c.author}`), ' ')
  actions.append(button('Delete', 'deleteComment', c.id, `Delete the comment by ${c.author}`))
  li.append(head, bodyWithMentions(c.body), actions)
  if (top) li.append(el('ol', { className: 'replies' }))
  return li
}

/** A small form under `after`: a textarea or a reason, and Send. */
function inlineForm(after, { label, id, send, reasons }) {
  after.parentElement.querySelector(':scope > form.inline')?.remove()
  const form = el('form', { className: 'stack inline' })
  if (reasons) {
    const select = el('select', { id: `${id}-why` })
    for (const [v, t] of REASONS) select.append(el('option', { value: v, textContent: t }))
    form.append(el('label', { htmlFor: select.id, textContent: 'What is wrong with it?' }), select)
  }
  const text = el('textarea', { id, rows: 2, maxLength: reasons ? 450 : 2000, required: !reasons })
  form.append(el('label', { htmlFor: id, textContent: label }), text)
  const actions = el('p', { className: 'actions' })
  const cancel = el('button', { type: 'button', className: 'secondary', textContent: 'Cancel' })
  actions.append(el('button', { type: 'submit', textContent: send }), cancel)
  form.append(actions)
  cancel.addEventListener('click', () => form.remove())
  after.after(form)
  text.focus()
  return form
}

/**
 * Wires the comments posted to `path` (a cloudcast's or a profile's
 * `/comments`); on a mix `playAt(seconds)` plays it from there,
 * `position()` is where it plays now (or null when another mix plays).
 */
export function commentsSection(path, { playAt = () => {}, position = () => null, message }) {
  const list = $('comment-list')
  if (!list) return () => {}
  const article = list.closest('article') || list.closest('section')
  const post = async (body, extra) => signedIn(() => api('POST', path, { body, ...extra }), message)

  const form = $('comment-form')
  if (form) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const body = $('comment-body').value.trim()
      if (!body) return say(message, 'Write something first.', 'error')
      const at = $('comment-at')?.checked ? position() : null
      const c = await post(body, at === null ? {} : { position_ms: Math.floor(at * 1000) })
      if (!c) return
      $('comment-body').value = ''
      if ($('comment-at')) $('comment-at').checked = false
      list.append(item(c, { top: true }))
      say(message, c.status === 'visible' ? 'Comment posted.' : 'Thanks: your comment waits for a moderator.')
    })
  }

  // Any "play from here": a comment's moment, or its mark on the waveform.
  article.addEventListener('click', (e) => {
    const b = e.target.closest('[data-seek-ms]')
    if (b) playAt(Number(b.dataset.seekMs) / 1000)
  })

  list.addEventListener('click', async (e) => {
    const reply = e.target.closest('[data-reply]')
    const del = e.target.closest('[data-delete-comment]')
    const report = e.target.closest('[data-report]')
    if (reply) {
      const li = reply.closest('li[data-comment]')
      const f = inlineForm(reply.parentElement, { label: 'Your reply', id: `reply-${reply.dataset.reply}`, send: 'Post reply' })
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault()
        const body = f.querySelector('textarea').value.trim()
        if (!body) return
        const c = await post(body, { parent_id: reply.dataset.reply })
        if (!c) return
        f.remove()
        li.querySelector('ol.replies').append(item(c, { top: false }))
        say(message, c.status === 'visible' ? 'Reply posted.' : 'Thanks: your reply waits for a moderator.')
      })
    } else if (del) {
      if (!window.confirm('Delete this comment (and its replies)?')) return
      const done = await signedIn(() => api('DELETE', `/api/v1/comments/${del.dataset.deleteComment}`).then(() => true), message)
      if (!done) return
      del.closest('li[data-comment]').remove()
      $('comment-marks')?.querySelector(`[data-comment="${del.dataset.deleteComment}"]`)?.remove()
      say(message, 'Comment deleted.')
    } else if (report) {
      const f = inlineForm(report.parentElement, { label: 'Anything a moderator should know (optional)', id: `why-${report.dataset.report}`, send: 'Send report', reasons: true })
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault()
        const kind = f.querySelector('select')
        const details = f.querySelector('textarea').value.trim()
        const reason = `${kind.options[kind.selectedIndex].text}${details ? `: ${details}` : ''}`
        const done = await signedIn(() => api('POST', `/api/v1/comments/${report.dataset.report}/report`, { reason }).then(() => true), message)
        if (!done) return
        f.remove()
        report.disabled = true
        say(message, 'Reported: a moderator will look at it.')
      })
    }
  })

  // The box that pins a new comment to the moment playing says which.
  const atTime = $('comment-at-time')
  return (seconds) => {
    if (atTime) atTime.textContent = clock(seconds * 1000)
  }
}

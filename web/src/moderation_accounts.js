// The moderators' side of the contact page and of decisions on accounts:
// reports on accounts and feedback, privacy requests (a queue of their
// own), and appeals. A report on an account shows its public profile and
// declared birth date; a decision needs its statement of reasons.
import { $, el, link, say } from './ui.js'
import { api } from './session.js'

const TOPICS = {
  under_13: 'Suspected under 13',
  impersonation: 'Impersonation',
  harassment: 'Harassment',
  spam: 'Spam',
  other_abuse: 'Other abuse',
  withdraw_consent: 'Withdraw a consent',
  data_access: 'Access to my data',
  privacy_concern: 'Privacy concern',
  feedback: 'Feedback',
}

/**
 * A decision on `username`'s account: an action, for how long, and the
 * reasons. `caseId` links it to the case it answers (closed with it).
 */
export function decisionForm(username, { caseId, suggested = 'suspend', onDone, message }) {
  const form = el('form', { className: 'stack decision-form' })
  const key = caseId || username
  const action = el('select', { id: `action-${key}` })
  for (const [value, text] of [
    ['suspend', 'Suspend the account'],
    ['no_uploads', 'No uploads'],
    ['no_comments', 'No comments'],
    ['erase_minor', 'Confirmed under 13: suspend now, erase after the contest period'],
  ]) {
    action.append(el('option', { value, textContent: text, selected: value === suggested }))
  }
  const days = el('input', { id: `days-${key}`, type: 'number', min: 1, max: 365, placeholder: 'for good' })
  const reasons = el('textarea', { id: `reasons-${key}`, rows: 2, maxLength: 4000 })
  const submit = el('button', { type: 'submit', className: 'danger', textContent: 'Decide' })
  form.append(
    el('label', { htmlFor: action.id, textContent: `Decision on ${username}` }),
    action,
    el('label', { htmlFor: days.id, textContent: 'Days (empty: for good)' }),
    days,
    el('label', { htmlFor: reasons.id, textContent: 'Statement of reasons (mailed and shown to the person)' }),
    reasons,
    submit,
  )
  const sync = () => {
    days.disabled = action.value === 'erase_minor'
  }
  action.onchange = sync
  sync()
  form.onsubmit = async (e) => {
    e.preventDefault()
    if (!reasons.value.trim()) return say(message, 'Give the reasons first: they are sent with the decision.', 'error')
    const body = { action: action.value, reasons: reasons.value }
    if (days.value && !days.disabled) body.days = Number(days.value)
    if (caseId) body.case = caseId
    try {
      await api('POST', `/api/v1/admin/users/${encodeURIComponent(username)}/decisions`, body)
      say(message, `Decided: ${action.options[action.selectedIndex].textContent} (${username}).`)
      onDone?.()
    } catch (err) {
      say(message, err.message, 'error')
    }
  }
  return form
}

function answerForm(c, li, message) {
  const form = el('form', { className: 'stack' })
  const text = el('textarea', { id: `answer-${c.id}`, rows: 2, maxLength: 4000 })
  form.append(
    el('label', { htmlFor: text.id, textContent: 'Answer (sent to the sender), and close' }),
    text,
    el('button', { type: 'submit', textContent: 'Answer and close' }),
  )
  form.onsubmit = async (e) => {
    e.preventDefault()
    if (!text.value.trim()) return say(message, 'Write the answer first.', 'error')
    try {
      await api('POST', `/api/v1/admin/cases/${c.id}/answer`, { answer: text.value })
      li.remove()
    } catch (err) {
      say(message, err.message, 'error')
    }
  }
  return form
}

function caseItem(c, message) {
  const li = el('li')
  li.dataset.case = c.id
  li.dataset.topic = c.topic
  const from = c.reporter ? `from ${c.reporter}` : c.email ? `from ${c.name || 'someone'} <${c.email}>` : 'anonymous'
  li.append(el('p', { textContent: `${TOPICS[c.topic] || c.topic} · ${from} · ${new Date(c.created_at).toLocaleString('en-GB')}` }))
  li.append(el('p', { className: 'description', textContent: c.message }))
  const a = c.account
  if (a) {
    const p = el('p', { className: 'reported-account' })
    const bits = [`declared birth date ${a.birth_date}${a.is_minor ? ' (registered as 13-17)' : ''}`, `joined ${a.created_at.slice(0, 10)}`, `${a.cloudcasts} cloudcasts`]
    if (a.real_name) bits.push(a.real_name)
    if (a.city || a.country) bits.push([a.city, a.country].filter(Boolean).join(', '))
    if (a.suspended_until) bits.push(`suspended until ${a.suspended_until.slice(0, 10)}`)
    p.append('Account: ', link(a.url, a.username), ` · ${bits.join(' · ')}`)
    li.append(p)
    if (a.bio) li.append(el('p', { className: 'muted', textContent: `Bio: ${a.bio}` }))
    li.append(
      decisionForm(a.username, {
        caseId: c.id,
        suggested: c.topic === 'under_13' ? 'erase_minor' : 'suspend',
        message,
        onDone: () => li.remove(),
      }),
    )
  }
  li.append(answerForm(c, li, message))
  return li
}

async function cases(queue, listId, message) {
  let page
  try {
    page = await api('GET', `/api/v1/admin/cases?queue=${queue}`)
  } catch (err) {
    return say(message, err.message, 'error')
  }
  $(listId).replaceChildren(...page.cases.map((c) => caseItem(c, message)))
}

async function appeals(message) {
  let page
  try {
    page = await api('GET', '/api/v1/admin/appeals')
  } catch (err) {
    return say(message, err.message, 'error')
  }
  $('appeal-list').replaceChildren(
    ...page.appeals.map((a) => {
      const li = el('li')
      li.dataset.appeal = a.id
      const d = a.decision
      li.append(el('p', { textContent: `${d.username || 'an erased account'}: ${d.action}, decided ${d.created_at.slice(0, 10)} for: ${d.reasons}` }))
      li.append(el('p', { className: 'description', textContent: `Their appeal: ${a.statement}` }))
      const note = el('textarea', { id: `appeal-note-${a.id}`, rows: 2, maxLength: 4000 })
      li.append(el('label', { htmlFor: note.id, textContent: 'Reasons (mailed to them)' }), note)
      for (const [outcome, text, className] of [
        ['granted', 'Grant: lift the decision', ''],
        ['rejected', 'Reject: the decision stands', 'danger'],
      ]) {
        const b = el('button', { type: 'button', textContent: text, className })
        b.dataset.outcome = outcome
        b.onclick = async () => {
          if (!note.value.trim()) return say(message, 'Give the reasons first.', 'error')
          try {
            await api('POST', `/api/v1/admin/appeals/${a.id}/decision`, { outcome, note: note.value })
            li.remove()
          } catch (err) {
            say(message, err.message, 'error')
          }
        }
        li.append(' ', b)
      }
      return li
    }),
  )
}

/** The account queues of the moderation page. */
export function accountQueues(message) {
  cases('moderation', 'case-list', message)
  cases('privacy', 'privacy-list', message)
  appeals(message)
}

// The policy's channels on the page: the banner of a new privacy version
// (its showing recorded, OK dismisses it), accepting new terms, and the
// contact page's form (reports, privacy requests, feedback), which works
// signed out.
import { $, say } from './ui.js'
import { api } from './session.js'

/** The privacy banner: each showing is recorded; OK says it was read. */
export function wireBanners() {
  const banner = $('privacy-banner')
  if (!banner || banner.dataset.wired) return
  banner.dataset.wired = 'true'
  const version = banner.dataset.version
  api('POST', '/api/v1/me/policies/privacy/shown', { version }).catch(() => {})
  $('privacy-banner-ok')?.addEventListener('click', async () => {
    try {
      await api('POST', '/api/v1/me/policies/privacy/seen', { version })
      banner.remove()
    } catch (err) {
      banner.querySelector('.inner').append(` (${err.message})`)
    }
  })
}

/** `/terms` for someone asked to accept them. */
export function termsPage() {
  const button = $('terms-accept')
  if (!button) return
  button.addEventListener('click', async () => {
    button.disabled = true
    try {
      await api('POST', '/api/v1/me/policies/terms/accept', { version: button.dataset.version })
      $('terms-banner')?.remove()
      say($('terms-message'), 'Thank you: you accepted these terms.')
      document.body.dataset.termsAccepted = 'true'
    } catch (err) {
      button.disabled = false
      say($('terms-message'), err.message, 'error')
    }
  })
}

/** `/contact`: the Reports option, signed in or not. */
export function contactPage() {
  const form = $('contact-form')
  const status = $('contact-message-status')
  const accountField = $('contact-account-field')
  const reportTopics = new Set(['under_13', 'impersonation', 'harassment', 'spam', 'other_abuse'])
  const topic = () => form.querySelector('input[name=topic]:checked')?.value
  const sync = () => {
    accountField.hidden = !reportTopics.has(topic())
  }
  form.addEventListener('change', sync)
  sync()
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const chosen = topic()
    if (!chosen) return say(status, 'Please choose what it is about.', 'error')
    const body = { topic: chosen, message: $('contact-message').value.trim() }
    if (reportTopics.has(chosen)) body.account = $('contact-account').value.trim()
    const name = $('contact-name')?.value.trim()
    const email = $('contact-email')?.value.trim()
    if (name) body.name = name
    if (email) body.email = email
    $('contact-send').disabled = true
    try {
      const receipt = await api('POST', '/api/v1/contact', body)
      form.replaceWith(Object.assign(document.createElement('p'), {
        id: 'contact-done',
        textContent: receipt.next,
        role: 'status',
      }))
      document.body.dataset.contactCase = receipt.id
    } catch (err) {
      $('contact-send').disabled = false
      say(status, err.message, 'error')
    }
  })
}

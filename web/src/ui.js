// The small pieces every page script of the site uses: saying what
// happened, links, and actions that need an account.

export const $ = (id) => document.getElementById(id)

export function say(el, text, kind = 'info') {
  if (!el) return
  el.textContent = text
  el.dataset.kind = kind
}

export function link(href, text) {
  const a = document.createElement('a')
  a.href = href
  a.textContent = text
  return a
}

export function el(tag, props = {}) {
  return Object.assign(document.createElement(tag), props)
}

/** An action that needs an account: a 401 says how to get one, and both ways come back here. */
export async function signedIn(fn, messageEl) {
  try {
    return await fn()
  } catch (err) {
    if (err.status === 401) {
      const next = encodeURIComponent(location.pathname + location.search)
      messageEl.replaceChildren('Sign in to do that: ', link(`/sign-in?next=${next}`, 'sign in'), ' or ', link(`/sign-up?next=${next}`, 'sign up'), '.')
      messageEl.dataset.kind = 'error'
    } else say(messageEl, err.message, 'error')
    return undefined
  }
}

/** A page's Share button: it shows its link (selected, to copy) and embed code. */
export function wireShare() {
  const share = $('share')
  share?.addEventListener('click', () => {
    const box = $('share-box')
    box.hidden = !box.hidden
    share.setAttribute('aria-expanded', String(!box.hidden))
    if (!box.hidden) $('share-url').select()
  })
}

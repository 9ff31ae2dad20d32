// The signed-in session shared by the pages: signing in sets the HttpOnly
// session cookie, which every same-origin request (fetch, tus-js-client's
// XHR) carries, so no script ever holds the secret. localStorage keeps only
// who is signed in and until when, for every tab of the site to show it.

export const TOKEN_KEY = 'cloudcast.session'

/** Reads `{"error": {"message"}}` from a response body, else a fallback. */
export function errorMessage(body, fallback) {
  try {
    const parsed = typeof body === 'string' ? JSON.parse(body) : body
    if (parsed && parsed.error && parsed.error.message) return parsed.error.message
  } catch {
    // not JSON
  }
  return fallback
}

export function loadToken() {
  try {
    const saved = JSON.parse(localStorage.getItem(TOKEN_KEY) || 'null')
    if (!saved || !saved.login) return null
    if (saved.expires_at && Date.parse(saved.expires_at) <= Date.now()) {
      localStorage.removeItem(TOKEN_KEY)
      return null
    }
    return saved
  } catch {
    return null
  }
}

/** Extra headers for our API: none, the session cookie speaks for the user. */
export function authHeaders() {
  return {}
}

/** Remembers who signed in (not the token: the cookie holds that). */
export function remember(session, login) {
  localStorage.setItem(TOKEN_KEY, JSON.stringify({ login, expires_at: session.expires_at }))
}

/** fetch() against our API: JSON in, JSON out, `{error}` turned into an Error. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json', ...authHeaders() }
  const init = { method, headers, credentials: 'same-origin' }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const res = await fetch(path, init)
  const text = await res.text()
  if (!res.ok) {
    const err = new Error(errorMessage(text, `${method} ${path} failed: HTTP ${res.status}`))
    err.status = res.status
    try {
      const e = JSON.parse(text).error
      err.code = e.code
      // A right password on an account with an authenticator app.
      err.challenge = e.challenge
    } catch {
      err.code = undefined
    }
    throw err
  }
  return text ? JSON.parse(text) : null
}

/** Signs in and keeps the session for this tab; returns the session. */
export async function signIn(login, password, askCode = promptCode) {
  let session
  try {
    session = await api('POST', '/api/v1/sessions', { login, password })
  } catch (err) {
    if (err.code !== 'second_factor_required') throw err
    const code = await askCode()
    session = await api('POST', '/api/v1/sessions/second-factor', { challenge: err.challenge, code })
  }
  remember(session, login)
  return session
}

/** The second step where a page has no field of its own for it. */
async function promptCode() {
  const code = window.prompt('The code of your authenticator app (or a recovery code):')
  if (!code) throw new Error('Signing in needs the code of your authenticator app.')
  return code.trim()
}

/** Forgets this tab's session. */
export function forget() {
  localStorage.removeItem(TOKEN_KEY)
}

// The signed-in session shared by the pages: signing in sets the HttpOnly
// session cookie (which every same-origin request carries) and returns a
// token, kept in localStorage so every tab of the site shares it; the
// upload, dashboard and settings scripts send it as a Bearer token.

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
    if (!saved || !saved.token) return null
    if (saved.expires_at && Date.parse(saved.expires_at) <= Date.now()) {
      localStorage.removeItem(TOKEN_KEY)
      return null
    }
    return saved
  } catch {
    return null
  }
}

export function token() {
  const saved = loadToken()
  return saved ? saved.token : null
}

export function authHeaders() {
  const t = token()
  return t ? { Authorization: `Bearer ${t}` } : {}
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
      err.code = JSON.parse(text).error.code
    } catch {
      err.code = undefined
    }
    throw err
  }
  return text ? JSON.parse(text) : null
}

/** Signs in and keeps the session for this tab; returns the session. */
export async function signIn(login, password) {
  const session = await api('POST', '/api/v1/sessions', { login, password })
  localStorage.setItem(TOKEN_KEY, JSON.stringify({ token: session.token, expires_at: session.expires_at, login }))
  return session
}

/** Forgets this tab's session. */
export function forget() {
  localStorage.removeItem(TOKEN_KEY)
}

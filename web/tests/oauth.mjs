#!/usr/bin/env node
// Third-party apps in the browser (tests/it/oauth.rs drives the rest):
//
//   node web/tests/oauth.mjs register BASE LOGIN PASSWORD
//     registers a public app on /developers (redirect http://127.0.0.1/callback);
//     prints its client id and how the page lists it.
//   node web/tests/oauth.mjs consent BASE LOGIN PASSWORD AUTH_URL
//     opens an app's authorization URL signed out, signs in on the way,
//     reads the consent page and allows; prints where the browser landed.
//   node web/tests/oauth.mjs oauth4webapi BASE LOGIN PASSWORD CLIENT_ID
//     the whole flow with oauth4webapi (an OAuth client nobody here wrote):
//     discovery, PKCE, consent in this browser, the code grant, a call, a
//     refresh; then the app is disconnected in Settings and its tokens fail.
//
// Prints one line of JSON.

import { webcrypto } from 'node:crypto'
import http from 'node:http'
import { run, shot, signIn, until } from './kit.mjs'

// oauth4webapi needs WebCrypto as a global, which Node has from 19 on.
if (!globalThis.crypto) globalThis.crypto = webcrypto
const oauth = await import('oauth4webapi')

async function register(page, [base, login, password]) {
  await page.goto(`${base}/developers`)
  await until(page, 'the page to know the visitor is signed out', () => window.cloudcastDevelopers?.state === 'signed-out')
  const signedOut = await page.isVisible('#developers-signed-out')
  await signIn(page, base, login, password)
  await page.goto(`${base}/developers`)
  await page.waitForSelector('#developers-section', { state: 'visible' })
  const noneBefore = await page.isVisible('#dev-none')
  await page.fill('#dev-name', 'Mix Sync')
  await page.fill('#dev-redirects', 'http://127.0.0.1/callback')
  await page.fill('#dev-website', 'https://mixsync.example')
  await page.click('#dev-create')
  await page.waitForSelector('#dev-created', { state: 'visible' })
  const clientId = (await page.textContent('#dev-client-id')).trim()
  const secretShown = await page.isVisible('#dev-secret-line')
  await until(page, 'the app to be listed', (id) => !!document.querySelector(`#dev-apps li[data-client-id="${id}"]`), clientId)
  await shot(page, 'developers')
  const listed = (await page.textContent(`#dev-apps li[data-client-id="${clientId}"]`)).trim()
  return { signedOut, clientId, secretShown, noneBefore, listed }
}

/** Listens on the loopback redirect, as a native app does (RFC 8252). */
async function loopback() {
  const server = http.createServer((req, res) => res.end('You may close this window.'))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${server.address().port}/callback`
}

/** On the consent page: what it says, then Allow. */
async function allow(page) {
  await page.waitForSelector('#consent-form')
  const heading = (await page.textContent('#h-consent')).trim()
  const scopes = await page.locator('#consent-scopes li').evaluateAll((els) => els.map((e) => e.dataset.scope))
  const words = await page.locator('#consent-scopes li').allTextContents()
  await shot(page, 'consent')
  await page.click('#consent-allow')
  await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback/)
  return { heading, scopes, words }
}

async function consent(page, [base, login, password, authUrl]) {
  await page.goto(authUrl)
  const askedToSignIn = new URL(page.url()).pathname === '/sign-in'
  await page.fill('#si-login', login)
  await page.fill('#si-password', password)
  await page.click('#site-signin')
  const seen = await allow(page)
  return { askedToSignIn, ...seen, landed: page.url() }
}

async function oauth4webapi(page, [base, login, password, clientId]) {
  const insecure = { [oauth.allowInsecureRequests]: true }
  const issuer = new URL(base)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
  const client = { client_id: clientId }
  const auth = oauth.None()
  const redirect = await loopback()
  const verifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const url = new URL(as.authorization_endpoint)
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirect,
    scope: 'read write',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString()
  await signIn(page, base, login, password)
  await page.goto(url.href)
  const seen = await allow(page)
  // Checks state and the issuer (`iss`, RFC 9207) the server sent back.
  const params = oauth.validateAuthResponse(as, client, new URL(page.url()), state)
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirect, verifier, insecure),
  )
  const call = (token, path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${token}` } })
  const me = await (await call(tokens.access_token, '/api/v1/me')).json()
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure),
  )
  const afterRefresh = (await call(refreshed.access_token, '/api/v1/me/favourites')).status

  // The person disconnects the app in Settings: its tokens stop at once.
  await page.goto(`${base}/settings`)
  const item = `#apps-list li[data-client-id="${clientId}"]`
  await page.waitForSelector(item)
  const listed = (await page.textContent(item)).trim()
  await shot(page, 'connected-apps')
  await page.click(`${item} button`)
  await until(page, 'the app to leave the list', (sel) => !document.querySelector(sel), item)
  const afterDisconnect = (await call(refreshed.access_token, '/api/v1/me')).status
  let refreshAfterDisconnect = 'accepted'
  try {
    await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, refreshed.refresh_token, insecure),
    )
  } catch (e) {
    refreshAfterDisconnect = e.error || String(e)
  }
  return {
    ...seen,
    scope: tokens.scope,
    expiresIn: tokens.expires_in,
    me: { username: me.username, hasEmail: 'email' in me },
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    afterRefresh,
    listed,
    afterDisconnect,
    refreshAfterDisconnect,
  }
}

run('oauth.mjs', { register, consent, oauth4webapi })

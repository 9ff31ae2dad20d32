#!/usr/bin/env node
// Passkeys in Chromium through its virtual authenticator (the DevTools
// protocol's WebAuthn domain): tests/it/passkeys.rs runs
//
//   node web/tests/passkeys.mjs journey BASE LOGIN PASSWORD
//     adds a passkey in Settings (the password asked again; the recovery
//     codes shown once), signs out, tries the password alone (more is
//     asked), then signs in with the passkey and no password, and makes new
//     recovery codes (the password and the passkey asked again).
//
// BASE must name a host (http://localhost:PORT): a passkey cannot belong to
// an IP address. Prints one line of JSON.

import { run, shot, signIn, until } from './kit.mjs'

async function journey(page, [base, login, password]) {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  await signIn(page, base, login, password)
  await page.goto(`${base}/settings`)
  await page.waitForSelector('#pk-form', { state: 'visible' })
  const before = await page.locator('#pk-list li').count()
  await page.fill('#pk-name', 'Test laptop')
  await page.fill('#pk-password', password)
  await page.click('#pk-add')
  await page.waitForSelector('#pk-codes', { state: 'visible' })
  await until(page, 'the passkey to be listed', () => document.querySelectorAll('#pk-list li').length === 1)
  await shot(page, 'passkeys-settings')
  const codes = await page.locator('#pk-code-list li').allTextContents()
  const listed = (await page.textContent('#pk-list li')).trim()
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })

  // Signed out, the password alone is not enough any more.
  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await page.goto(`${base}/sign-in`)
  await page.fill('#si-login', login)
  await page.fill('#si-password', password)
  await page.click('#site-signin')
  await page.waitForSelector('#si-code', { state: 'visible' })
  const asked = (await page.textContent('#signin-message')).trim()
  const signedInByPassword = await page.evaluate(() => !!document.getElementById('nav-me'))

  // The passkey alone signs in.
  await page.goto(`${base}/sign-in`)
  await page.waitForSelector('#site-passkey', { state: 'visible' })
  await page.click('#site-passkey')
  await until(page, 'the header to show the signed-in user', () => !!document.getElementById('nav-me'))
  const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials

  // An action that asks for the person again: the password, and the
  // passkey (the page asks the authenticator for a one-time code).
  await page.goto(`${base}/settings`)
  await page.waitForSelector('#sf-new-codes-form', { state: 'visible' })
  await page.fill('#sf-new-codes-password', password)
  await page.click('#sf-new-codes')
  await until(page, 'new recovery codes', () => document.querySelectorAll('#sf-code-list li').length === 10)
  const renewed = await page.locator('#sf-code-list li').allTextContents()
  return {
    before,
    codes,
    listed,
    resident: credentials.map((c) => c.isResidentCredential),
    rpId: credentials.map((c) => c.rpId),
    asked,
    signedInByPassword,
    signedInByPasskey: true,
    signCount: after.map((c) => c.signCount),
    renewed,
  }
}

run('passkeys.mjs', { journey })

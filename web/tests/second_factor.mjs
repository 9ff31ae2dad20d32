#!/usr/bin/env node
// Two-step sign-in on the page (tests/it/second_factor.rs enrols the
// account and computes the code with pyotp):
//
//   node web/tests/second_factor.mjs signin BASE LOGIN PASSWORD CODE
//     signs in on /sign-in: the password, then the code field the page
//     shows, then the code; the header shows the signed-in user.
//   node web/tests/second_factor.mjs enrol BASE LOGIN PASSWORD PYTHON
//     turns two-step sign-in on in Settings: the password, the QR code and
//     key, the first code (from pyotp, run with PYTHON), the recovery codes.
//
// Prints one line of JSON.

import { execFileSync } from 'node:child_process'
import { run, shot, signIn, until } from './kit.mjs'

async function signin(page, [base, login, password, code]) {
  await page.goto(`${base}/sign-in`)
  await page.fill('#si-login', login)
  await page.fill('#si-password', password)
  const hiddenBefore = await page.isHidden('#si-code')
  await page.click('#site-signin')
  await page.waitForSelector('#si-code', { state: 'visible' })
  const asked = (await page.textContent('#signin-message')).trim()
  const signedInEarly = await page.evaluate(() => !!document.getElementById('nav-me'))
  await shot(page, 'second-factor-code')
  await page.fill('#si-code', code)
  await page.click('#site-signin')
  await until(page, 'the header to show the signed-in user', () => !!document.getElementById('nav-me'))
  return { hiddenBefore, asked, signedInEarly, signedIn: true }
}

async function enrol(page, [base, login, password, python]) {
  await signIn(page, base, login, password)
  await page.goto(`${base}/settings`)
  await page.waitForSelector('#sf-begin-form', { state: 'visible' })
  const before = (await page.textContent('#sf-state')).trim()
  await page.fill('#sf-password', password)
  await page.click('#sf-begin')
  await page.waitForSelector('#sf-enrol', { state: 'visible' })
  await until(page, 'the QR code to be drawn', () => document.getElementById('sf-qr').naturalWidth > 0)
  const secret = (await page.textContent('#sf-secret')).trim()
  const code = execFileSync(python, ['-c', 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())', secret]).toString().trim()
  await page.fill('#sf-first-code', code)
  await page.click('#sf-confirm')
  await page.waitForSelector('#sf-codes', { state: 'visible' })
  await shot(page, 'second-factor-settings')
  const codes = await page.locator('#sf-code-list li').allTextContents()
  const codeFieldShown = await page.isVisible('#pw-code')
  return { before, secret, codes, after: (await page.textContent('#sf-state')).trim(), codeFieldShown }
}

run('second_factor.mjs', { signin, enrol })

#!/usr/bin/env node
// Drives the DJ upload page in headless Chromium (Debian's /usr/bin/chromium):
// sign in, start a tus upload, reload the tab part-way (as if it had been
// closed), start the same file again, check that it resumed rather than
// restarted, then wait for the upload and the cloudcast's processing to finish.
//
//   node web/tests/upload_page.mjs BASE_URL FILE USERNAME PASSWORD
//
// Env: SCREENSHOT=path.png   save a screenshot of the final page
//      CHROMIUM=path         browser binary (default /usr/bin/chromium)
//      CHUNK=bytes           tus chunk size (default 1048576)
//      DELAY_MS=ms           delay each PATCH before the reload (default 400) so the
//                            reload reliably lands mid-upload on a fast loopback
//      TIMEOUT_MS=ms         upload and processing timeouts (default 120000)
//
// Prints one line of JSON on success and exits 0; prints the reason to stderr
// and exits 1 on failure. The browser is always closed.

import { existsSync, statSync } from 'node:fs'
import { basename } from 'node:path'
import { launch } from './browser.mjs'

const MIB = 1024 * 1024

function fail(message) {
  const err = new Error(message)
  err.expected = true
  throw err
}

function argsOrUsage() {
  const [base, file, username, password] = process.argv.slice(2)
  if (!base || !file || !username || !password) {
    process.stderr.write('usage: node web/tests/upload_page.mjs BASE_URL FILE USERNAME PASSWORD\n')
    process.exit(2)
  }
  if (!existsSync(file)) {
    process.stderr.write(`upload_page: no such file: ${file}\n`)
    process.exit(1)
  }
  return { base: base.replace(/\/+$/, ''), file, username, password }
}

const num = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10)
  return Number.isFinite(v) && v >= 0 ? v : dflt
}

const { base, file, username, password } = argsOrUsage()
const chunk = num('CHUNK', MIB)
const delayMs = num('DELAY_MS', 400)
const timeout = num('TIMEOUT_MS', 120_000)
const size = statSync(file).size
const reloadAt = Math.min(2 * MIB, Math.floor(size / 2))
const pageUrl = `${base}/upload?chunk=${chunk}`
const title = `Resume test ${basename(file)}`

const readState = (page) => page.evaluate(() => ({ ...window.cloudcastUpload }))

/** Waits for the page script, then signs in if the page asks for it. */
async function signInIfNeeded(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 })
  if (await page.locator('#login').isVisible()) {
    await page.fill('#login', username)
    await page.fill('#password', password)
    await page.click('#signin')
  }
  // Signed in: the upload form shows; or an error shows under the sign-in form.
  const outcome = await Promise.race([
    page
      .locator('#file')
      .waitFor({ state: 'visible', timeout: 30_000 })
      .then(() => 'ok', () => 'timeout'),
    page
      .locator('#signin-error:not(:empty)')
      .waitFor({ state: 'visible', timeout: 30_000 })
      .then(() => 'error', () => 'timeout'),
  ])
  if (outcome !== 'ok') {
    const why = (await page.textContent('#signin-error').catch(() => ''))?.trim()
    fail(`sign-in failed: ${why || 'the upload form did not appear'}`)
  }
}

/**
 * Waits until `predicate(window.cloudcastUpload)` holds, polled from here
 * (the pages' policy allows no script the page did not load, so no
 * predicate is compiled inside it); fails early on a page error.
 */
async function waitForUpload(page, what, predicate, ms) {
  const deadline = Date.now() + ms
  for (;;) {
    const s = await readState(page).catch(() => null)
    if (s && s.state === 'error') fail(`page reported an error while waiting for ${what}: ${s.error}`)
    if (s && predicate(s)) return s
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}; page state ${JSON.stringify(s)}`)
    await page.waitForTimeout(100)
  }
}

async function main() {
  const browser = await launch()
  try {
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } })
    const page = await context.newPage()
    // The page warns before leaving mid-upload; a closing tab would not ask.
    page.on('dialog', (d) => d.accept().catch(() => {}))
    const consoleErrors = []
    page.on('pageerror', (e) => consoleErrors.push(String(e)))

    // Slow the PATCHes down so the reload lands part-way on a fast loopback.
    if (delayMs > 0) {
      await page.route('**/api/v1/uploads/**', async (route) => {
        if (route.request().method() === 'PATCH') await new Promise((r) => setTimeout(r, delayMs))
        await route.continue().catch(() => {})
      })
    }

    // 1. First attempt.
    const resp = await page.goto(pageUrl, { waitUntil: 'load' })
    if (!resp || !resp.ok()) fail(`GET ${pageUrl} answered ${resp ? resp.status() : 'nothing'}`)
    await signInIfNeeded(page)
    await page.setInputFiles('#file', file)
    await page.fill('#title', title)
    await page.click('#start')
    const first = await waitForUpload(
      page,
      `${reloadAt} bytes uploaded`,
      // ...and at least one chunk acknowledged, so the server has something to resume from.
      (s) => (s.bytesUploaded >= reloadAt && s.bytesAccepted > 0) || s.state === 'done',
      timeout,
    )
    if (first.state === 'done') fail('the upload finished before the reload; use a larger FILE or a larger DELAY_MS')
    if (!first.uploadUrl) fail('no upload URL after the first chunks')

    // 2. The tab goes away mid-upload and comes back.
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await page.reload({ waitUntil: 'load' })
    await signInIfNeeded(page)
    await page.setInputFiles('#file', file)
    await page.fill('#title', title)
    await page.click('#start')
    const resumed = await waitForUpload(page, 'the resume offset', (s) => s.resumedFrom !== null || s.state === 'done', 30_000)
    if (!(resumed.resumedFrom > 0)) {
      fail(`the upload did not resume: resumedFrom=${resumed.resumedFrom}, uploadUrl=${resumed.uploadUrl}`)
    }
    if (resumed.uploadUrl && resumed.uploadUrl !== first.uploadUrl) {
      fail(`resumed a different upload: ${resumed.uploadUrl} != ${first.uploadUrl}`)
    }

    // 3. Completion, then processing.
    await waitForUpload(page, 'the upload to finish', (s) => s.state === 'done', timeout)
    const processed = await waitForUpload(
      page,
      'the cloudcast to leave processing',
      (s) => s.cloudcastStatus !== null && s.cloudcastStatus !== 'processing',
      timeout,
    )
    if (processed.bytesUploaded !== size || processed.bytesTotal !== size) {
      fail(`byte counts are off: ${processed.bytesUploaded}/${processed.bytesTotal}, file has ${size}`)
    }
    if (process.env.SCREENSHOT) {
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })
    }
    if (consoleErrors.length > 0) fail(`page errors: ${consoleErrors.join('; ')}`)

    process.stdout.write(
      `${JSON.stringify({
        resumedFrom: resumed.resumedFrom,
        bytesTotal: processed.bytesTotal,
        uploadUrl: processed.uploadUrl,
        cloudcastId: processed.cloudcastId,
        cloudcastStatus: processed.cloudcastStatus,
      })}\n`,
    )
  } finally {
    await browser.close().catch(() => {})
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`upload_page: ${err.expected ? err.message : err.stack || err}\n`)
    process.exit(1)
  },
)

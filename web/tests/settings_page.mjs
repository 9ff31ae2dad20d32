#!/usr/bin/env node
// Drives the settings page in headless Chromium (Debian's /usr/bin/chromium):
// sign in, opt in to partner contact, create an API key and use it, download
// the data export with the button, then delete the account with the
// password (accepting the confirmation dialog).
//
//   node web/tests/settings_page.mjs BASE_URL LOGIN PASSWORD DOWNLOAD_PATH
//
// Env: SCREENSHOT=path.png   save a screenshot before the deletion
//      CHROMIUM=path         browser binary (default /usr/bin/chromium)
//
// Prints one line of JSON with what the page showed and exits 0; prints the
// reason to stderr and exits 1 on failure. The browser is always closed.

import { launch, signIn } from './browser.mjs'

const [base, login, password, downloadPath] = process.argv.slice(2)
if (!base || !login || !password || !downloadPath) {
  process.stderr.write('usage: node web/tests/settings_page.mjs BASE_URL LOGIN PASSWORD DOWNLOAD_PATH\n')
  process.exit(2)
}
const root = base.replace(/\/+$/, '')

const rows = (page, id) =>
  page.$$eval(`#${id} tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())))

async function main() {
  const browser = await launch()
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1200 }, acceptDownloads: true })
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    page.on('dialog', (d) => d.accept())
    const resp = await page.goto(`${root}/settings`, { waitUntil: 'load' })
    if (!resp || !resp.ok()) throw new Error(`GET /settings answered ${resp ? resp.status() : 'nothing'}`)

    await signIn(page, login, password, 'cloudcastSettings', 'the settings')
    const shown = {
      thirdPartyBefore: await page.isChecked('#third-party'),
      adsBefore: await page.isChecked('#ads'),
      quota: await rows(page, 'quota'),
      unverifiedNotice: await page.isVisible('#unverified'),
    }

    await page.check('#third-party')
    await page.click('#save-consents')
    await page.waitForFunction(() => document.getElementById('consents-saved').textContent !== '', null, { timeout: 10_000 })
    shown.history = await rows(page, 'consent-history')

    await page.fill('#key-name', 'my player')
    await page.click('#create-key')
    await page.waitForSelector('#new-key:not([hidden])', { timeout: 10_000 })
    shown.key = (await page.textContent('#new-key-value')).trim()
    // The list is read again after the key is shown: wait for its row.
    await page.waitForFunction(() => document.querySelectorAll('#keys tr').length > 0, null, { timeout: 10_000 })
    shown.keys = await rows(page, 'keys')
    // The key reads public data as a third party would.
    const viaKey = await context.request.get(`${root}/api/v1/users/${login}`, { headers: { 'X-Api-Key': shown.key } })
    shown.keyStatus = viaKey.status()

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.click('#export')])
    await download.saveAs(downloadPath)
    shown.exportName = download.suggestedFilename()
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })

    // A new password, then a new address (confirmed from the new mailbox).
    const newPassword = `${password} again`
    await page.fill('#pw-current', password)
    await page.fill('#pw-new', newPassword)
    await page.click('#password-change')
    await page.waitForFunction(() => document.getElementById('password-status').textContent !== '', null, { timeout: 10_000 })
    shown.passwordStatus = await page.textContent('#password-status')
    await page.fill('#em-new', `new.${login}@example.org`)
    await page.fill('#em-password', newPassword)
    await page.click('#email-change')
    await page.waitForFunction(() => document.getElementById('email-status').textContent !== '', null, { timeout: 10_000 })
    shown.emailStatus = await page.textContent('#email-status')

    await page.fill('#delete-password', 'not my password')
    await page.click('#delete')
    await page.waitForFunction(() => document.getElementById('delete-error').textContent !== '', null, { timeout: 10_000 })
    shown.wrongPassword = await page.textContent('#delete-error')
    await page.fill('#delete-password', newPassword)
    await page.click('#delete')
    await page.waitForFunction(
      () => window.cloudcastSettings.state === 'deleted' || document.getElementById('delete-error').textContent !== '',
      null,
      { timeout: 60_000 },
    )
    const refused = await page.textContent('#delete-error')
    if (refused) throw new Error(`the deletion was refused: ${refused}`)
    shown.deleted = await page.textContent('#deleted-summary')

    if (pageErrors.length > 0) throw new Error(`page errors: ${pageErrors.join('; ')}`)
    process.stdout.write(`${JSON.stringify(shown)}\n`)
  } finally {
    await browser.close()
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`)
  process.exit(1)
})

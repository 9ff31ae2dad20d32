#!/usr/bin/env node
// Drives the analytics dashboard in headless Chromium (Debian's
// /usr/bin/chromium): sign in through the form, wait for the overview, read
// what the page shows (totals, tables), check that both charts drew
// something, then download the daily dataset as Parquet with the button.
//
//   node web/tests/dashboard_page.mjs BASE_URL LOGIN PASSWORD DOWNLOAD_PATH
//
// Env: SCREENSHOT=path.png   save a screenshot of the page
//      CHROMIUM=path         browser binary (default /usr/bin/chromium)
//
// Prints one line of JSON with what the page showed and exits 0; prints the
// reason to stderr and exits 1 on failure. The browser is always closed.

import { launch, signIn } from './browser.mjs'

const [base, login, password, downloadPath] = process.argv.slice(2)
if (!base || !login || !password || !downloadPath) {
  process.stderr.write('usage: node web/tests/dashboard_page.mjs BASE_URL LOGIN PASSWORD DOWNLOAD_PATH\n')
  process.exit(2)
}

/** Counts the painted (non-transparent) pixels of a canvas. */
const painted = (page, id) =>
  page.evaluate((id) => {
    const c = document.getElementById(id)
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let n = 0
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++
    return n
  }, id)

/** Pixels of the chart colour (the bars or the line, not the axes). */
const inked = (page, id) =>
  page.evaluate((id) => {
    const c = document.getElementById(id)
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
    let n = 0
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && data[i + 2] > 180 && data[i] < 120) n++
    }
    return n
  }, id)

const tableText = (page, id) =>
  page.$$eval(`#${id} tr`, (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())))

async function main() {
  const browser = await launch()
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 1000 }, acceptDownloads: true })
    const page = await context.newPage()
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    const resp = await page.goto(`${base.replace(/\/+$/, '')}/dashboard`, { waitUntil: 'load' })
    if (!resp || !resp.ok()) throw new Error(`GET /dashboard answered ${resp ? resp.status() : 'nothing'}`)

    await signIn(page, login, password, 'cloudcastDashboard', 'the dashboard')

    const shown = {
      plays: await page.textContent('#total-plays'),
      listeners: await page.textContent('#total-listeners'),
      top: await tableText(page, 'top'),
      referrers: await tableText(page, 'referrers'),
      browsers: await tableText(page, 'browsers'),
      playsChartPixels: await painted(page, 'chart-plays'),
      playsChartInk: await inked(page, 'chart-plays'),
      retentionChartInk: await inked(page, 'chart-retention'),
    }
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })

    await page.selectOption('#dataset', 'daily')
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.click('#download-parquet')])
    await download.saveAs(downloadPath)
    shown.downloadName = download.suggestedFilename()

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

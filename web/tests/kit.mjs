// What the site's journey scripts share: waiting with a reason, screenshots,
// the site's own sign-in form, and the runner that prints one line of JSON.

import { launch } from './browser.mjs'

export const TIMEOUT = Number(process.env.TIMEOUT_MS || 60_000)
const SHOTS = process.env.SHOTS

export function fail(message) {
  const err = new Error(message)
  err.expected = true
  throw err
}

export async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false })
}

export const player = (page) =>
  page.evaluate(() => {
    const a = document.getElementById('audio')
    return { ...window.cloudcastPlayer, lastBeat: undefined, currentTime: a.currentTime, paused: a.paused }
  })

export async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: TIMEOUT, polling: 200 })
  } catch {
    const p = await player(page).catch(() => null)
    const msg = await page.locator('[role=alert], [role=status]').allTextContents().catch(() => [])
    fail(`timed out waiting for ${what} at ${page.url()}; player ${JSON.stringify(p)}; messages ${JSON.stringify(msg)}`)
  }
}

/** Signs in through the site's own form; lands on `/` (or `next`). */
export async function signIn(page, base, login, password) {
  await page.goto(`${base}/`)
  await page.click('header.site a[href^="/sign-in"]')
  await page.waitForSelector('#site-signin-form')
  await page.fill('#si-login', login)
  await page.fill('#si-password', password)
  await page.click('#site-signin')
  await until(page, 'the header to show the signed-in user', () => !!document.getElementById('nav-me'))
}

/**
 * Runs the journey named by the first argument with the rest, in headless
 * Chromium with a listener's user agent (`WIDTH` sets the viewport's
 * width), and prints its result as one line of JSON; a page error fails it.
 */
export async function run(script, journeys) {
  const [name, ...args] = process.argv.slice(2)
  const journey = journeys[name]
  if (!journey) {
    process.stderr.write(`usage: node web/tests/${script} ${Object.keys(journeys).join('|')} ...\n`)
    process.exit(2)
  }
  const browser = await launch(['--autoplay-policy=no-user-gesture-required'])
  try {
    // A listener's Chrome, not "HeadlessChrome" (which the statistics rightly count as a bot).
    const major = browser.version().split('.')[0]
    const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`
    const context = await browser.newContext({ userAgent, viewport: { width: Number(process.env.WIDTH || 1100), height: 800 } })
    const page = await context.newPage()
    page.on('dialog', (d) => d.accept().catch(() => {}))
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    const result = await journey(page, args)
    if (errors.length) fail(`page errors: ${errors.join('; ')}`)
    process.stdout.write(`${JSON.stringify(result)}\n`)
  } catch (err) {
    process.stderr.write(`${script}: ${err.expected ? err.message : err.stack || err}\n`)
    await browser.close().catch(() => {})
    process.exit(1)
  }
  await browser.close().catch(() => {})
  process.exit(0)
}

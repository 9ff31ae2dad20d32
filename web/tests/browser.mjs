// What the page drivers share: the headless Chromium they run, and the
// sign-in form of the dashboard and settings pages.

import { chromium } from 'playwright-core'

const FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** Debian's /usr/bin/chromium (or $CHROMIUM), headless, with no background traffic. */
export function launch(extraFlags = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [...FLAGS, ...extraFlags],
  })
}

/**
 * Signs in through the page's form, then waits until the page's state
 * object (`window[stateVar]`) says `ready`; throws naming `what` otherwise.
 */
export async function signIn(page, login, password, stateVar, what) {
  await page.waitForSelector('#signin-section:not([hidden])', { timeout: 10_000 })
  await page.fill('#login', login)
  await page.fill('#password', password)
  await page.click('#signin')
  await page.waitForFunction((v) => ['ready', 'error'].includes(window[v].state), stateVar, { timeout: 30_000 })
  const state = await page.evaluate((v) => window[v], stateVar)
  if (state.state !== 'ready') throw new Error(`${what} did not load: ${state.error}`)
}

#!/usr/bin/env node
// A DJ's insights page in headless Chromium (tests/it/analytics.rs prepares
// the listening and compares with the API):
//
//   node web/tests/insights.mjs look BASE LOGIN PASSWORD
//     signed out, /insights asks to sign in first; signed in, the DJ goes
//     from My mixes to the insights, reads the totals, top mixes, cohorts and
//     countries, then narrows the dates to a day with nothing.
//
// Prints one line of JSON.

import { run, shot, signIn } from './kit.mjs'

const cells = (page, sel) => page.locator(sel).allTextContents()

async function look(page, [base, login, password]) {
  await page.goto(`${base}/insights`)
  const signedOut = new URL(page.url()).pathname
  await signIn(page, base, login, password)
  await page.goto(`${base}/upload`)
  await page.click('#insights-link')
  await page.waitForSelector('#totals')
  await shot(page, 'insights')
  const seen = {
    signedOut,
    plays: await page.textContent('#in-plays'),
    listeners: await page.textContent('#in-listeners'),
    followers: await page.textContent('#in-followers'),
    change: (await page.textContent('#in-followers-change')).trim(),
    top: await cells(page, '#top-mixes tbody td:first-child a:first-child'),
    cohorts: await cells(page, '#cohorts tbody td:nth-child(2)'),
    countries: await cells(page, '#countries tbody td'),
    referrers: await cells(page, '#referrers tbody td:first-child'),
  }
  await page.fill('#in-from', '2020-01-01')
  await page.fill('#in-to', '2020-01-01')
  await page.click('form.range button[type=submit]')
  await page.waitForURL(/from=2020-01-01/)
  seen.emptyPlays = await page.textContent('#in-plays')
  seen.emptyTop = await page.locator('#top-mixes').count()
  return seen
}

run('insights.mjs', { look })

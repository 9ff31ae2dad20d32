#!/usr/bin/env node
// The policy's channels in headless Chromium on the real system
// (tests/it/web_policy.rs starts it and checks the stores):
//
//   node web/tests/policy.mjs report  BASE KID REPORTER_EMAIL ADMIN PASSWORD
//     a visitor without an account reports a profile as under 13 from its
//     page; the administrator confirms it from the moderation queue.
//   node web/tests/policy.mjs notices BASE LOGIN PASSWORD
//     new terms and a new privacy version: the banners, accepting the
//     terms, dismissing the privacy news.
//   node web/tests/policy.mjs blocks BASE BLOCKER BLOCKED MIX_URL PASSWORD
//     the blocked person tries to comment on the blocker's mix; the
//     blocker blocks them from their profile, sees them in settings and
//     unblocks them there.
//
// Each prints one line of JSON.

import { run, shot, signIn, until } from './kit.mjs'

const present = (page, id) => page.locator(`#${id}`).count()

async function report(page, [base, kid, email, admin, password]) {
  // Signed out: the footer names the policy's pages; the profile offers
  // its "Report" link.
  await page.goto(`${base}/`)
  const footer = await page.locator('footer.site a').allTextContents()
  await page.click('#footer-privacy')
  await page.waitForSelector('#policy-versions')
  const versions = await page.locator('#policy-versions li').count()
  const current = (await page.locator('#policy-version').textContent()).trim()
  await page.click('#policy-versions a')
  await page.waitForSelector('#policy-version strong')
  const earlier = (await page.locator('#policy-version').textContent()).trim()
  await page.goto(`${base}/${kid}`)
  await page.click('#report-account')
  await page.waitForSelector('#contact-form')
  const prefilled = await page.inputValue('#contact-account')
  await page.check('input[name=topic][value=under_13]')
  await page.fill('#contact-message', 'Their profile says they are in year 5 at school: about 10 years old.')
  await page.fill('#contact-email', email)
  await shot(page, 'contact-report')
  await page.click('#contact-send')
  await until(page, 'the report to be received', () => !!document.getElementById('contact-done'))
  const received = await page.locator('#contact-done').textContent()

  // The administrator sees the report, the profile and the declared birth
  // date, and confirms.
  await page.context().clearCookies()
  await signIn(page, base, admin, password)
  await page.goto(`${base}/moderation`)
  await until(page, 'the report in the queue', () => !!document.querySelector('#case-list li[data-topic=under_13]'))
  const item = page.locator('#case-list li[data-topic=under_13]')
  const shown = await item.textContent()
  const suggested = await item.locator('select').inputValue()
  await item.locator('textarea[id^=reasons-]').fill('Confirmed from a report: the account holder is about 10 years old (privacy policy, section 12).')
  await shot(page, 'moderation-under-13')
  await item.locator('button[type=submit].danger').click()
  await until(page, 'the decision', () => (document.getElementById('moderation-message')?.textContent || '').startsWith('Decided'))
  return {
    footer,
    versions,
    current,
    earlier,
    prefilled,
    received,
    shown,
    suggested,
    gone: await page.locator('#case-list li[data-topic=under_13]').count(),
  }
}

async function notices(page, [base, login, password]) {
  await signIn(page, base, login, password)
  // The banners stand outside the page's main part: a full load shows them.
  await page.goto(`${base}/`)
  const before = {
    terms: await present(page, 'terms-banner'),
    privacy: await present(page, 'privacy-banner'),
  }
  await shot(page, 'policy-banners')
  await page.click('#terms-banner a')
  await page.waitForSelector('#terms-accept')
  await page.click('#terms-accept')
  await until(page, 'the terms to be accepted', () => document.body.dataset.termsAccepted === 'true')
  await page.click('#privacy-banner-ok')
  await until(page, 'the privacy banner to go', () => !document.getElementById('privacy-banner'))
  await page.goto(`${base}/`)
  return {
    before,
    after: {
      terms: await present(page, 'terms-banner'),
      privacy: await present(page, 'privacy-banner'),
    },
  }
}

async function blocks(page, [base, blocker, blocked, mix, password]) {
  // The blocker blocks from the other's profile: the follow ends with it.
  await signIn(page, base, blocker, password)
  await page.goto(`${base}/${blocked}`)
  const followingBefore = await page.getAttribute('#follow', 'aria-pressed')
  await page.click('#block')
  await until(page, 'the block', () => document.getElementById('block').getAttribute('aria-pressed') === 'true')
  const said = await page.locator('#report-account + p.message').first().textContent()
  const followingAfter = await page.getAttribute('#follow', 'aria-pressed')
  await shot(page, 'profile-blocked')
  await page.goto(`${base}/${blocked}`)
  const blockedAfterReload = await page.getAttribute('#block', 'aria-pressed')

  // The blocked person meets the block when they comment.
  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await signIn(page, base, blocked, password)
  await page.goto(mix)
  await page.waitForSelector('#comment-form')
  await page.fill('#comment-body', 'You cannot hide from me')
  await page.click('#comment-send')
  await until(page, 'the refusal', () => (document.getElementById('action-message')?.textContent || '').length > 0)
  const refused = await page.locator('#action-message').textContent()

  // Settings list whom the blocker blocked; unblocking empties the list.
  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await signIn(page, base, blocker, password)
  await page.goto(`${base}/settings`)
  await until(page, 'the blocked accounts', () => document.querySelectorAll('#blocks li').length > 0)
  const listed = await page.locator('#blocks li').allTextContents()
  await shot(page, 'settings-blocks')
  await page.click('#blocks li button')
  await until(page, 'the unblock', () => document.querySelectorAll('#blocks li').length === 0)
  return {
    followingBefore,
    followingAfter,
    said,
    blockedAfterReload,
    refused,
    listed,
    noneShown: await page.isVisible('#blocks-none'),
  }
}

run('policy.mjs', { report, notices, blocks })

#!/usr/bin/env node
// The web product's journeys in headless Chromium, on the real system. One
// journey per run; the Rust test (tests/it/web_site.rs) strings them
// together and checks the stores in between (mail, PostgreSQL, ClickHouse).
//
//   node web/tests/journeys.mjs signup   BASE USERNAME EMAIL PASSWORD BIRTH_DATE
//   node web/tests/journeys.mjs dj       BASE VERIFY_LINK USERNAME PASSWORD MIX_FILE
//   node web/tests/journeys.mjs listener BASE USERNAME PASSWORD QUERY
//   node web/tests/journeys.mjs stats    BASE USERNAME PASSWORD STATS_PATH
//   node web/tests/journeys.mjs embed    OUTER_PAGE_URL
//   node web/tests/journeys.mjs moderate BASE ADMIN PASSWORD
//   node web/tests/journeys.mjs reset-request BASE LOGIN
//   node web/tests/journeys.mjs reset    BASE MAILED_LINK LOGIN NEW_PASSWORD
//   WIDTH=375 node web/tests/journeys.mjs narrow BASE PATH...
//
// Each prints one line of JSON with what it saw. Env: SHOTS=folder saves a
// screenshot of each main page there; TIMEOUT_MS bounds each wait.

import { readFile } from 'node:fs/promises'
import { TIMEOUT, fail, player, run, shot, signIn, until } from './kit.mjs'

async function signup(page, [base, username, email, password, birth]) {
  await page.goto(`${base}/`)
  await page.click('header.site a[href^="/sign-up"]')
  await page.waitForSelector('#signup-form')
  await page.fill('#su-username', username)
  await page.fill('#su-email', email)
  await page.fill('#su-password', password)
  await page.fill('#su-birth', birth)
  // The terms are accepted by ticking the box; the privacy policy is shown.
  if (await page.locator('#su-terms').count()) await page.check('#su-terms')
  await page.click('#signup')
  await until(
    page,
    'the sign-up to answer',
    () => !!document.getElementById('signup-done') || (document.getElementById('signup-message')?.textContent || '') !== '',
  )
  await shot(page, `signup-${username}`)
  const done = await page.locator('#signup-done').textContent().catch(() => null)
  const message = (await page.locator('#signup-message').textContent().catch(() => '')) || ''
  return { created: done !== null, done, message, signedUp: await page.evaluate(() => document.body.dataset.signedUp || null) }
}

async function dj(page, [base, verify, username, password, mixFile]) {
  if (verify.startsWith('mailbox:')) {
    // This machine's mailbox page: the newest confirmation link mailed to
    // the address signs the new account in.
    const to = verify.slice('mailbox:'.length)
    await page.goto(`${base}/mailbox`)
    await shot(page, 'mailbox')
    await page.locator(`li.mail[data-to="${to}"] a[href*="/verify-email?token="]`).first().click()
    await until(page, 'the confirmation link to sign in', () => !!document.getElementById('nav-me'))
  } else {
    await signIn(page, base, username, password)
  }
  await page.click('header.site a[href="/upload"]')
  await page.waitForSelector('#upload-section:not([hidden])', { timeout: TIMEOUT })
  await page.setInputFiles('#file', mixFile)
  await page.fill('#title', 'First light')
  // The details, typed while the file uploads: the mix is a draft until published.
  await page.fill('#up-description', 'Recorded at dawn.')
  await page.fill('#up-tags', 'deep-house, sunrise')
  await page.fill('#up-tracklist', '00:00 Opening – Warm-up\n00:20 Closing – Last light')
  await page.click('#start')
  await page.click('#save-details')
  // Watch the progress: the upload's, then the transcoding's, as the page shows them.
  const seen = new Set()
  const deadline = Date.now() + 4 * TIMEOUT
  for (;;) {
    const s = await page.evaluate(() => ({ ...window.cloudcastUpload }))
    const text = (await page.textContent('#cloudcast-status').catch(() => '')) || ''
    if (text.trim()) seen.add(text.trim().replace(/\d+%/, 'N%'))
    if (s.state === 'error') fail(`the upload failed: ${s.error}`)
    if (s.cloudcastStatus === 'ready') break
    if (Date.now() > deadline) fail(`the mix did not become ready: ${JSON.stringify(s)}`)
    await page.waitForTimeout(250)
  }
  const id = await page.evaluate(() => window.cloudcastUpload.cloudcastId)
  // "My mixes" below has it already, live: a draft, ready to publish.
  await until(page, 'the new mix in My mixes', (id) => !!document.querySelector(`#edit-${id} [data-publish]:not([disabled])`), id)
  const draftStatus = (await page.textContent(`#edit-${id} .mix-status`)).trim()
  const pagePath = await page.getAttribute(`#edit-${id} a`, 'href')
  await shot(page, 'upload')
  // Nobody else sees a draft: its page is as missing as an unknown one.
  const stranger = await page.context().browser().newContext()
  const other = await stranger.newPage()
  const before = (await other.goto(`${base}${pagePath}`)).status()
  await page.click('#publish')
  await until(page, 'the mix to be published', () => document.getElementById('details-status').textContent.startsWith('Published'))
  const after = (await other.goto(`${base}${pagePath}`)).status()
  await stranger.close()
  // My mixes, through the site's own link: rename the new mix.
  await page.click('header.site a[href="/upload"]')
  await page.waitForSelector(`#edit-${id} [data-edit]`)
  await page.click(`#edit-${id} [data-edit]`)
  await page.waitForSelector(`#m-${id}-title`)
  await page.fill(`#m-${id}-title`, 'First Light Session')
  await page.click(`#form-${id} button[type=submit]`)
  await until(page, 'the edit to be saved', (id) => document.querySelector(`#form-${id} .message`)?.textContent === 'Saved.', id)
  await shot(page, 'my-mixes')
  await page.click(`#edit-${id} a`)
  await page.waitForSelector('#play-this')
  const title = (await page.textContent('#title')).trim()
  const tracks = await page.locator('#tracklist li').count()
  await page.click('#play-this')
  await until(page, 'the DJ to hear two acknowledged beats', () => window.cloudcastPlayer.beatsAcked >= 2)
  await shot(page, 'cloudcast')
  return { id, url: new URL(page.url()).pathname, title, tracks, progress: [...seen], draftStatus, draftPage: { before, after } }
}

async function listener(page, [base, username, password, query]) {
  await signIn(page, base, username, password)
  await shot(page, 'home')
  // Search as you type, then the full results.
  await page.click('#site-search')
  await page.keyboard.type(query, { delay: 40 })
  await page.waitForSelector('#search-suggestions:not([hidden]) a', { timeout: TIMEOUT })
  const suggestions = await page.locator('#search-suggestions a').allTextContents()
  await page.keyboard.press('Enter')
  await page.waitForSelector('main[data-page=search] .card-title')
  await shot(page, 'search')
  await page.click('main .card-title')
  await page.waitForSelector('#play-this')
  const path = new URL(page.url()).pathname
  for (const b of ['#follow', '#favourite', '#repost']) {
    await page.click(b)
    await until(page, `${b} to be pressed`, (b) => document.querySelector(b).getAttribute('aria-pressed') === 'true', b)
  }
  await page.fill('#comment-body', 'What a sunrise. Track two!')
  await page.click('#comment-send')
  await until(page, 'the comment to show', () => document.getElementById('comment-list').textContent.includes('What a sunrise'))
  await page.click('#play-this')
  await until(page, 'playback with an acknowledged beat', () => window.cloudcastPlayer.beatsAcked >= 1 && window.cloudcastPlayer.state === 'playing')
  // Browse away while it plays: the bar and its audio element stay.
  await page.evaluate(() => {
    window.__audio = document.getElementById('audio')
  })
  const before = await player(page)
  await page.click('#owner')
  await page.waitForSelector('#profile-name')
  await page.waitForTimeout(2500)
  const during = await player(page)
  const sameAudio = await page.evaluate(() => window.__audio === document.getElementById('audio'))
  await shot(page, 'profile')
  await page.goBack()
  await page.waitForSelector('#play-this')
  const backPath = new URL(page.url()).pathname
  await until(page, 'beats after browsing', (n) => window.cloudcastPlayer.beatsAcked > n, before.beatsAcked)
  const after = await player(page)
  // A tag of the mix leads to its tag page, still playing.
  await page.click('main .tags a.tag')
  await page.waitForSelector('main[data-page=tag] .card-title')
  const tagPage = { path: new URL(page.url()).pathname, titles: await page.locator('main .card-title').allTextContents() }
  return {
    tagPage,
    stillPlaying: !(await player(page)).paused,
    suggestions,
    path,
    backPath,
    sameAudio,
    playedOn: during.currentTime > before.currentTime + 1 && !during.paused,
    fullLoads: await page.evaluate(() => performance.getEntriesByType('navigation').length),
    navigations: await page.evaluate(() => window.cloudcastSite.navigations),
    beatsAcked: after.beatsAcked,
  }
}

async function stats(page, [base, username, password, statsPath]) {
  await signIn(page, base, username, password)
  await page.goto(`${base}${statsPath}`)
  await page.waitForSelector('#stat-plays')
  await shot(page, 'stats')
  const text = async (sel) => ((await page.textContent(sel).catch(() => '')) || '').trim()
  return {
    plays: Number(await text('#stat-plays')),
    listeners: Number(await text('#stat-listeners')),
    referrers: await page.locator('#referrers td:first-child').allTextContents(),
    trackRows: await page.locator('#track-retention tbody tr').count(),
    // The curve's axes: listeners up the side, the time in the mix along the bottom.
    axes: await page.locator('svg.retention .axis-label').allTextContents(),
    // Per track: [reached it, left during it].
    tracks: await page.$$eval('#track-retention tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td.num')].slice(0, 2).map((td) => Number(td.textContent.trim()))),
    ),
    // Per track, the room read: [skipped past, heard again, loudness change].
    roomRead: await page.$$eval('#track-retention tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td.num')].slice(2).map((td) => td.textContent.trim())),
    ),
    // The rights report, downloaded as the DJ would: its CSV lines.
    rights: await (async () => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rights-report')])
      const file = await download.path()
      return (await readFile(file, 'utf8')).trim().split('\n')
    })(),
  }
}

async function embed(page, [outer]) {
  await page.goto(outer)
  const frame = page.frameLocator('iframe')
  await frame.locator('body[data-ready=true]').waitFor({ timeout: TIMEOUT })
  // Drive it as the embedding site would: through postMessage.
  await page.evaluate(() => document.querySelector('iframe').contentWindow.postMessage({ method: 'play' }, '*'))
  const handle = page.frames().find((f) => f !== page.mainFrame())
  try {
    await handle.waitForFunction(() => window.cloudcastPlayer.beatsAcked >= 3, null, { timeout: TIMEOUT, polling: 200 })
  } catch {
    fail(`the embed did not play: ${JSON.stringify(await handle.evaluate(() => window.cloudcastPlayer))}`)
  }
  const send = (message) => page.evaluate((m) => document.querySelector('iframe').contentWindow.postMessage(m, '*'), message)
  const seen = (event) => page.waitForFunction((ev) => window.events.some((e) => e.event === ev), event, { timeout: TIMEOUT })
  await send({ method: 'getDuration', id: 7 })
  await send({ method: 'pause' })
  await Promise.all([seen('pause'), seen('duration')])
  await shot(page, 'embed')
  const duration = (await page.evaluate(() => window.events)).find((e) => e.event === 'duration')?.value
  // Seek near the end through the API: it plays from there to the end.
  await send({ method: 'seek', value: duration - 3 })
  await seen('ended')
  await send({ method: 'getPosition', id: 8 })
  await page.waitForFunction(() => window.events.some((e) => e.event === 'position' && e.id === 8), null, { timeout: TIMEOUT })
  const events = await page.evaluate(() => window.events)
  return {
    beatsAcked: await handle.evaluate(() => window.cloudcastPlayer.beatsAcked),
    referrer: await handle.evaluate(() => document.referrer),
    events: [...new Set(events.map((e) => e.event))],
    duration,
    position: events.find((e) => e.event === 'position' && e.id === 8)?.value,
  }
}

/** Each page at a phone's width (run with WIDTH=375): nothing wider than the screen, every control reachable by Tab. */
async function narrow(page, [base, ...paths]) {
  const out = {}
  for (const path of paths) {
    await page.goto(`${base}${path}`)
    await page.waitForSelector('body[data-ready=true]')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    // Tab through the page: every focusable control is reached and has a name.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('main button, main a[href], main input, main textarea, main select, header a, header button, header input')]
        .filter((el) => el.offsetParent !== null && el.getAttribute('tabindex') !== '-1' && !el.closest('[aria-hidden=true]'))
        .filter((el) => {
          const label = el.id && document.querySelector(`label[for="${el.id}"]`)
          const name = (el.getAttribute('aria-label') || el.textContent || (label && label.textContent) || '').trim()
          return !name
        })
        .map((el) => el.outerHTML.slice(0, 80)),
    )
    let tabbed = 0
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab')
      if (await page.evaluate(() => document.activeElement && document.activeElement !== document.body)) tabbed++
    }
    out[path] = { overflow, unnamed, tabbed }
  }
  return out
}

/** Asks for a password reset from the sign-in page. */
async function resetRequest(page, [base, login]) {
  await page.goto(`${base}/sign-in`)
  await page.click('details:has(#reset-request-form) summary')
  await page.fill('#rr-login', login)
  await page.click('#reset-request')
  await until(page, 'the reset request to answer', () => document.getElementById('reset-request-message').textContent !== '')
  return { message: await page.textContent('#reset-request-message') }
}

/** Opens the mailed link, sets the new password, signs in with it. */
async function reset(page, [base, link, login, password]) {
  await page.goto(link)
  await page.fill('#rp-password', password)
  await page.click('#reset-submit')
  await until(page, 'the new password to be set', () => document.getElementById('reset-message').textContent !== '')
  const message = await page.textContent('#reset-message')
  await signIn(page, base, login, password)
  return { message, signedIn: true }
}

/** An administrator approves the first held comment in the moderation queue. */
async function moderate(page, [base, login, password]) {
  await signIn(page, base, login, password)
  await page.click('header.site a[href="/moderation"]')
  await page.waitForSelector('#moderation-list li')
  const held = await page.locator('#moderation-list li').allTextContents()
  await shot(page, 'moderation')
  await page.click('#moderation-list li button:text("Approve")')
  await until(page, 'the approved comment to leave the queue', (n) => document.querySelectorAll('#moderation-list li').length < n, held.length)
  return { held }
}

/** A rights holder, not signed in, sends a copyright notice from the cloudcast's page. */
async function notice(page, [pageUrl, name, email, work, reason]) {
  await page.goto(pageUrl)
  await page.click('#report')
  await page.check('input[name=kind][value=copyright]')
  await page.fill('#report-reason', reason)
  await page.fill('#report-name', name)
  await page.fill('#report-email', email)
  await page.fill('#report-work', work)
  await page.check('#report-good-faith')
  await shot(page, 'report')
  await page.click('#report-send')
  await until(page, 'the report to be received', () => document.getElementById('action-message').textContent !== '')
  return { message: await page.textContent('#action-message'), reportDisabled: await page.isDisabled('#report') }
}

/** An administrator decides the first report (`take_down` or `dismiss`) or counter-notice (`reinstate` or `reject`). */
async function decide(page, [base, login, password, list, action, reasons]) {
  await signIn(page, base, login, password)
  await page.click('header.site a[href="/moderation"]')
  const item = `#${list} li`
  await page.waitForSelector(item)
  const shown = await page.locator(item).first().textContent()
  await page.fill(`${item} textarea`, reasons)
  await shot(page, `moderation-${list}`)
  await page.click(`${item} button[data-action=${action}]`)
  await until(page, 'the decided item to leave the queue', (sel) => !document.querySelector(sel), item)
  return { shown }
}

/** The DJ reads why their cloudcast was taken down and answers with a counter-notice. */
async function counter(page, [base, login, password, pagePath, statement]) {
  await signIn(page, base, login, password)
  await page.goto(`${base}${pagePath}`)
  await page.waitForSelector('#takedown')
  const reason = await page.textContent('#takedown-reason')
  await page.fill('#counter-statement', statement)
  await page.check('#counter-good-faith')
  await page.click('#counter-send')
  await until(page, 'the counter-notice to be received', () => document.getElementById('counter-notice-message').textContent !== '')
  return { reason, message: await page.textContent('#counter-notice-message') }
}

/** Signed in, the embed's waveform loads: in another site's page, and opened on its own. */
async function embedSignedIn(page, [base, login, password, outer]) {
  await signIn(page, base, login, password)
  const peaksStatus = (frame) =>
    frame.evaluate(async () => {
      const url = document.body.dataset.peaks
      return url ? (await fetch(url, { credentials: 'same-origin' })).status : 0
    })
  await page.goto(outer)
  await page.frameLocator('iframe').locator('body[data-ready=true]').waitFor({ timeout: TIMEOUT })
  const framed = await peaksStatus(page.frames().find((f) => f !== page.mainFrame()))
  const src = await page.getAttribute('iframe', 'src')
  await page.goto(src)
  await page.waitForSelector('body[data-ready=true]')
  const own = await peaksStatus(page.mainFrame())
  return { framed, own }
}

const JOURNEYS = { 'embed-signed-in': embedSignedIn, signup, dj, listener, stats, embed, narrow, 'reset-request': resetRequest, reset, moderate, notice, decide, counter }

run('journeys.mjs', JOURNEYS)

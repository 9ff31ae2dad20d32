#!/usr/bin/env node
// Drives the web player in headless Chromium (Debian's /usr/bin/chromium):
// play a ready cloudcast, check that heartbeats are made and acknowledged,
// that none are made while paused, seek by clicking the waveform, check that
// playback continues from there and that beats from the new position are
// acknowledged, then close the tab (queued beats leave with sendBeacon).
//
//   node web/tests/listen_page.mjs BASE_URL CLOUDCAST_ID SEEK_SECONDS
//
// Env: SCREENSHOT=path.png   save a screenshot of the final page
//      CHROMIUM=path         browser binary (default /usr/bin/chromium)
//      TIMEOUT_MS=ms         timeout of each playback wait (default 60000)
//
// Prints one line of JSON on success and exits 0; prints the reason to stderr
// and exits 1 on failure. The browser is always closed.

import { launch } from './browser.mjs'

const PAUSE_MS = 2500

const delay = (ms) => new Promise((r) => setTimeout(r, ms))

function fail(message) {
  const err = new Error(message)
  err.expected = true
  throw err
}

function argsOrUsage() {
  const [base, id, seekArg] = process.argv.slice(2)
  const seek = Number(seekArg)
  if (!base || !id || seekArg === undefined || !Number.isFinite(seek) || seek < 0) {
    process.stderr.write('usage: node web/tests/listen_page.mjs BASE_URL CLOUDCAST_ID SEEK_SECONDS\n')
    process.exit(2)
  }
  return { base: base.replace(/\/+$/, ''), id, seek }
}

const num = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10)
  return Number.isFinite(v) && v >= 0 ? v : dflt
}

const { base, id, seek } = argsOrUsage()
const timeout = num('TIMEOUT_MS', 60_000)
const pageUrl = `${base}/listen/${encodeURIComponent(id)}`

/** The player's state plus the audio element's clock, read in one go. */
const readState = (page) =>
  page.evaluate(() => {
    const a = document.getElementById('audio')
    return { ...window.cloudcastPlayer, lastBeat: undefined, currentTime: a.currentTime, paused: a.paused, seeking: a.seeking }
  })

/**
 * Waits until `predicate(state, audio)` holds for the state read from the
 * page (polled from here: the pages' policy allows no script the page did
 * not load, so no predicate is compiled inside it); fails early on a player
 * error.
 */
async function waitForPlayer(page, what, predicate, ms = timeout) {
  const deadline = Date.now() + ms
  for (;;) {
    const s = await readState(page).catch(() => null)
    if (s && s.state === 'error') fail(`the player reported an error while waiting for ${what}: ${s.error}`)
    if (s && predicate(s, s)) return s
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}; player state ${JSON.stringify(s)}`)
    await page.waitForTimeout(100)
  }
}

async function waitForReady(page) {
  try {
    await page.waitForFunction(
      () => document.body.dataset.ready === 'true' && !!document.getElementById('play-this'),
      null,
      { timeout: 30_000 },
    )
  } catch {
    const message = (await page.textContent('#error').catch(() => ''))?.trim()
    fail(`the player did not get ready${message ? `: ${message}` : ''}`)
  }
  // The page is the cloudcast's own: its Play loads the mix into the player bar.
  await page.click('#play-this')
  const s = await waitForPlayer(page, 'the mix to load', (s) => s.ready && s.durationMs > 0, 30_000)
  return s
}

/** Pausing stops the beats: none are made while paused. */
async function checkPauseMakesNoBeats(page) {
  await page.click('#play')
  const paused = await waitForPlayer(page, 'the pause', (s, a) => a.paused && s.state === 'paused', 10_000)
  await delay(PAUSE_MS)
  const later = await readState(page)
  if (later.beatsMade !== paused.beatsMade) {
    fail(`${later.beatsMade - paused.beatsMade} beats were made during a ${PAUSE_MS} ms pause`)
  }
  if (Math.abs(later.currentTime - paused.currentTime) > 0.01) {
    fail(`the audio moved while paused: ${paused.currentTime} -> ${later.currentTime}`)
  }
  await page.click('#play')
  await waitForPlayer(page, 'playback to resume', (s, a) => !a.paused && s.state === 'playing', timeout)
}

/** Seeks by clicking the waveform where SEEK_SECONDS is; returns where the audio landed. */
async function seekByClick(page, duration) {
  const canvas = page.locator('#waveform')
  await canvas.scrollIntoViewIfNeeded()
  const box = await canvas.boundingBox()
  if (!box || box.width <= 0) fail('the waveform has no size on the page')
  const x = box.x + box.width * (seek / duration)
  await page.mouse.click(x, box.y + box.height / 2)
  // One CSS pixel of the waveform is duration/width seconds; the rest is the player's rounding.
  const tolerance = duration / box.width + 2
  const s = await waitForPlayer(page, 'the seek to finish', (s, a) => !a.seeking, timeout)
  if (Math.abs(s.currentTime - seek) > tolerance) {
    fail(`clicking the waveform at ${seek} s landed at ${s.currentTime} s (tolerance ${tolerance.toFixed(2)} s)`)
  }
  return s.currentTime
}

/**
 * Takes the heartbeat requests' network away (fetch fails, as offline)
 * until beats are queued, then pauses, so no more beats are made: the
 * queue can only leave by sendBeacon when the tab closes. Returns the
 * state then.
 */
async function queueBeatsBeforeClose(page) {
  await page.evaluate(() => {
    const real = window.fetch
    window.fetch = (url, init) =>
      String(url).includes('/api/v1/heartbeats') ? Promise.reject(new TypeError('offline')) : real(url, init)
  })
  await waitForPlayer(page, 'beats to queue while offline', (s) => s.pending >= 2, timeout)
  await page.evaluate(() => document.getElementById('audio').pause())
  await waitForPlayer(page, 'the pause', (s, a) => a.paused, timeout)
  return readState(page)
}

async function main() {
  const browser = await launch(['--autoplay-policy=no-user-gesture-required'])
  try {
    const context = await browser.newContext({ viewport: { width: 900, height: 760 } })
    const page = await context.newPage()
    page.on('dialog', (d) => d.accept().catch(() => {}))
    const pageErrors = []
    page.on('pageerror', (e) => pageErrors.push(String(e)))

    const resp = await page.goto(pageUrl, { waitUntil: 'load' })
    if (!resp || !resp.ok()) fail(`GET ${pageUrl} answered ${resp ? resp.status() : 'nothing'}`)
    const loaded = await waitForReady(page)
    const duration = loaded.durationMs / 1000
    if (seek + 6 > duration) fail(`SEEK_SECONDS ${seek} leaves no room to play on in a ${duration} s mix`)

    // 1. Play: the audio moves and beats are acknowledged.
    await waitForPlayer(page, '3 s of playback and 2 acknowledged beats', (s, a) => a.currentTime >= 3 && s.beatsAcked >= 2)

    // 2. Pause: no beats; then play on.
    await checkPauseMakesNoBeats(page)

    // 3. Seek with the waveform; playback continues from there and its beats arrive.
    // Beats are acknowledged in the order they were made, so acknowledging more than
    // were made before the click proves a beat from after the seek arrived (which
    // matters for a seek backwards, where maxAckedPositionMs is already past the landing).
    const beforeSeek = await readState(page)
    const landedAt = await seekByClick(page, duration)
    await waitForPlayer(
      page,
      `playback to reach ${(landedAt + 4).toFixed(1)} s with a beat from there acknowledged`,
      (s, a) =>
        a.currentTime >= landedAt + 4 &&
        s.maxAckedPositionMs >= Math.floor(landedAt * 1000) + 2900 &&
        s.beatsAcked > beforeSeek.beatsMade,
    )
    const final = await readState(page)
    if (final.beatsAcked > final.beatsMade) fail(`more beats acknowledged (${final.beatsAcked}) than made (${final.beatsMade})`)

    if (process.env.SCREENSHOT) {
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })
    }
    if (pageErrors.length > 0) fail(`page errors: ${pageErrors.join('; ')}`)

    // 4. Close the tab with beats queued: pagehide hands them to sendBeacon.
    const queued = await queueBeatsBeforeClose(page)
    const beacons = []
    context.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/v1/heartbeats')) beacons.push(r)
    })
    const closed = page.waitForEvent('close', { timeout: 10_000 }).catch(() => {})
    await page.close({ runBeforeUnload: true })
    await closed
    // A beacon outlives its page: let it reach the server before the browser goes.
    // (A beacon is not always seen as a request of the closed page: wait a little in any case.)
    await Promise.all([delay(1500), Promise.race([Promise.all(beacons.map((r) => r.response().catch(() => null))), delay(5000)])])
    if (pageErrors.length > 0) fail(`page errors: ${pageErrors.join('; ')}`)

    process.stdout.write(
      `${JSON.stringify({
        engine: final.engine,
        sessionId: final.sessionId,
        beatsMade: queued.beatsMade,
        beatsAcked: final.beatsAcked,
        queuedAtClose: queued.pending,
        requests: queued.requests,
        maxAckedPositionMs: final.maxAckedPositionMs,
        landedAt,
        finalTime: final.currentTime,
      })}\n`,
    )
  } finally {
    await browser.close().catch(() => {})
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`listen_page: ${err.expected ? err.message : err.stack || err}\n`)
    process.exit(1)
  },
)

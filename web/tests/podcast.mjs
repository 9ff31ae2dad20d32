#!/usr/bin/env node
// Podcast apps and downloads (tests/it/podcast.rs prepares the DJ, the
// mixes and their downloads, and checks what is read here):
//
//   node web/tests/podcast.mjs parse FEED_URL
//     reads the feed with the Podcast Index's parser (podcast-partytime)
//     and resolves each item's chapters file, as an app would.
//   node web/tests/podcast.mjs pages PROFILE_URL MIX_URL ENCLOSURE_URL [LOGIN PASSWORD]
//     the profile's feed discovery and subscribe box; the mix page's
//     download (saved through the browser); then the enclosure played in
//     an <audio> element and sought to its middle.
//   node web/tests/podcast.mjs stats BASE MIX_URL LOGIN PASSWORD
//     the downloads on the mix's statistics page, as its DJ reads them.
//
// Prints one line of JSON.

import { statSync } from 'node:fs'
import { parseFeed } from 'podcast-partytime'
import { run, shot, signIn } from './kit.mjs'

async function parse(_page, [feedUrl]) {
  const res = await fetch(feedUrl)
  if (!res.ok) throw new Error(`the feed answered ${res.status}`)
  const feed = parseFeed(await res.text())
  if (!feed) throw new Error('podcast-partytime could not read the feed')
  const items = []
  for (const i of feed.items) {
    let chapters = null
    if (i.podcastChapters) {
      const c = await fetch(i.podcastChapters.url)
      chapters = { type: i.podcastChapters.type, status: c.status, contentType: c.headers.get('content-type'), body: await c.json() }
    }
    items.push({ title: i.title, guid: i.guid, duration: i.duration, enclosure: i.enclosure, explicit: i.explicit, image: i.itunesImage || i.image || null, chapters })
  }
  return {
    title: feed.title,
    guid: feed.guid || null,
    locked: feed.locked ?? null,
    owner: feed.owner || null,
    podcastOwner: feed.podcastOwner || null,
    categories: feed.categories || [],
    explicit: feed.explicit,
    image: feed.itunesImage || feed.image?.url || null,
    items,
  }
}

async function pages(page, [profile, mix, enclosure, login, password]) {
  const base = new URL(profile).origin
  if (login) await signIn(page, base, login, password)
  await page.goto(profile)
  const alternate = await page.getAttribute('link[rel="alternate"][type="application/rss+xml"]', 'href')
  await page.click('#subscribe summary')
  const subscribe = await page.inputValue('#podcast-url')
  await shot(page, login ? 'podcast-profile-signed-in' : 'podcast-profile')
  await page.goto(mix)
  const link = page.locator('#download')
  const label = (await link.textContent()).trim()
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
  const saved = await download.path()
  const result = { alternate, subscribe, label, filename: download.suggestedFilename(), bytes: statSync(saved).size }

  // The enclosure in the browser's own player: metadata at once, a seek
  // to the middle, and play from there.
  const played = await page.evaluate(async (src) => {
    const a = new Audio()
    a.muted = true
    a.preload = 'metadata'
    const once = (ev) => new Promise((resolve, reject) => {
      a.addEventListener(ev, resolve, { once: true })
      a.addEventListener('error', () => reject(new Error(`audio error ${a.error && a.error.code}`)), { once: true })
    })
    a.src = src
    await once('loadedmetadata')
    const duration = a.duration
    const middle = duration / 2
    a.currentTime = middle
    await once('seeked')
    const seekedTo = a.currentTime
    await a.play()
    await new Promise((resolve) => {
      const t = setInterval(() => { if (a.currentTime > middle + 1) { clearInterval(t); resolve() } }, 100)
    })
    a.pause()
    return { duration, seekedTo, playedTo: a.currentTime }
  }, enclosure)
  return { ...result, audio: played }
}

// A mix's statistics page as its DJ reads it: the downloads section.
async function stats(page, [base, mix, login, password]) {
  await signIn(page, base, login, password)
  await page.goto(`${mix}/stats`)
  await page.waitForSelector('#downloads')
  await shot(page, 'podcast-stats')
  const apps = await page.locator('#download-apps tbody tr').evaluateAll((rows) => rows.map((r) => [r.cells[0].textContent.trim(), Number(r.cells[1].textContent)]))
  return { total: Number(await page.textContent('#downloads-total')), apps, rule: await page.textContent('#downloads .hint') }
}

run('podcast.mjs', { parse, pages, stats })

#!/usr/bin/env node
// A player people keep open, in Chromium (tests/it/web_player.rs prepares
// two mixes and checks what this saw):
//
//   node web/tests/player.mjs keep BASE LOGIN PASSWORD DJ
//
// From the DJ's list, the first mix plays and the queue goes on to the
// next; the lock screen shows the track playing; keys play, pause and
// seek; the volume and the place in the mix survive a reload.

import { player, run, shot, signIn, until } from './kit.mjs'

const session = (page) =>
  page.evaluate(() => {
    const m = navigator.mediaSession && navigator.mediaSession.metadata
    return m ? { title: m.title, artist: m.artist, album: m.album, artwork: m.artwork.map((a) => a.sizes) } : null
  })

async function keep(page, [base, login, password, dj]) {
  await signIn(page, base, login, password)
  await page.goto(`${base}/${dj}`)
  await page.waitForSelector('#h-uploads + ol.cards [data-play]')
  const order = await page.locator('#h-uploads + ol.cards .card-title').allTextContents()
  // The first of the list: the rest of the list is the queue.
  await page.locator('#h-uploads + ol.cards [data-play]').first().click()
  await until(page, 'the first mix to play', () => window.cloudcastPlayer.state === 'playing')
  const first = (await player(page)).title
  const upNext = await page.textContent('#up-next')
  // It ends; the next of the list plays by itself.
  await until(page, 'the queue to move on', (t) => window.cloudcastPlayer.title !== t && window.cloudcastPlayer.state === 'playing', first)
  const second = (await player(page)).title
  // Keys: L moves 10 s twice, then the lock screen shows the track at 20 s.
  // (The play button keeps Space for itself while it has the focus.)
  await page.evaluate(() => document.activeElement && document.activeElement.blur())
  const keysFrom = (await player(page)).currentTime
  const t0 = Date.now()
  await page.keyboard.press('l')
  await page.keyboard.press('l')
  await until(page, 'the seek by keys', (from) => document.getElementById('audio').currentTime >= from + 19.5, keysFrom)
  const keysTookMs = Date.now() - t0
  await until(page, 'the lock screen to show the second track', () => navigator.mediaSession.metadata && navigator.mediaSession.metadata.title.includes('Two'))
  const lockScreen = await session(page)
  await until(page, 'a place saved past 20 s', () => document.getElementById('audio').currentTime >= 25.5)
  await page.keyboard.press(' ')
  await until(page, 'Space to pause', () => window.cloudcastPlayer.state === 'paused')
  const pausedAt = (await player(page)).currentTime
  // A quieter volume, then a reload.
  await page.evaluate(() => {
    const v = document.getElementById('volume')
    v.value = '0.3'
    v.dispatchEvent(new Event('input', { bubbles: true }))
  })
  await page.reload()
  await page.waitForSelector('#h-uploads + ol.cards .card-title')
  const volumeAfterReload = Number(await page.inputValue('#volume'))
  // The mix that was paused, from its own page: it resumes where it stopped.
  await page.locator('#h-uploads + ol.cards .card-title', { hasText: second }).click()
  await page.waitForSelector('#play-this')
  await page.click('#play-this')
  await until(page, 'the resumed mix to play', () => window.cloudcastPlayer.state === 'playing')
  const resumed = await player(page)
  const note = (await page.textContent('#resume-note')).replace(/\s+/g, ' ').trim()
  const audioVolume = await page.evaluate(() => document.getElementById('audio').volume)
  await shot(page, 'player-bar')
  return { order, first, upNext, second, keysTookMs, lockScreen, pausedAt, volumeAfterReload, audioVolume, resumedAt: resumed.currentTime, note }
}

run('player.mjs', { keep })

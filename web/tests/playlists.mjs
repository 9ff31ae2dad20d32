#!/usr/bin/env node
// Playlists in headless Chromium on the real system (tests/it/web_playlists.rs
// prepares two mixes and checks the stores):
//
//   node web/tests/playlists.mjs make BASE LOGIN PASSWORD MIX_A_URL MIX_B_URL
//     a listener makes a playlist from a mix's page, adds a second mix
//     from a list (the DJ's profile),
//     moves it first on the playlist's page (a button, then dragging), plays all (the queue goes on
//     through the playlist), finds it by search, makes it unlisted, and a
//     visitor without an account opens its secret link and its embed,
//     which plays one mix after the other.
//
// Prints one line of JSON.

import { player, run, shot, signIn, until } from './kit.mjs'

const saidAdded = () => (document.getElementById('action-message')?.textContent || '').startsWith('Added to')

async function make(page, [base, login, password, mixA, mixB]) {
  await signIn(page, base, login, password)
  await page.goto(mixA)
  await until(page, 'my playlists in the picker', () => !!document.querySelector('#playlist-pick option[value=new]'))
  await page.selectOption('#playlist-pick', 'new')
  await page.fill('#playlist-new', 'Road Trip')
  await page.click('#playlist-add')
  await until(page, 'the first mix added', saidAdded)
  // The second from a list: the DJ's profile, the card's "+".
  await page.goto(`${base}/${new URL(mixB).pathname.split('/')[1]}`)
  const card = page.locator('#h-uploads + ol.cards > li', { hasText: 'Beta Road' })
  await card.locator('[data-add-to-playlist]').click()
  await until(page, 'my playlists under the card', () => document.querySelectorAll('form.card-playlist option').length > 1)
  const offered = await card.locator('form.card-playlist option').allTextContents()
  await shot(page, 'card-playlist')
  await card.locator('form.card-playlist button[type=submit]').click()
  await until(page, 'the second mix added', () => (document.querySelector('form.card-playlist .message')?.textContent || '').startsWith('Added to'))
  await card.locator('form.card-playlist .message a').click()
  await page.waitForSelector('#playlist-items li')
  const before = await page.locator('#playlist-items .card-title').allTextContents()
  await page.locator('#playlist-items li').nth(1).locator('button[aria-label^="Move"][aria-label$="up"]').click()
  await until(page, 'the order saved', () => document.getElementById('playlist-message').textContent === 'Order saved.')
  // Dragged back and forth: the last drop is the order kept.
  await page.locator('#playlist-items li').nth(0).dragTo(page.locator('#playlist-items li').nth(1))
  await until(page, 'the drag saved', (t) => document.querySelector('#playlist-items .card-title').textContent === t, before[0])
  const dragged = await page.locator('#playlist-items .card-title').allTextContents()
  await page.locator('#playlist-items li').nth(0).dragTo(page.locator('#playlist-items li').nth(1))
  await until(page, 'the second drag saved', (t) => document.querySelector('#playlist-items .card-title').textContent !== t, before[0])
  await page.reload()
  await page.waitForSelector('#playlist-items li')
  const after = await page.locator('#playlist-items .card-title').allTextContents()
  await shot(page, 'playlist')

  await page.click('#play-all')
  await until(page, 'the playlist to play', () => window.cloudcastPlayer.state === 'playing')
  const playing = (await player(page)).title
  const queued = await page.evaluate(() => window.cloudcastSite.queue.items.map((i) => i.title))

  // Search finds it while it is public.
  const here = page.url()
  await page.goto(`${base}/search?q=road+trip`)
  const found = await page.locator('#found-playlists a').allTextContents()
  await page.goto(here)
  await page.waitForSelector('#playlist-form')

  await page.selectOption('#pl-visibility', 'unlisted')
  await page.click('#pl-save')
  await until(page, 'the playlist saved', () => document.getElementById('playlist-message').textContent === 'Saved.')
  const secretLink = await page.inputValue('#share-url')

  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await page.goto(secretLink)
  await page.waitForSelector('#playlist-title')
  const visitor = {
    title: await page.textContent('#playlist-title'),
    items: await page.locator('#playlist-items .card-title').allTextContents(),
    edit: await page.locator('#playlist-form').count(),
  }
  // Its embed, as another site frames it: one mix ends, the next plays.
  const embedCode = await page.inputValue('#embed-code')
  const embedSrc = embedCode.match(/src="([^"]+)"/)[1].replaceAll('&amp;', '&')
  await page.goto(embedSrc)
  await page.click('#play')
  await until(page, 'the embed to play', () => window.cloudcastPlayer.state === 'playing')
  const embedFirst = await page.getAttribute('#embed-list [aria-current="true"]', 'data-title')
  await until(page, 'the embed to go on to the next mix', () => document.querySelector('#embed-list [aria-current="true"]')?.dataset.title !== document.querySelector('#embed-list [data-id]').dataset.title && window.cloudcastPlayer.state === 'playing')
  const embedSecond = await page.getAttribute('#embed-list [aria-current="true"]', 'data-title')
  const bare = await page.goto(secretLink.split('?')[0])
  return { offered, before, dragged, after, playing, queued, found, secretLink, visitor, embedSrc, embedFirst, embedSecond, bareStatus: bare.status() }
}

run('playlists.mjs', { make })

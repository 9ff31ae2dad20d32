#!/usr/bin/env node
// "More like this" on a mix's page in headless Chromium (tests/it/related.rs
// prepares the co-listening and checks what is read here):
//
//   node web/tests/related.mjs look BASE MIX_URL [LOGIN PASSWORD]
//     opens the mix's page (signed in when a login is given), reads the
//     related cards, plays the first from its card, then follows it to
//     its own page, which has its own related mixes.
//
// Prints one line of JSON.

import { player, run, shot, signIn, until } from './kit.mjs'

const titles = (page) => page.locator('#related .card-title').allTextContents()

async function look(page, [base, mix, login, password]) {
  if (login) await signIn(page, base, login, password)
  await page.goto(mix)
  await page.waitForSelector('#related .card-title')
  const related = await titles(page)
  await shot(page, login ? 'related-signed-in' : 'related')
  await page.locator('#related .play-card').first().click()
  await until(page, 'the related mix to play', () => window.cloudcastPlayer.state === 'playing')
  const playing = (await player(page)).title
  await page.locator('#related .card-title').first().click()
  await until(page, 'its page', (t) => document.getElementById('title')?.textContent.trim() === t, related[0])
  await page.waitForSelector('#related .card-title')
  return { related, playing, next: await titles(page), stillPlaying: (await player(page)).title }
}

run('related.mjs', { look })

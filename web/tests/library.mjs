#!/usr/bin/env node
// A listener's library and the ways to people, in headless Chromium on the
// real system (tests/it/web_library.rs prepares the stores and checks what
// these saw):
//
//   node web/tests/library.mjs library BASE LOGIN PASSWORD
//   node web/tests/library.mjs follows BASE USERNAME
//   node web/tests/library.mjs search  BASE QUERY
//
// `WIDTH=375` runs one at phone width. Each prints one line of JSON.

import { TIMEOUT, player, run, shot, signIn, until } from './kit.mjs'

const texts = (page, sel) => page.locator(sel).allTextContents()

/** Signed in: every section of the library from the header's link, then a mix resumed where it stopped. */
async function library(page, [base, login, password]) {
  await signIn(page, base, login, password)
  await page.click('#nav-library')
  await page.waitForSelector('main[data-page=library] h1')
  await shot(page, 'library')
  const sections = {}
  for (const id of ['feed', 'history', 'listen-later', 'favourites', 'reposts']) {
    sections[id] = await texts(page, `#${id} .card-title`)
  }
  const feedBy = await texts(page, '#feed .feed-by')
  // One section on its own page, reached from its tab.
  await page.click('nav.tabs a[href="/library/favourites"]')
  await page.waitForSelector('main[data-page=library] nav.tabs a[aria-current=page][href="/library/favourites"]')
  const favouritesPage = await texts(page, 'main .card-title')
  // Resume: the history's button starts the mix where the listener stopped.
  await page.click('nav.tabs a[href="/library/history"]')
  await page.waitForSelector('#history button.resume')
  const resumeLabel = (await page.textContent('#history button.resume')).trim()
  const at = Number(await page.getAttribute('#history button.resume', 'data-at'))
  await page.click('#history button.resume')
  await until(page, 'the resumed mix to play', () => window.cloudcastPlayer.state === 'playing')
  const p = await player(page)
  return { sections, feedBy, favouritesPage, resumeLabel, at, resumedAt: p.currentTime }
}

/** Signed out: a profile's follower and followed counts lead to their lists. */
async function follows(page, [base, username]) {
  await page.goto(`${base}/${username}`)
  await page.waitForSelector('#profile-name')
  const counts = await page.textContent('.profile .counts')
  await page.click('#followers-link')
  await page.waitForSelector('main[data-page=follows] h1')
  const followers = await texts(page, 'main .people a')
  await page.click('main a[href$="/following"]')
  await until(page, 'the following list', () => location.pathname.endsWith('/following'))
  await page.waitForSelector('main[data-page=follows] h1')
  const following = await texts(page, 'main .people a')
  await shot(page, 'following')
  return { counts: counts.replace(/\s+/g, ' ').trim(), followers, following }
}

/** Signed out, by keyboard: the header's suggestions, then the results page. */
async function search(page, [base, query]) {
  await page.goto(`${base}/`)
  await page.focus('#site-search')
  await page.keyboard.type(query, { delay: 30 })
  await page.waitForSelector('#search-suggestions:not([hidden]) a', { timeout: TIMEOUT })
  const suggestions = await texts(page, '#search-suggestions a')
  await page.keyboard.press('Enter')
  await page.waitForSelector('main[data-page=search] h1')
  await shot(page, 'search-results')
  const result = {
    suggestions,
    users: await texts(page, 'main .people a'),
    tags: await texts(page, 'main .tags a.tag'),
    mixes: await texts(page, 'main .card-title'),
  }
  // From the results, by keyboard: the first person's link opens their profile.
  if (result.users.length) {
    await page.focus('main .people a')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#profile-name')
    result.opened = new URL(page.url()).pathname
  }
  return result
}

run('library.mjs', { library, follows, search })

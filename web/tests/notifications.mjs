#!/usr/bin/env node
// The bell, live, in headless Chromium on the real system behind nginx
// (tests/it/web_notifications.rs starts the nodes and checks what these saw).
// A listener acts on another node, through the API with their token, while
// the DJ's page stays open:
//
//   node web/tests/notifications.mjs live   BASE LOGIN PASSWORD LISTENER_BASE TOKEN DJ CLOUDCAST
//   node web/tests/notifications.mjs capped BASE LOGIN PASSWORD LISTENER_BASE TOKEN CLOUDCAST
//
// Each prints one line of JSON.

import { run, shot, signIn, until } from './kit.mjs'

const unread = (page) => page.evaluate(() => Number(document.getElementById('nav-bell')?.dataset.unread))
const mode = (page) => page.evaluate(() => document.body.dataset.bell || null)

async function act(base, token, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`)
}

/** The DJ browses their library while a listener follows and comments; the bell counts up; the page lists both; all read. */
async function live(page, [base, login, password, listenerBase, token, dj, cloudcast]) {
  await signIn(page, base, login, password)
  await page.click('#nav-library')
  await page.waitForSelector('main[data-page=library] h1')
  await until(page, 'the bell to listen', () => document.body.dataset.bell === 'stream')
  // The stream says the count when it opens: wait for that before acting.
  await page.waitForTimeout(500)
  const before = await unread(page)
  await act(listenerBase, token, 'PUT', `/api/v1/users/${dj}/follow`)
  await until(page, 'the follow to reach the bell', (n) => Number(document.getElementById('nav-bell').dataset.unread) === n, before + 1)
  const afterFollow = await unread(page)
  await act(listenerBase, token, 'POST', `/api/v1/cloudcasts/${cloudcast}/comments`, { body: `Lovely build, @${dj}` })
  await until(page, 'the comment to reach the bell', (n) => Number(document.getElementById('nav-bell').dataset.unread) === n, before + 2)
  const afterComment = await unread(page)
  const stillOn = await page.evaluate(() => location.pathname)
  // By keyboard: the bell is a link in the header.
  await page.focus('#nav-bell')
  await page.keyboard.press('Enter')
  await page.waitForSelector('main[data-page=notifications] h1')
  const items = await page.locator('.notification a[data-read]').allTextContents()
  const unreadItems = await page.locator('.notification.unread').count()
  await shot(page, 'notifications')
  await page.click('#read-all')
  await until(page, 'everything read', () => !document.querySelector('.notification.unread') && document.getElementById('nav-bell').dataset.unread === '0')
  // Reloaded, the page says the same as the bell.
  await page.reload()
  await page.waitForSelector('main[data-page=notifications] h1')
  return {
    before,
    afterFollow,
    afterComment,
    stillOn,
    items,
    unreadItems,
    afterRead: await unread(page),
    unreadAfterReload: await page.locator('.notification.unread').count(),
    mode: await mode(page),
  }
}

/** A node that keeps one stream: the second page polls, and still counts up. */
async function capped(page, [base, login, password, listenerBase, token, cloudcast]) {
  await signIn(page, base, login, password)
  await until(page, 'the first page to listen', () => document.body.dataset.bell === 'stream')
  const second = await page.context().newPage()
  await second.goto(`${base}/library`)
  await until(second, 'the second page to poll', () => document.body.dataset.bell === 'poll')
  await second.waitForTimeout(500)
  const before = await unread(second)
  await act(listenerBase, token, 'PUT', `/api/v1/cloudcasts/${cloudcast}/favourite`)
  await until(second, 'the polled count to rise', (n) => Number(document.getElementById('nav-bell').dataset.unread) === n, before + 1)
  return { first: await mode(page), second: await mode(second), before, after: await unread(second) }
}

run('notifications.mjs', { live, capped })

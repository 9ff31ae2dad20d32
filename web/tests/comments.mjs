#!/usr/bin/env node
// Comments people control, in Chromium on a cloudcast's page
// (tests/it/web_comments.rs prepares the comments and checks the stores):
//
//   node web/tests/comments.mjs listener BASE LOGIN PASSWORD PAGE_PATH
//   node web/tests/comments.mjs dj       BASE LOGIN PASSWORD PAGE_PATH
//
// `WIDTH=375` runs one at phone width. Each prints one line of JSON.

import { player, run, shot, signIn, until } from './kit.mjs'

const byText = (page, text) => page.locator('#comment-list > li', { hasText: text }).first()

/** A listener plays from a comment's moment, replies, reports and posts a pinned comment with a mention. */
async function listener(page, [base, login, password, path]) {
  await signIn(page, base, login, password)
  await page.goto(`${base}${path}`)
  await page.waitForSelector('#comment-list')
  // A comment at a moment of the mix: its button plays from there.
  await page.click('#comment-list button.at')
  await until(page, 'playback from the comment', () => window.cloudcastPlayer.state === 'playing' && document.getElementById('audio').currentTime >= 9.5)
  const seekedTo = (await player(page)).currentTime
  // So does its mark on the waveform.
  const marks = await page.locator('#comment-marks .mark').count()
  // Reply by keyboard.
  const spam = byText(page, 'buy followers')
  await spam.locator('[data-reply]').focus()
  await page.keyboard.press('Enter')
  await page.keyboard.type('Please do not.')
  await page.keyboard.press('Tab') // to "Post reply"
  await page.keyboard.press('Enter')
  await until(page, 'the reply under its comment', () => [...document.querySelectorAll('#comment-list .replies li')].some((li) => li.textContent.includes('Please do not.')))
  // Report with a reason, in the page (no prompt).
  await spam.locator('[data-report]').click()
  await spam.locator('form.inline select').selectOption('spam')
  await spam.locator('form.inline textarea').fill('selling followers')
  await spam.locator('form.inline button[type=submit]').click()
  await until(page, 'the report to be sent', () => document.getElementById('action-message').textContent.startsWith('Reported'))
  // A new comment at the moment playing, mentioning the DJ.
  await page.fill('#comment-body', 'Thanks @cm_dj for this part')
  await page.check('#comment-at')
  await page.click('#comment-send')
  await until(page, 'the new comment', () => document.getElementById('comment-list').textContent.includes('for this part'))
  const mine = byText(page, 'for this part')
  await shot(page, 'comments')
  return {
    seekedTo,
    marks,
    mentionHref: await mine.locator('a.mention').getAttribute('href'),
    pinnedAt: (await mine.locator('button.at').textContent()).trim(),
    ownButtons: await mine.locator('.comment-actions button').allTextContents(),
    othersButtons: await spam.locator(':scope > .comment-actions button').allTextContents(),
  }
}

/** The DJ deletes someone's comment on their mix. */
async function dj(page, [base, login, password, path]) {
  await signIn(page, base, login, password)
  await page.goto(`${base}${path}`)
  await page.waitForSelector('#comment-list')
  const spam = byText(page, 'buy followers')
  const buttons = await spam.locator(':scope > .comment-actions button').allTextContents()
  await spam.locator(':scope > .comment-actions [data-delete-comment]').click()
  await until(page, 'the comment to go', () => !document.getElementById('comment-list').textContent.includes('buy followers'))
  await shot(page, 'comments-dj')
  return { buttons, left: (await page.locator('#comment-list > li').count()) }
}

run('comments.mjs', { listener, dj })

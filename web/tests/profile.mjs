#!/usr/bin/env node
// A DJ edits their profile in the settings page, and another visitor reads
// it (tests/it/web_profile.rs checks the stores and what these saw):
//
//   node web/tests/profile.mjs edit BASE LOGIN PASSWORD PICTURE
//   node web/tests/profile.mjs view BASE USERNAME
//   node web/tests/profile.mjs comments BASE OWNER FAN PASSWORD
//     a visitor sees the profile's comments; a fan comments; the owner
//     deletes it, then turns comments on the profile off in settings.
//
// `WIDTH=375` runs one at phone width. Each prints one line of JSON.

import { run, shot, signIn, until } from './kit.mjs'

/** What a profile page shows. */
async function read(page) {
  await page.waitForSelector('#profile-name')
  return {
    name: (await page.textContent('#profile-name')).trim(),
    bio: await page.locator('#profile-bio').textContent().catch(() => null),
    fields: (await page.locator('.profile .field').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim()),
    links: await page.$$eval('#profile-links a', (as) => as.map((a) => ({ href: a.getAttribute('href'), rel: a.getAttribute('rel') }))),
    avatar: await page.locator('.profile img.avatar').getAttribute('src').catch(() => null),
  }
}

async function edit(page, [base, login, password, picture]) {
  await signIn(page, base, login, password)
  await page.click('header.site a[href="/settings"]')
  await until(page, 'the settings to load', () => window.cloudcastSettings && window.cloudcastSettings.state === 'ready')
  await page.fill('#pf-real_name', 'Sunny Beam')
  await page.fill('#pf-bio', 'Deep house at sunrise.\nEvery Sunday.')
  await page.fill('#pf-city', 'Leeds')
  await page.selectOption('#pf-country', 'GB')
  await page.fill('#pf-links', 'https://sunbeam.example\nhttps://social.example/@sunbeam')
  for (const f of ['real_name', 'bio', 'country', 'links', 'avatar']) await page.check(`#vis-${f}`)
  // The city stays private.
  await page.setInputFiles('#avatar-file', picture)
  await until(page, 'the picture to be ready to save', () => !document.getElementById('avatar-save').disabled)
  // Move the crop by keyboard: the picture slides right, its left part comes into the square.
  await page.focus('#avatar-preview')
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight')
  await page.click('#avatar-save')
  await until(page, 'the picture to be saved', () => document.getElementById('avatar-status').textContent !== '')
  const avatarStatus = await page.textContent('#avatar-status')
  await page.click('#profile-save')
  await until(page, 'the profile to be saved', () => document.getElementById('profile-status').textContent !== '')
  const profileStatus = await page.textContent('#profile-status')
  await shot(page, 'settings-profile')
  await page.click('#profile-link')
  const own = await read(page)
  await shot(page, 'profile-edited')
  return { avatarStatus, profileStatus, own }
}

async function view(page, [base, username]) {
  await page.goto(`${base}/${username}`)
  const seen = await read(page)
  // Signing up from here comes back here.
  seen.signUpHref = await page.getAttribute('header.site a[href^="/sign-up"]', 'href')
  return seen
}

async function comments(page, [base, owner, fan, password]) {
  await page.goto(`${base}/${owner}`)
  await page.waitForSelector('#profile-name')
  const signedOut = { form: await page.locator('#comment-form').count(), none: await page.locator('#no-comments').count() }

  await signIn(page, base, fan, password)
  await page.goto(`${base}/${owner}`)
  await page.fill('#comment-body', 'Lovely sunrise sets')
  await page.click('#comment-send')
  await until(page, 'the comment on the profile', () => [...document.querySelectorAll('#comment-list > li')].some((li) => li.textContent.includes('Lovely sunrise sets')))
  const said = await page.textContent('#profile-comments-message')
  await shot(page, 'profile-comment')

  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await signIn(page, base, owner, password)
  await page.goto(`${base}/${owner}`)
  await page.waitForSelector('#comment-list > li')
  const ownerSaw = await page.locator('#comment-list > li .comment-body').allTextContents()
  const ownForm = await page.locator('#comment-form').count()
  await page.click('#comment-list > li [data-delete-comment]')
  await until(page, 'the comment to go', () => document.querySelectorAll('#comment-list > li').length === 0)

  await page.goto(`${base}/settings`)
  await until(page, 'the settings to load', () => window.cloudcastSettings && window.cloudcastSettings.state === 'ready')
  const switchedOn = await page.isChecked('#profile-comments')
  await page.uncheck('#profile-comments')
  await page.click('#save-preferences')
  await until(page, 'the preferences to be saved', () => document.getElementById('preferences-saved').textContent !== '')
  await page.context().clearCookies()
  await page.evaluate(() => localStorage.clear())
  await page.goto(`${base}/${owner}`)
  await page.waitForSelector('#profile-name')
  return { signedOut, said, ownerSaw, ownForm, switchedOn, sectionAfterOff: await page.locator('#comments').count() }
}

run('profile.mjs', { edit, view, comments })

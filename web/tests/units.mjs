#!/usr/bin/env node
// The page scripts' pure rules, run in Node (no browser): how a typed
// tracklist, a pasted cue sheet and purchase links are read, and how a
// mix's state is worded. Prints {"passed": n}; a failed check exits 1.

import assert from 'node:assert/strict'
import { clock, cueToTracks, linksToText, statusText, textToLinks, textToTracks, tracksToText } from '../src/mix_editor.js'

const checks = []
const check = (name, fn) => checks.push([name, fn])

check('timed lines, with hours, brackets and either dash', () => {
  assert.deepEqual(textToTracks('00:00 Opening – Warm-up\n[4:05] DJ Two - Second\n1:02:03 Last — Light\n'), [
    { start_ms: 0, artist: 'Opening', title: 'Warm-up' },
    { start_ms: 245_000, artist: 'DJ Two', title: 'Second' },
    { start_ms: 3_723_000, artist: 'Last', title: 'Light' },
  ])
  assert.throws(() => textToTracks('no time here'), /line 1/)
})

check('a cue sheet pasted as it is', () => {
  const cue = [
    'PERFORMER "DJ Dawn"',
    'TITLE "First Light"',
    'FILE "mix.wav" WAVE',
    '  TRACK 01 AUDIO',
    '    TITLE "Warm-up"',
    '    PERFORMER "Opening"',
    '    INDEX 01 00:00:00',
    '  TRACK 02 AUDIO',
    '    TITLE "Last light"',
    '    PERFORMER "Closing"',
    '    INDEX 01 65:30:45',
  ].join('\r\n')
  assert.deepEqual(textToTracks(cue), [
    { start_ms: 0, artist: 'Opening', title: 'Warm-up' },
    { start_ms: 3_930_600, artist: 'Closing', title: 'Last light' },
  ])
  assert.throws(() => cueToTracks('TRACK 01 AUDIO\nTITLE "x"'), /no INDEX 01/)
})

check('tracklists and links read back as they are written', () => {
  const tracks = [{ start_ms: 3_723_000, artist: 'A', title: 'B' }]
  assert.deepEqual(textToTracks(tracksToText(tracks)), tracks)
  assert.equal(clock(65_000), '01:05')
  const links = [{ label: 'Bandcamp', url: 'https://x.example/a' }]
  assert.deepEqual(textToLinks(linksToText(links)), links)
  assert.deepEqual(textToLinks('Beatport https://b.example'), [{ label: 'Beatport', url: 'https://b.example' }])
  assert.throws(() => textToLinks('https://only.example'), /line 1/)
})

check('a mix state in words', () => {
  assert.equal(statusText({ status: 'processing', progress: 42 }), 'processing, 42%')
  assert.equal(statusText({ status: 'ready', visibility: 'unlisted', draft: true }), 'ready, unlisted · draft: only you see it until you publish it')
  assert.equal(statusText({ status: 'failed', error: 'not audio' }), 'failed: not audio')
})

let passed = 0
for (const [name, fn] of checks) {
  try {
    fn()
    passed++
  } catch (err) {
    process.stderr.write(`units: ${name}: ${err.message}\n`)
    process.exit(1)
  }
}
process.stdout.write(`${JSON.stringify({ passed })}\n`)

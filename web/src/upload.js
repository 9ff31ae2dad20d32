// Cloudcast DJ upload page: sign in, then a resumable tus upload of one mix,
// uploaded as a draft: the details (mix_editor.js) are filled in while the
// file uploads, sent once the cloudcast exists, and the DJ publishes it
// when it is ready. "My mixes" below gains the new mix at once.
//
// Resuming: tus-js-client stores the upload URL in localStorage under a
// fingerprint of the file (name, type, size, lastModified, endpoint). On Start
// we look that fingerprint up; if an unfinished upload exists we continue it
// (a HEAD request tells the server's durable offset) instead of starting over.
// Signing in sets the HttpOnly session cookie, which every API and tus
// request carries; localStorage only remembers who is signed in.
//
// window.cloudcastUpload mirrors the page's state for tests and scripts.

import { Upload, isSupported } from 'tus-js-client'
import { detailsForm, saveDetails, statusText } from './mix_editor.js'
import { TOKEN_KEY, api, authHeaders, errorMessage, loadToken, signIn as sessionSignIn } from './session.js'

const ENDPOINT = '/api/v1/uploads'
const DEFAULT_CHUNK = 8 * 1024 * 1024
const POLL_MS = 2000

const $ = (id) => document.getElementById(id)

const ui = {
  signinSection: $('signin-section'),
  signinForm: $('signin-form'),
  login: $('login'),
  password: $('password'),
  signin: $('signin'),
  signinError: $('signin-error'),
  uploadSection: $('upload-section'),
  whoami: $('whoami'),
  signout: $('signout'),
  uploadForm: $('upload-form'),
  file: $('file'),
  title: $('title'),
  start: $('start'),
  pause: $('pause'),
  progress: $('progress'),
  progressText: $('progress-text'),
  status: $('status'),
  cloudcastStatus: $('cloudcast-status'),
  detailsForm: $('details-form'),
  saveDetails: $('save-details'),
  publish: $('publish'),
  detailsStatus: $('details-status'),
}

/** Public, test-visible state. One object, updated in place. */
const state = {
  signedIn: false,
  state: 'idle', // idle | uploading | paused | done | error
  bytesUploaded: 0,
  bytesAccepted: 0,
  bytesTotal: 0,
  resumedFrom: null,
  uploadUrl: null,
  cloudcastId: null,
  cloudcastStatus: null,
  error: null,
  // The details: typed but not sent yet (`dirty`), sent, or published.
  details: 'empty', // empty | dirty | saved | published
}
window.cloudcastUpload = state
let details = null // the details form's { values(), cover }

let upload = null // the current tus Upload
let uploadFile = null // the File it belongs to
let pollTimer = null
let starting = false

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function chunkSize() {
  const raw = new URLSearchParams(window.location.search).get('chunk')
  const n = raw == null ? NaN : Number.parseInt(raw, 10)
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_CHUNK
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`
  return `${(n / (1024 * 1024 * 1024)).toFixed(2)} GiB`
}

function percent(done, total) {
  if (!total) return 0
  return Math.floor((done / total) * 1000) / 10
}

function setStatus(text, kind = 'info') {
  ui.status.textContent = text
  ui.status.dataset.kind = kind
}

function setCloudcastStatus(text, kind = 'info') {
  ui.cloudcastStatus.textContent = text
  ui.cloudcastStatus.dataset.kind = kind
  ui.cloudcastStatus.hidden = text === ''
}

function setProgress(done, total) {
  state.bytesUploaded = done
  state.bytesTotal = total
  const p = percent(done, total)
  ui.progress.value = p
  ui.progressText.textContent = total ? `${p.toFixed(1)}% · ${formatBytes(done)} of ${formatBytes(total)}` : ''
}

function setUploadState(s) {
  state.state = s
  const busy = s === 'uploading'
  ui.start.disabled = busy || !state.signedIn
  ui.pause.disabled = !busy
  ui.file.disabled = busy
  ui.title.disabled = busy
  ui.start.textContent = s === 'paused' ? 'Resume' : 'Start'
}

// ---------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------

function showSignedIn(name) {
  state.signedIn = true
  ui.whoami.textContent = name || 'you'
  ui.signinSection.hidden = true
  ui.uploadSection.hidden = false
  setUploadState(state.state)
}

function showSignedOut(message) {
  state.signedIn = false
  ui.signinSection.hidden = false
  ui.uploadSection.hidden = true
  ui.signinError.textContent = message || ''
  setUploadState(state.state === 'uploading' ? 'paused' : state.state)
}

function forgetSession(message) {
  localStorage.removeItem(TOKEN_KEY)
  if (upload && state.state === 'uploading') {
    upload.abort()
    setUploadState('paused')
  }
  showSignedOut(message)
}

async function signIn(event) {
  event.preventDefault()
  ui.signinError.textContent = ''
  const login = ui.login.value.trim()
  const password = ui.password.value
  if (!login || !password) {
    ui.signinError.textContent = 'Enter your username (or email) and password.'
    return
  }
  ui.signin.disabled = true
  try {
    // The shared sign-in: with an authenticator app it asks for the code.
    await sessionSignIn(login, password)
    ui.password.value = ''
    showSignedIn(login)
    await whoAmI()
  } catch (err) {
    ui.signinError.textContent = err.message
  } finally {
    ui.signin.disabled = false
  }
}

/** Shows the account name; drops a token the server no longer accepts. */
async function whoAmI() {
  try {
    const me = await api('GET', '/api/v1/me')
    if (me && me.username) ui.whoami.textContent = me.username
  } catch (err) {
    if (err.status === 401) forgetSession('Your session has ended; please sign in again.')
  }
}

async function signOut() {
  if (upload && state.state === 'uploading') await upload.abort()
  try {
    await api('DELETE', '/api/v1/sessions')
  } catch {
    // signing out locally is what matters
  }
  forgetSession('')
  setUploadState(state.state === 'uploading' ? 'paused' : state.state)
}

// ---------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------

function resetForNewUpload() {
  stopPolling()
  ui.publish.disabled = true
  if (state.details !== 'empty') state.details = 'dirty'

  Object.assign(state, {
    resumedFrom: null,
    uploadUrl: null,
    cloudcastId: null,
    cloudcastStatus: null,
    error: null,
    bytesAccepted: 0,
  })
  setCloudcastStatus('')
  setProgress(0, uploadFile ? uploadFile.size : 0)
}

function newUpload(file) {
  const title = ui.title.value.trim()
  return new Upload(file, {
    endpoint: ENDPOINT,
    chunkSize: chunkSize(),
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
    metadata: { filename: file.name, title: title || file.name, draft: 'true' },
    headers: authHeaders(),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onUploadUrlAvailable() {
      state.uploadUrl = upload ? upload.url : null
    },
    onAfterResponse(req, res) {
      // The HEAD of a resumed upload carries the server's durable offset.
      if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
        const offset = Number.parseInt(res.getHeader('Upload-Offset'), 10)
        const length = Number.parseInt(res.getHeader('Upload-Length'), 10) || file.size
        if (Number.isFinite(offset)) {
          state.resumedFrom = offset
          state.bytesAccepted = offset
          setProgress(offset, length)
          setStatus(`Resuming at ${percent(offset, length).toFixed(1)}% (${formatBytes(offset)} already on the server)…`)
        }
      }
    },
    onProgress(sent, total) {
      setProgress(sent, total)
      if (state.state === 'uploading' && !ui.status.textContent.startsWith('Resuming')) {
        setStatus('Uploading…')
      }
    },
    onChunkComplete(_chunk, accepted, total) {
      state.bytesAccepted = accepted
      setStatus(`Uploading… ${formatBytes(accepted)} of ${formatBytes(total)} safely stored.`)
    },
    onError(err) {
      const res = err && err.originalResponse
      const status = res ? res.getStatus() : 0
      const message = res ? errorMessage(res.getBody(), err.message) : err.message
      state.error = message
      setUploadState('error')
      if (status === 401) {
        forgetSession('Your session has ended; sign in again, then press Start to resume.')
        setStatus('Signed out: the upload is kept and resumes after you sign in.', 'error')
      } else {
        setStatus(`Upload failed: ${message}`, 'error')
      }
    },
    onSuccess() {
      state.uploadUrl = upload.url
      state.bytesAccepted = file.size
      setProgress(file.size, file.size)
      setUploadState('done')
      setStatus('Upload complete.', 'ok')
      afterUpload(upload.url)
    },
  })
}

async function start(event) {
  if (event) event.preventDefault()
  if (starting || state.state === 'uploading') return
  if (!loadToken()) {
    showSignedOut('Please sign in first.')
    return
  }
  const file = ui.file.files && ui.file.files[0]
  if (!file) {
    setStatus('Choose an audio file first.', 'error')
    return
  }
  starting = true
  try {
    // Paused upload of the same file: just continue it.
    if (upload && uploadFile === file && state.state !== 'done') {
      upload.options.headers = authHeaders()
      state.error = null
      setUploadState('uploading')
      setStatus('Resuming…')
      upload.start()
      return
    }
    if (upload && state.state === 'uploading') await upload.abort()
    uploadFile = file
    resetForNewUpload()
    upload = newUpload(file)
    const previous = await upload.findPreviousUploads()
    if (previous.length > 0) {
      // Newest first: the last attempt is the one to continue.
      previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))
      upload.resumeFromPreviousUpload(previous[0])
      state.uploadUrl = previous[0].uploadUrl
      setStatus('Resuming a previous upload of this file…')
    } else {
      setStatus('Starting upload…')
    }
    setUploadState('uploading')
    upload.start()
  } catch (err) {
    state.error = err.message
    setUploadState('error')
    setStatus(`Could not start the upload: ${err.message}`, 'error')
  } finally {
    starting = false
  }
}

function pause() {
  if (!upload || state.state !== 'uploading') return
  upload.abort()
  // Bytes of the interrupted chunk are sent again on resume: show what the server has.
  setProgress(state.bytesAccepted, state.bytesTotal)
  setUploadState('paused')
  setStatus(`Paused at ${percent(state.bytesUploaded, state.bytesTotal).toFixed(1)}%. Press Resume to continue — even after closing this tab.`)
}

/** When a file is chosen: tell the DJ if an unfinished upload of it exists. */
async function fileChosen() {
  const file = ui.file.files && ui.file.files[0]
  if (!file || state.state === 'uploading') return
  if (file !== uploadFile) {
    upload = null
    uploadFile = null
    state.state = 'idle'
    setUploadState('idle')
    resetForNewUpload()
    setProgress(0, file.size)
  }
  setStatus(`${file.name} · ${formatBytes(file.size)}. Press Start to upload.`)
  try {
    const probe = newUpload(file)
    const previous = await probe.findPreviousUploads()
    if (previous.length === 0 || state.state !== 'idle') return
    previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))
    const prev = previous[0]
    if (!ui.title.value && prev.metadata && prev.metadata.title) ui.title.value = prev.metadata.title
    const info = await api('GET', new URL(prev.uploadUrl, window.location.href).pathname)
    // Start may have been pressed meanwhile, or another file chosen.
    if (state.state !== 'idle' || !ui.file.files || ui.file.files[0] !== file) return
    if (info.state === 'receiving' && info.length) {
      setProgress(info.offset, info.length)
      setStatus(`An unfinished upload of this file is on the server (${percent(info.offset, info.length).toFixed(1)}%). Press Start to resume it.`)
    }
  } catch {
    // Only a hint: Start still resumes or starts afresh.
  }
}

// ---------------------------------------------------------------------------
// After the upload: which cloudcast, and how its processing goes
// ---------------------------------------------------------------------------

function stopPolling() {
  if (pollTimer) clearTimeout(pollTimer)
  pollTimer = null
}

async function afterUpload(url) {
  const path = new URL(url, window.location.href).pathname
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      const info = await api('GET', path)
      if (info.state === 'complete' && info.cloudcast_id) {
        state.cloudcastId = info.cloudcast_id
        // Details typed while the file uploaded go now.
        if (state.details === 'dirty') await sendDetails()
        pollCloudcast()
        return
      }
    } catch (err) {
      if (err.status && err.status < 500 && err.status !== 429) {
        setCloudcastStatus(`Could not read the upload: ${err.message}`, 'error')
        return
      }
    }
    await new Promise((r) => setTimeout(r, 1000))
  }
  setCloudcastStatus('The server has not confirmed the upload yet; reload the page later.', 'error')
}

async function pollCloudcast() {
  stopPolling()
  const id = state.cloudcastId
  if (!id) return
  try {
    const cc = await api('GET', `/api/v1/cloudcasts/${encodeURIComponent(id)}`)
    if (state.cloudcastId !== id) return // a new upload started meanwhile
    state.cloudcastStatus = cc.status
    showInMyMixes(cc)
    switch (cc.status) {
      case 'processing':
        setCloudcastStatus(`Cloudcast ${cc.title ? `“${cc.title}” ` : ''}is processing…`)
        break
      case 'ready':
        setCloudcastStatus(
          `Cloudcast “${cc.title}” is ready${cc.duration_ms ? ` (${formatDuration(cc.duration_ms)})` : ''}${cc.draft ? ': publish it when its details are done.' : '.'}`,
          'ok',
        )
        ui.publish.disabled = !cc.draft
        return
      case 'failed':
      case 'rejected':
        state.error = cc.error || cc.status
        setCloudcastStatus(`Cloudcast ${cc.status}${cc.error ? `: ${cc.error}` : '.'}`, 'error')
        return
      default:
        setCloudcastStatus(`Cloudcast status: ${cc.status}`)
        return
    }
  } catch (err) {
    if (err.status && err.status < 500 && err.status !== 429) {
      setCloudcastStatus(`Could not read the cloudcast: ${err.message}`, 'error')
      return
    }
    // transient: keep polling
  }
  pollTimer = setTimeout(pollCloudcast, POLL_MS)
}

// ---------------------------------------------------------------------------
// The details, and publishing
// ---------------------------------------------------------------------------

function setDetailsStatus(text, kind = 'info') {
  ui.detailsStatus.textContent = text
  ui.detailsStatus.dataset.kind = kind
}

/** The details as typed, with the upload form's title. */
function detailValues() {
  const v = details.values()
  const title = ui.title.value.trim()
  if (title) v.title = title
  return v
}

/** Sends the details once the cloudcast exists; until then keeps them for it. */
async function sendDetails() {
  let values
  try {
    values = detailValues()
  } catch (err) {
    setDetailsStatus(err.message, 'error')
    return false
  }
  if (!state.cloudcastId) {
    state.details = 'dirty'
    setDetailsStatus('Kept: they are saved with the mix as soon as the upload finishes.')
    return true
  }
  try {
    const saved = await saveDetails(state.cloudcastId, values, details.cover.files[0])
    details.cover.value = ''
    state.details = 'saved'
    setDetailsStatus('Details saved.', 'ok')
    showInMyMixes(saved)
    return true
  } catch (err) {
    state.details = 'dirty'
    setDetailsStatus(err.message, 'error')
    return false
  }
}

async function publish() {
  if (!state.cloudcastId) return
  ui.publish.disabled = true
  if (!(await sendDetails())) {
    ui.publish.disabled = false
    return
  }
  try {
    const cc = await api('POST', `/api/v1/cloudcasts/${encodeURIComponent(state.cloudcastId)}/publish`)
    state.details = 'published'
    ui.detailsStatus.replaceChildren(`Published: “${cc.title}” is out. `, Object.assign(document.createElement('a'), { href: cc.url, textContent: 'Open its page' }))
    ui.detailsStatus.dataset.kind = 'ok'
    showInMyMixes(cc)
  } catch (err) {
    setDetailsStatus(err.message, 'error')
    ui.publish.disabled = false
  }
}

/** Adds or updates the mix in "My mixes" below, as the page's list shows it. */
function showInMyMixes(cc) {
  const list = $('mix-list')
  if (!list) return
  let li = $(`edit-${cc.id}`)
  if (!li) {
    $('no-mixes')?.remove()
    li = document.createElement('li')
    li.className = 'mix'
    li.id = `edit-${cc.id}`
    li.dataset.mix = cc.id
    const p = document.createElement('p')
    const a = Object.assign(document.createElement('a'), { href: cc.url, textContent: cc.title })
    const st = Object.assign(document.createElement('span'), { className: 'mix-status' })
    st.setAttribute('role', 'status')
    p.append(a, ' · ', st)
    const buttons = Object.assign(document.createElement('p'), { className: 'mix-buttons' })
    const button = (text, attr, className = 'secondary') => {
      const b = Object.assign(document.createElement('button'), { type: 'button', className, textContent: text })
      b.setAttribute(attr, '')
      return b
    }
    if (cc.draft) buttons.append(button('Publish', 'data-publish', ''))
    const edit = button('Edit', 'data-edit')
    edit.setAttribute('aria-expanded', 'false')
    edit.setAttribute('aria-controls', `form-${cc.id}`)
    const del = button('Delete', 'data-delete', 'danger')
    del.setAttribute('aria-label', `Delete ${cc.title}`)
    buttons.append(edit, ' ', del)
    const form = Object.assign(document.createElement('form'), { className: 'stack mix-form', id: `form-${cc.id}`, hidden: true })
    li.append(p, buttons, form)
    list.prepend(li)
  }
  li.dataset.status = cc.status
  if (cc.draft) li.dataset.draft = ''
  else delete li.dataset.draft
  const a = li.querySelector('a')
  a.textContent = cc.title
  a.href = cc.url
  li.querySelector('.mix-status').textContent = statusText(cc)
  const pub = li.querySelector('[data-publish]')
  if (pub && !cc.draft) pub.remove()
  else if (pub) pub.disabled = cc.status !== 'ready'
}

function formatDuration(ms) {
  const s = Math.round(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------

function init() {
  ui.signinForm.addEventListener('submit', signIn)
  ui.uploadForm.addEventListener('submit', start)
  ui.pause.addEventListener('click', pause)
  ui.signout.addEventListener('click', signOut)
  details = detailsForm(ui.detailsForm, {}, 'up', { withTitle: false })
  ui.detailsForm.addEventListener('input', () => {
    if (state.details !== 'published') state.details = 'dirty'
  })
  ui.detailsForm.addEventListener('submit', (e) => {
    e.preventDefault()
    sendDetails()
  })
  ui.saveDetails.addEventListener('click', sendDetails)
  ui.publish.addEventListener('click', publish)
  ui.file.addEventListener('change', fileChosen)
  window.addEventListener('beforeunload', (e) => {
    if (state.state === 'uploading') {
      e.preventDefault()
      e.returnValue = ''
    }
  })
  setProgress(0, 0)
  setCloudcastStatus('')
  if (!isSupported) {
    setStatus('This browser cannot upload files here (no File API or XHR).', 'error')
  }
  const saved = loadToken()
  if (saved) {
    showSignedIn(saved.login)
    whoAmI()
  } else {
    showSignedOut('')
  }
  setUploadState('idle')
  document.body.dataset.ready = 'true'
}

init()

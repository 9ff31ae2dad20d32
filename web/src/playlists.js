// Playlists in the browser: "Add to a playlist" on a mix's page and from
// any card's "+" (a new one made on the way), and a playlist's page: play all (the player's queue
// goes on through it), share, and for its owner the order (drag, or move
// up and down by button; take out), its title, description and who sees it, and deletion.
// Everything goes through the API (catalog/src/playlists.rs).

import { api } from './session.js'
import { $, el, link, say, signedIn, wireShare } from './ui.js'

const NEW = 'new'

/**
 * Wires an "add to a playlist" form: `pick` lists my playlists and "New
 * playlist…" (which shows `title`); submitting adds the mix `cloudcastId`.
 */
async function wirePicker(form, pick, title, cloudcastId, message) {
  const fill = async () => {
    let mine = []
    try {
      mine = await api('GET', '/api/v1/me/playlists')
    } catch {
      mine = []
    }
    pick.replaceChildren(
      ...mine.map((p) => el('option', { value: p.id, textContent: p.title })),
      el('option', { value: NEW, textContent: 'New playlist…' }),
    )
    title.hidden = pick.value !== NEW
  }
  pick.addEventListener('change', () => {
    title.hidden = pick.value !== NEW
    if (!title.hidden) title.focus()
  })
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    let id = pick.value
    if (id === NEW) {
      const name = title.value.trim()
      if (!name) return say(message, 'Give the new playlist a title first.', 'error')
      const made = await signedIn(() => api('POST', '/api/v1/playlists', { title: name }), message)
      if (!made) return
      id = made.id
    }
    const p = await signedIn(() => api('PUT', `/api/v1/playlists/${id}/items/${cloudcastId}`), message)
    if (!p) return
    title.value = ''
    await fill()
    pick.value = p.id
    title.hidden = true
    message.replaceChildren('Added to ', link(p.url, p.title), '.')
    message.dataset.kind = 'info'
    form.dispatchEvent(new CustomEvent('added'))
  })
  await fill()
}

/** The "Add to a playlist" form of the mix `cloudcastId`'s page. */
export async function addToPlaylist(cloudcastId, message) {
  const form = $('add-to-playlist')
  if (!form) return
  await wirePicker(form, $('playlist-pick'), $('playlist-new'), cloudcastId, message)
}

/** A card's "+" (any list): the same form, under the card. */
export function addFromCard(button) {
  // Inside the card's text, so it wraps within the card's column.
  const body = button.closest('li').querySelector('.card-body')
  const open = body.querySelector(':scope > form.card-playlist')
  if (open) return open.remove()
  const id = button.dataset.addToPlaylist
  const form = el('form', { className: 'card-playlist inline-row' })
  const pick = el('select', { id: `pick-${id}` })
  const title = el('input', { type: 'text', maxLength: 100, placeholder: "New playlist's title", hidden: true })
  title.setAttribute('aria-label', "New playlist's title")
  const message = el('p', { className: 'message' })
  message.setAttribute('role', 'status')
  form.append(
    el('label', { htmlFor: pick.id, textContent: `Add ${button.dataset.title} to` }),
    pick,
    title,
    el('button', { type: 'submit', className: 'secondary', textContent: 'Add' }),
    message,
  )
  body.append(form)
  wirePicker(form, pick, title, id, message).then(() => pick.focus())
}

/** A playlist's page. */
export function playlistPage(main) {
  const section = main.querySelector('[data-playlist]')
  if (!section) return
  const id = section.dataset.playlist
  const message = $('playlist-message')
  const list = $('playlist-items')
  $('play-all')?.addEventListener('click', () => list.querySelector('[data-play]')?.click())
  wireShare()
  const form = $('playlist-form')
  if (!form) return // not its owner

  const items = () => [...list.querySelectorAll(':scope > li')]
  const place = async (li, position) => {
    const cc = li.querySelector('[data-play]').dataset.play
    const p = await signedIn(() => api('PUT', `/api/v1/playlists/${id}/items/${cc}`, { position }), message)
    if (!p) return
    const order = p.items.map((c) => c.id)
    const byId = new Map(items().map((x) => [x.querySelector('[data-play]').dataset.play, x]))
    list.replaceChildren(...order.map((c) => byId.get(c)).filter(Boolean))
    say(message, 'Order saved.')
  }
  // Drag a mix to its place (the buttons do the same by keyboard).
  let dragged = null
  list.addEventListener('dragstart', (e) => {
    dragged = e.target.closest('li')
    if (!dragged) return
    e.dataTransfer.effectAllowed = 'move'
    e.dataTransfer.setData('text/plain', dragged.querySelector('[data-play]').dataset.play)
    dragged.classList.add('dragging')
  })
  list.addEventListener('dragend', () => dragged?.classList.remove('dragging'))
  list.addEventListener('dragover', (e) => {
    if (dragged) e.preventDefault()
  })
  list.addEventListener('drop', (e) => {
    e.preventDefault()
    const target = e.target.closest('li')
    if (!dragged || !target || target === dragged) return
    const to = items().indexOf(target)
    const moving = dragged
    dragged = null
    place(moving, to)
  })
  for (const li of items()) {
    li.draggable = true
    const title = li.querySelector('[data-play]').dataset.title
    const tools = el('span', { className: 'order-tools' })
    const up = el('button', { type: 'button', className: 'secondary', textContent: '↑' })
    up.setAttribute('aria-label', `Move ${title} up`)
    const down = el('button', { type: 'button', className: 'secondary', textContent: '↓' })
    down.setAttribute('aria-label', `Move ${title} down`)
    const out = el('button', { type: 'button', className: 'secondary', textContent: 'Remove' })
    out.setAttribute('aria-label', `Take ${title} out of the playlist`)
    up.addEventListener('click', () => place(li, Math.max(0, items().indexOf(li) - 1)))
    down.addEventListener('click', () => place(li, items().indexOf(li) + 1))
    out.addEventListener('click', async () => {
      const cc = li.querySelector('[data-play]').dataset.play
      const p = await signedIn(() => api('DELETE', `/api/v1/playlists/${id}/items/${cc}`), message)
      if (!p) return
      li.remove()
      say(message, `${title} is out of the playlist.`)
    })
    tools.append(up, down, out)
    li.append(tools)
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const p = await signedIn(
      () =>
        api('PATCH', `/api/v1/playlists/${id}`, {
          title: $('pl-title').value,
          description: $('pl-description').value,
          visibility: $('pl-visibility').value,
        }),
      message,
    )
    if (!p) return
    $('playlist-title').textContent = p.title
    $('share-url').value = new URL(p.url, location.origin).href
    say(message, 'Saved.')
  })
  $('pl-delete').addEventListener('click', async () => {
    if (!window.confirm('Delete this playlist? The mixes stay.')) return
    const owner = section.querySelector('.owner a')?.getAttribute('href') || '/'
    const done = await signedIn(() => api('DELETE', `/api/v1/playlists/${id}`).then(() => true), message)
    if (done) location.href = owner
  })
}

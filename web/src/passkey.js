// Passkeys in the browser (WebAuthn): the server's options (binary fields
// in base64url) made into what navigator.credentials takes, and its answer
// made back into JSON the server reads (accounts/src/passkeys.rs).

import { api, remember } from './session.js'

const fromB64 = (s) => {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/')
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer
}
const toB64 = (buf) =>
  btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')

/** Can this browser use passkeys at all? */
export const passkeysHere = () => typeof window.PublicKeyCredential === 'function'

const descriptors = (list) => (list || []).map((c) => ({ ...c, id: fromB64(c.id) }))

/** Makes a passkey from the server's creation options; the JSON to send back. */
export async function createPasskey(options) {
  const pk = options.publicKey
  const publicKey = {
    ...pk,
    challenge: fromB64(pk.challenge),
    user: { ...pk.user, id: fromB64(pk.user.id) },
    excludeCredentials: descriptors(pk.excludeCredentials),
  }
  const cred = await navigator.credentials.create({ publicKey })
  const ext = cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
  return {
    id: cred.id,
    rawId: toB64(cred.rawId),
    type: cred.type,
    // credProps says whether the key is discoverable (the server needs it to be).
    extensions: ext.credProps ? { credProps: ext.credProps } : {},
    response: {
      attestationObject: toB64(cred.response.attestationObject),
      clientDataJSON: toB64(cred.response.clientDataJSON),
      transports: cred.response.getTransports ? cred.response.getTransports() : undefined,
    },
  }
}

/** Asks for a passkey with the server's request options; the JSON to send back. */
export async function getPasskey(options) {
  const pk = options.publicKey
  const publicKey = { ...pk, challenge: fromB64(pk.challenge), allowCredentials: descriptors(pk.allowCredentials) }
  const cred = await navigator.credentials.get({ publicKey })
  const r = cred.response
  return {
    id: cred.id,
    rawId: toB64(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toB64(r.authenticatorData),
      clientDataJSON: toB64(r.clientDataJSON),
      signature: toB64(r.signature),
      userHandle: r.userHandle ? toB64(r.userHandle) : null,
    },
  }
}

/** Signs in with a passkey, no password; returns the session. */
export async function signInWithPasskey() {
  const { ceremony, options } = await api('POST', '/api/v1/sessions/passkey/challenge')
  const credential = await getPasskey(options)
  const session = await api('POST', '/api/v1/sessions/passkey', { ceremony, credential })
  const me = await api('GET', '/api/v1/me')
  remember(session, me.username)
  return session
}

/**
 * The person again, by passkey, for an action that asks for it (a new
 * password or email, erasure, a factor added or removed): a one-time code
 * to send as that action's `code`.
 */
export async function passkeyProof() {
  const { ceremony, options } = await api('POST', '/api/v1/me/passkeys/assertion')
  const credential = await getPasskey(options)
  const { code } = await api('POST', '/api/v1/me/passkeys/assertion/answer', { ceremony, credential })
  return code
}

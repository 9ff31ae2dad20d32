// A seekable waveform on a canvas: audiowaveform JSON peaks drawn as bars,
// the played part in the accent colour. Used by the player bar, the
// cloudcast page and the embed player; each canvas is one Waveform.

const BAR_CSS_PX = 2
const GAP_CSS_PX = 1
const SEEK_STEP_S = 10

/** audiowaveform JSON (v1 or v2): interleaved min/max per pixel, per channel; channels merge. */
export function parsePeaks(json) {
  const data = json && Array.isArray(json.data) ? json.data : []
  const channels = Math.max(1, json.channels || 1)
  const stride = 2 * channels
  const length = Math.floor(data.length / stride)
  const scale = json.bits === 16 ? 32768 : 128
  const out = new Float32Array(length * 2)
  let loudest = 0
  for (let i = 0; i < length; i++) {
    let lo = 0
    let hi = 0
    for (let c = 0; c < channels; c++) {
      lo = Math.min(lo, data[i * stride + 2 * c] / scale)
      hi = Math.max(hi, data[i * stride + 2 * c + 1] / scale)
    }
    out[2 * i] = lo
    out[2 * i + 1] = hi
    loudest = Math.max(loudest, -lo, hi)
  }
  // Quiet masters still fill the canvas.
  if (loudest > 0 && loudest < 1) for (let i = 0; i < out.length; i++) out[i] /= loudest
  return out
}

const peaksCache = new Map() // url -> Promise<Float32Array|null>

function fetchPeaks(url) {
  if (!peaksCache.has(url)) {
    peaksCache.set(
      url,
      fetch(url, { credentials: 'same-origin' })
        .then((r) => (r.ok ? r.json() : null))
        .then((j) => (j ? parsePeaks(j) : null))
        .catch(() => null),
    )
  }
  return peaksCache.get(url)
}

export class Waveform {
  /**
   * @param canvas the element (role=slider)
   * @param opts.onSeek(seconds) when clicked or moved by keyboard
   * @param opts.duration() the mix's length in seconds
   * @param opts.position() the current position in seconds
   */
  constructor(canvas, opts) {
    this.canvas = canvas
    this.ctx = canvas.getContext('2d')
    this.opts = opts
    this.peaks = null
    this.bars = null
    this.queued = false
    const css = getComputedStyle(document.documentElement)
    const get = (name, fallback) => css.getPropertyValue(name).trim() || fallback
    this.colors = { played: get('--accent', '#3b5bdb'), rest: get('--wave', '#c3c9d5'), cursor: get('--fg', '#1d2330') }
    this.onClick = (e) => {
      const rect = canvas.getBoundingClientRect()
      if (rect.width <= 0) return
      const fraction = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width))
      opts.onSeek(fraction * opts.duration())
    }
    this.onKey = (e) => {
      const steps = { ArrowLeft: -SEEK_STEP_S, ArrowDown: -SEEK_STEP_S, ArrowRight: SEEK_STEP_S, ArrowUp: SEEK_STEP_S }
      const at = opts.position()
      if (e.key in steps) opts.onSeek(at + steps[e.key])
      else if (e.key === 'Home') opts.onSeek(0)
      else if (e.key === 'End') opts.onSeek(opts.duration())
      else return
      e.preventDefault()
    }
    canvas.addEventListener('click', this.onClick)
    canvas.addEventListener('keydown', this.onKey)
    this.resize = () => this.layout()
    if ('ResizeObserver' in window) {
      this.observer = new ResizeObserver(this.resize)
      this.observer.observe(canvas)
    } else window.addEventListener('resize', this.resize)
    this.layout()
  }

  async load(url) {
    this.peaks = url ? await fetchPeaks(url) : null
    this.layout()
  }

  destroy() {
    this.canvas.removeEventListener('click', this.onClick)
    this.canvas.removeEventListener('keydown', this.onKey)
    if (this.observer) this.observer.disconnect()
    else window.removeEventListener('resize', this.resize)
  }

  /** Sizes the canvas to its box in device pixels and rebuilds the bars: on load and on resize only. */
  layout() {
    const c = this.canvas
    const dpr = window.devicePixelRatio || 1
    const width = Math.max(1, Math.round(c.clientWidth * dpr))
    const height = Math.max(1, Math.round(c.clientHeight * dpr))
    if (c.width !== width) c.width = width
    if (c.height !== height) c.height = height
    this.bars = this.buildBars(width, height, dpr)
    this.draw()
  }

  buildBars(width, height, dpr) {
    const path = new Path2D()
    const barW = Math.max(1, Math.round(BAR_CSS_PX * dpr))
    const step = barW + Math.max(1, Math.round(GAP_CSS_PX * dpr))
    const count = Math.max(1, Math.floor(width / step))
    const mid = height / 2
    const half = (height / 2) * 0.95
    const peaks = this.peaks
    const pixels = peaks ? peaks.length / 2 : 0
    for (let i = 0; i < count; i++) {
      let lo = 0
      let hi = 0
      if (pixels > 0) {
        // The peaks pixels this bar covers; at least one when there are fewer pixels than bars.
        const from = Math.floor((i * pixels) / count)
        const to = Math.max(from + 1, Math.floor(((i + 1) * pixels) / count))
        for (let p = from; p < to && p < pixels; p++) {
          lo = Math.min(lo, peaks[2 * p])
          hi = Math.max(hi, peaks[2 * p + 1])
        }
      }
      const top = mid - hi * half
      const h = Math.max(dpr, (hi - lo) * half)
      path.rect(i * step, Math.min(top, mid - h / 2), barW, h)
    }
    return path
  }

  schedule() {
    if (this.queued) return
    this.queued = true
    requestAnimationFrame(() => {
      this.queued = false
      this.draw()
    })
  }

  draw() {
    if (!this.bars) return
    const { width, height } = this.canvas
    const d = this.opts.duration()
    const x = d > 0 ? Math.min(1, Math.max(0, this.opts.position() / d)) * width : 0
    const ctx = this.ctx
    ctx.clearRect(0, 0, width, height)
    ctx.fillStyle = this.colors.rest
    ctx.fill(this.bars)
    ctx.save()
    ctx.beginPath()
    ctx.rect(0, 0, x, height)
    ctx.clip()
    ctx.fillStyle = this.colors.played
    ctx.fill(this.bars)
    ctx.restore()
    const cursor = Math.max(1, Math.round(window.devicePixelRatio || 1))
    ctx.fillStyle = this.colors.cursor
    ctx.fillRect(Math.min(x, width - cursor), 0, cursor, height)
  }
}

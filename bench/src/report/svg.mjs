// Horizontal bar charts as plain SVG: one row per target, one bar per series, the median as the
// bar and the min–max of the runs as a whisker. No dependencies.

const LIBRARY_COLORS = { switchboard: '#2563eb', ws: '#6b7280', 'socket.io': '#d97706', sockjs: '#059669' }
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A round axis maximum above `v`: 1, 2, 2.5, 5 times a power of ten. */
function niceMax(v) {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

/** Axis ticks: compact (0, 2.5k, 10k, 1.5M). */
function tick(v) {
  const a = Math.abs(v)
  if (a === 0) return '0'
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`
  return `${+v.toFixed(a >= 10 ? 0 : 2)}`
}

/** Bar values: precise, with thousands separators (12,345; 12.3; 1.23). */
function label(v) {
  const a = Math.abs(v)
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/**
 * @param {{ title: string, subtitle?: string, rows: { label: string, library: string }[],
 *   series: { name: string, values: ({ median: number, min: number, max: number } | null)[] }[] }} c
 */
export function barChart({ title, subtitle = '', rows, series }) {
  const W = 860
  const left = 200
  const right = 110
  const plotW = W - left - right
  const barH = 16
  const gap = 3
  const groupGap = 12
  const top = subtitle ? 58 : 42
  const legend = series.length > 1 ? 22 : 0
  const groupH = series.length * (barH + gap) - gap
  const H = top + legend + rows.length * (groupH + groupGap) + 34
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map((v) => (v ? Math.max(v.max, v.median) : 0)))))
  const x = (v) => left + (Math.max(0, v) / max) * plotW
  const out = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
  )
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`)
  out.push(`<text x="12" y="22" font-size="15" font-weight="600" fill="#111827">${esc(title)}</text>`)
  if (subtitle) out.push(`<text x="12" y="40" fill="#4b5563">${esc(subtitle)}</text>`)
  if (series.length > 1) {
    series.forEach((s, k) => {
      const lx = left + k * 170
      out.push(`<rect x="${lx}" y="${top - 4}" width="12" height="12" fill="#6b7280" opacity="${k === 0 ? 1 : 0.45}"/>`)
      out.push(`<text x="${lx + 18}" y="${top + 6}" fill="#374151">${esc(s.name)}</text>`)
    })
  }
  const plotTop = top + legend
  const plotBottom = H - 30
  for (let k = 0; k <= 5; k++) {
    const v = (max * k) / 5
    out.push(`<line x1="${x(v)}" y1="${plotTop - 4}" x2="${x(v)}" y2="${plotBottom}" stroke="#e5e7eb"/>`)
    out.push(`<text x="${x(v)}" y="${plotBottom + 16}" text-anchor="middle" fill="#6b7280">${tick(v)}</text>`)
  }
  rows.forEach((row, r) => {
    const gy = plotTop + r * (groupH + groupGap)
    out.push(`<text x="${left - 8}" y="${gy + groupH / 2 + 4}" text-anchor="end" fill="#111827">${esc(row.label)}</text>`)
    series.forEach((s, k) => {
      const v = s.values[r]
      const y = gy + k * (barH + gap)
      const color = LIBRARY_COLORS[row.library] ?? '#6b7280'
      if (!v) {
        out.push(`<text x="${left + 4}" y="${y + barH - 4}" fill="#9ca3af">no result</text>`)
        return
      }
      out.push(
        `<rect x="${left}" y="${y}" width="${Math.max(1, x(v.median) - left)}" height="${barH}" fill="${color}" opacity="${k === 0 ? 1 : 0.45}"><title>${esc(`${row.label} ${s.name}: ${label(v.median)} (${label(v.min)}–${label(v.max)})`)}</title></rect>`,
      )
      if (v.max > v.min) {
        const cy = y + barH / 2
        out.push(
          `<path d="M${x(v.min)} ${cy}H${x(v.max)}M${x(v.min)} ${cy - 4}V${cy + 4}M${x(v.max)} ${cy - 4}V${cy + 4}" stroke="#111827" stroke-width="1.2" fill="none"/>`,
        )
      }
      out.push(
        `<text x="${Math.max(x(v.median), x(v.max)) + 6}" y="${y + barH - 4}" fill="#111827">${label(v.median)}${series.length > 1 ? ` ${esc(s.name)}` : ''}</text>`,
      )
    })
  })
  out.push('</svg>')
  return out.join('\n')
}

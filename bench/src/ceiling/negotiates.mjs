// Negotiates per 100 ms window as one server process takes them, answered (2xx) and refused
// (the 503 of a closing server, or any other status), each counted in the window it arrived in.
// A WebSocket that negotiates in its upgrade (`/ws?negotiate=`) counts as answered once the upgrade
// is accepted: a refusal after that (a CLOSE frame, say RATE_LIMITED) is not seen here.
// Windows are stamped on CLOCK_MONOTONIC, which every process on the machine shares.

const WINDOW_US = 100_000

/**
 * Counts the negotiates of the Switchboard app mounted at `mount` of `app` (a Hono app; call before
 * the route is mounted, so it runs first): `POST {mount}/negotiate` and `GET {mount}/ws?negotiate=`.
 * @returns {() => { startUs: number, answered: number, refused: number }[]} the windows so far
 */
export function countNegotiates(app, mount) {
  const windows = new Map()
  app.use(`${mount}/ws`, async (c, next) => (c.req.query('negotiate') === undefined ? next() : counted(c, next)))
  app.use(`${mount}/negotiate`, (c, next) => counted(c, next))
  const counted = async (c, next) => {
    const startUs = Math.floor(Number(process.hrtime.bigint() / 1000n) / WINDOW_US) * WINDOW_US
    await next()
    const w = windows.get(startUs) ?? { startUs, answered: 0, refused: 0 }
    windows.set(startUs, w)
    if (c.res.status < 300) w.answered++
    else w.refused++
  }
  return () => [...windows.values()]
}

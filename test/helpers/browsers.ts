import fs from 'node:fs'
import { chromium, firefox, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { Builder, type WebDriver } from 'selenium-webdriver'
import { freePort, requireCommand, startDaemon, waitForPort, type Daemon } from './child-process.js'

/** The engines the matrix drives: Debian's Chromium and Firefox ESR through playwright-core, WebKitGTK through WebKitWebDriver. */
export const ENGINES = ['chromium', 'firefox', 'webkit'] as const
export type Engine = (typeof ENGINES)[number]

export interface TabOptions {
  /** A forward proxy for every request of this tab, loopback included: `http://127.0.0.1:PORT`. */
  proxy?: string
  /** Accept the test's self-signed certificate. */
  acceptInsecureCerts?: boolean
}

/** One page in a fresh browser context (no storage shared with any other tab). */
export interface Tab {
  goto(url: string): Promise<void>
  /** Evaluates a JavaScript expression in the page and returns its (JSON-able) value. */
  evaluate<T>(expression: string): Promise<T>
  screenshot(file: string): Promise<void>
  close(): Promise<void>
}

/** A launched engine, shared by many tabs. */
export interface BrowserEngine {
  readonly engine: Engine
  readonly version: string
  newTab(options?: TabOptions): Promise<Tab>
  close(): Promise<void>
}

const VIEWPORT = { width: 900, height: 620 }

/**
 * Launches one engine for many tabs. Never `playwright install` (it downloads browser builds):
 * these are Debian's, and playwright-core stays at 1.64.1 because 1.65 sends a BiDi command
 * (`emulation.setMediaFeaturesOverride`) that Firefox ESR 153 rejects on every new context.
 */
export async function launchEngine(engine: Engine): Promise<BrowserEngine> {
  if (engine === 'chromium') {
    // Playwright adds --headless and --no-sandbox (needed as root) itself.
    const browser = await chromium.launch({ executablePath: requireCommand('chromium', 'chromium') })
    return playwrightEngine(engine, browser)
  }
  if (engine === 'firefox') {
    const browser = await firefox.launch({
      channel: 'moz-firefox', // stock Firefox over WebDriver BiDi; Playwright's own `firefox` needs its patched build
      executablePath: requireCommand('firefox-esr', 'firefox-esr'), // the channel's default is /snap/bin/firefox
      // Without it Firefox never sends 127.0.0.1 through a proxy, whatever the context says.
      firefoxUserPrefs: { 'network.proxy.allow_hijacking_localhost': true },
    })
    return playwrightEngine(engine, browser)
  }
  return launchWebKit()
}

function playwrightEngine(engine: Engine, browser: Browser): BrowserEngine {
  return {
    engine,
    version: browser.version(),
    async newTab(options = {}) {
      const context: BrowserContext = await browser.newContext({
        viewport: VIEWPORT,
        ...(options.proxy && { proxy: { server: options.proxy } }),
        ...(options.acceptInsecureCerts && { ignoreHTTPSErrors: true }),
      })
      const page: Page = await context.newPage()
      return {
        goto: async (url) => void (await page.goto(url)),
        evaluate: (expression) => page.evaluate(expression),
        screenshot: async (file) => void (await page.screenshot({ path: file })),
        close: () => context.close(),
      }
    },
    close: () => browser.close(),
  }
}

/**
 * WebKitGTK's MiniBrowser through WebKitWebDriver, on a private Xvfb display (it has no headless
 * mode). Xvfb and the driver are shared; every tab is its own WebDriver session, so its own
 * MiniBrowser process with fresh storage.
 */
async function launchWebKit(): Promise<BrowserEngine> {
  const daemons: Daemon[] = []
  const stopAll = async () => {
    for (const daemon of daemons.reverse()) await daemon.stop()
  }
  try {
    const xvfb = await startDaemon(requireCommand('Xvfb', 'xvfb'), ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'])
    daemons.push(xvfb)
    const display = await new Promise<string>((resolve, reject) => {
      xvfb.child.stdout?.once('data', (d: Buffer) => resolve(`:${String(d).trim()}`))
      xvfb.child.once('exit', () => reject(new Error(`Xvfb exited: ${xvfb.output()}`)))
    })
    const port = await freePort()
    const driver = await startDaemon(requireCommand('WebKitWebDriver', 'webkit2gtk-driver'), [`--port=${port}`], {
      env: { ...process.env, DISPLAY: display },
    })
    daemons.push(driver)
    await waitForPort(port, { child: driver.child })
    const server = `http://127.0.0.1:${port}`
    let version = 'unknown'
    const sessions = new Set<WebDriver>()

    return {
      engine: 'webkit',
      get version() {
        return version
      },
      async newTab(options = {}) {
        const args = ['--automation']
        // With only `httpProxy` WebKit sends https directly; --proxy covers http, https and ws.
        if (options.proxy) args.push(`--proxy=${options.proxy}`)
        const session = await new Builder()
          .usingServer(server)
          .withCapabilities({
            browserName: 'MiniBrowser',
            'webkitgtk:browserOptions': { args },
            ...(options.acceptInsecureCerts && { acceptInsecureCerts: true }),
          })
          .build()
        sessions.add(session)
        version = String((await session.getCapabilities()).get('browserVersion') ?? version)
        await session
          .manage()
          .window()
          .setRect(VIEWPORT)
          .catch(() => {}) // cosmetic: the screenshot size
        return {
          goto: (url) => session.get(url),
          evaluate: (expression) => session.executeScript(`return (${expression})`),
          screenshot: async (file) => fs.writeFileSync(file, Buffer.from(await session.takeScreenshot(), 'base64')),
          async close() {
            sessions.delete(session)
            await session.quit().catch(() => {})
          },
        }
      },
      async close() {
        for (const session of sessions) await session.quit().catch(() => {})
        await stopAll()
      },
    }
  } catch (e) {
    await stopAll()
    throw e
  }
}

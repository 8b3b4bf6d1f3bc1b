/** One HTTP request as the client makes it: negotiate, POST up, SSE and long-poll GETs. */
export interface HttpRequest {
  method?: 'GET' | 'POST'
  headers: Record<string, string>
  body?: string
  signal?: AbortSignal
}

/** An answer whose headers arrived; its body is read once, whole or piece by piece. */
export interface HttpAnswer {
  readonly status: number
  /** The whole body as text. */
  text(): Promise<string>
  /** Hands the body to `onText` as it arrives, decoded as UTF-8 across pieces, until it ends. */
  read(onText: (text: string) => void): Promise<void>
}

/**
 * What the client needs of HTTP. In browsers it is fetch; in Node the client uses node:http
 * (see node.ts), which costs a fifth of fetch's CPU per request.
 */
export type HttpClient = (url: string, request: HttpRequest) => Promise<HttpAnswer>

/** The HTTP client over a fetch implementation (the browser's, or one passed in). */
export function fetchHttp(fetchImpl: typeof fetch, credentials: RequestCredentials): HttpClient {
  return async (url, { method = 'GET', headers, body, signal }) => {
    const response = await fetchImpl(url, { method, headers, body, signal, credentials, cache: 'no-store' })
    return {
      status: response.status,
      text: () => response.text(),
      async read(onText) {
        if (!response.body) return
        // A TextDecoder in stream mode rather than a TextDecoderStream: one stream hop less per chunk.
        const decoder = new TextDecoder()
        const reader = response.body.getReader()
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return
          onText(decoder.decode(value, { stream: true }))
        }
      },
    }
  }
}

/** True for a 2xx status. */
export const isOk = (answer: HttpAnswer): boolean => answer.status >= 200 && answer.status < 300

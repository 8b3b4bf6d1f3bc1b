import http from 'node:http'
import https from 'node:https'
import type { HttpAnswer, HttpClient, HttpRequest } from './http.js'

// One keep-alive pool per scheme for every client in the process, as fetch has one dispatcher.
// Idle pooled sockets do not keep the process alive.
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) }

/** The HTTP client over node:http / node:https: what the client uses in Node unless given `fetch`. */
export const nodeHttp: HttpClient = (url, request) => send(url, request, true)

function send(url: string, init: HttpRequest, mayRetry: boolean): Promise<HttpAnswer> {
  const { method = 'GET', headers, body, signal } = init
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:')
    let answered = false
    const request = (secure ? https : http).request(
      url,
      {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: secure ? agents.https : agents.http,
        signal,
      },
      (response) => {
        answered = true
        resolve(answerOf(response))
      },
    )
    request.on('error', (e: NodeJS.ErrnoException) => {
      if (answered) return // the answer's own reader reports it
      // A pooled socket the server closed just as it was picked (its keep-alive timeout): sent once
      // more on a new socket, as browsers do. Safe for every request here: the server drops frames
      // by seq it already has, and polls and streams carry the ack.
      if (mayRetry && request.reusedSocket && e.code === 'ECONNRESET') resolve(send(url, init, false))
      else reject(e)
    })
    request.end(body)
  })
}

function answerOf(response: http.IncomingMessage): HttpAnswer {
  // setEncoding keeps a multi-byte character cut between two TCP reads whole.
  response.setEncoding('utf8')
  const read = (onText: (text: string) => void) =>
    new Promise<void>((resolve, reject) => {
      response.on('data', onText)
      response.on('end', resolve)
      response.on('error', reject)
      // A reset or an abort mid-body: 'close' without the body complete (and no 'end').
      response.on('close', () => {
        if (!response.complete) reject(new Error('connection closed before the answer ended'))
      })
    })
  return {
    status: response.statusCode ?? 0,
    read,
    async text() {
      let text = ''
      await read((piece) => (text += piece))
      return text
    },
  }
}

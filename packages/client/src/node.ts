// The client's entry in Node (package.json's "node" condition): the same API as index.ts, with
// HTTP over node:http instead of fetch. Browsers and bundlers for them never load this file.
import { SwitchboardClient as FetchClient, type ClientOptions } from './client.js'
import type { HttpClient } from './http/http.js'
import { nodeHttp } from './http/node-http.js'

export * from './index.js'

/** A client's connection to one Switchboard server; in Node, HTTP goes over node:http unless `fetch` is given. */
export class SwitchboardClient extends FetchClient {
  protected static override defaultHttp(): HttpClient {
    return nodeHttp
  }
}

/** Connects to a Switchboard server mounted at `url` (see index.ts's connect). */
export function connect(url: string, options?: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(url, options).open()
}

/** What an RPC handler knows of its caller. */
export interface RpcContext<Identity = unknown> {
  method: string
  identity: Identity
  sessionId: string
}

/**
 * Answers one call. `Req` is the type the client promised: the data comes from the network,
 * so validate it before trusting it. Throw a SwitchboardError to answer with its code and
 * message; any other error is answered RPC_ERROR without its message (it is passed to the logger).
 */
export type RpcHandler<Req = unknown, Res = unknown, Identity = unknown> = (data: Req, ctx: RpcContext<Identity>) => Res | Promise<Res>

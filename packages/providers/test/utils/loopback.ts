/**
 * A raw HTTP server on loopback for tests that must see the socket, closed with the scope.
 */
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"

/** Serves `handler` on 127.0.0.1; yields the API base URL (`http://127.0.0.1:<port>/v1`). */
export const serve = (handler: Http.RequestListener) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const server = Http.createServer(handler)
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    (server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  )

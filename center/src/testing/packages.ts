import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type PackageSpec, writePackage } from '@mecm/csar'
import { helloSpec } from '@mecm/csar/hello'

let built = 0

export { helloSpec }

export async function packageFile(dir: string, spec: PackageSpec = helloSpec()): Promise<string> {
  const file = join(dir, `package-${++built}.csar`)
  await writePackage(file, spec)
  return file
}

export function uploadForm(file: string, fields: Record<string, string>): FormData {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new Blob([readFileSync(file)]), 'hello.csar')
  return form
}

/** An HTTP server on 127.0.0.1 whose handler the test sets; it records every request it gets. */
export async function localServer(
  handle: (
    request: IncomingMessage,
    body: Buffer,
  ) => { status: number; body?: Buffer | string; headers?: Record<string, string> },
) {
  const requests: { method: string; url: string; body: Buffer }[] = []
  const waiting: [number, () => void][] = []
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    requests.push({ method: request.method ?? '', url: request.url ?? '', body })
    const answer = handle(request, body)
    response.writeHead(answer.status, answer.headers)
    response.end(answer.body)
    for (const [count, resolve] of waiting) if (requests.length >= count) resolve()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Resolves once the server has received `count` requests in all. */
    received: (count: number) =>
      new Promise<void>((resolve) => {
        if (requests.length >= count) resolve()
        else waiting.push([count, resolve])
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

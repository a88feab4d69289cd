import { isAbsolute, relative } from 'node:path'
import { StepError } from './service'

/** A path for people: relative to where they are when it is inside, absolute otherwise. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/** Progress lines, "doing this… ok", with errors of the children printed in between. */
export const out = {
  open: undefined as string | undefined,
  broken: false,
  /** Set when the shutdown begins: from then on it alone speaks (a failing step or child stays quiet). */
  stopping: false,
  begin(label: string) {
    out.open = label
    out.broken = false
    process.stdout.write(`${label}… `)
  },
  end(result: string) {
    if (out.open === undefined) return
    process.stdout.write(out.broken ? `${out.open}… ${result}\n` : `${result}\n`)
    out.open = undefined
  },
  say(line = '') {
    if (out.open !== undefined && !out.broken) process.stdout.write('\n')
    out.open = undefined
    process.stdout.write(`${line}\n`)
  },
  error(line: string) {
    if (out.open !== undefined && !out.broken) {
      process.stdout.write('\n')
      out.broken = true
    }
    process.stderr.write(`${line}\n`)
  },
}

/** Runs one step; a failure prints its error and hint and is thrown on (as a StepError). */
export async function step<T>(label: string, run: (note: (text: string) => void) => Promise<T>): Promise<T> {
  let noted = ''
  out.begin(label)
  try {
    const value = await run((text) => {
      noted = text
    })
    out.end(noted ? `ok (${noted})` : 'ok')
    return value
  } catch (error) {
    if (out.stopping) return new Promise<never>(() => undefined) // Ctrl-C pulled the rug: the shutdown prints
    out.end('failed')
    const failure = error instanceof StepError ? error : new StepError((error as Error).message)
    out.error(`  error: ${failure.message}`)
    if (failure.hint) out.error(`  hint: ${failure.hint}`)
    throw failure
  }
}

/** Where everything is, once the center and the edge are up (the app's line comes after). */
export function sayUp(up: {
  centerUrl: string
  agentUrl: string
  tenantId: string
  password: string
  passwordFile: string
  hostIp: string
  hostStatus: string
  app: { name: string; version: string }
  packageId: string
  packageState: string
  logs: string
}): void {
  const login = JSON.stringify({ username: 'admin', password: up.password })
  out.say()
  out.say('MECM is up.')
  out.say(`  center API   ${up.centerUrl}  (admin's tenant: ${up.tenantId})`)
  out.say(`  API docs     ${up.centerUrl}/docs  (OpenAPI document: ${up.centerUrl}/openapi.json, signed in)`)
  out.say(`  admin        user admin, password ${up.password}  (kept in ${shown(up.passwordFile)})`)
  out.say(`  sign in      curl -s ${up.centerUrl}/auth/v1/login -H 'content-type: application/json' -d '${login}'`)
  out.say(`  edge host    ${up.hostIp} ${up.hostStatus}, agent API ${up.agentUrl} (local admin: same password)`)
  out.say(`  edge CLI     edge-agent/bin/mepm --url ${up.agentUrl} login -p ${up.password}`)
  out.say(`  package      ${up.app.name} ${up.app.version} ${up.packageId} ${up.packageState}`)
  out.say(`  logs         ${up.logs}`)
  out.say()
}

/** The app's line of the summary (where it answers, or why it is not there), and the last word. */
export function sayApp(
  name: string,
  hostIp: string,
  app: { instanceId: string; port: number } | { problem: string },
): void {
  out.say(
    'problem' in app
      ? `  app          ${name} not deployed: ${app.problem}`
      : `  app          ${name} at http://${hostIp}:${app.port}/  (instance ${app.instanceId})`,
  )
  out.say('Ready. Press Ctrl-C to stop the center and the edge agent.')
}

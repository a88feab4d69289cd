import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OperationType } from '@mecm/protocol'
import { Engine } from 'bpmn-engine'

/** The BPMN process that runs each kind of operation, by process id (and file name). */
export const PROCESS_OF: Record<OperationType, string> = {
  CREATE: 'create',
  INSTANTIATE: 'instantiate',
  TERMINATE: 'terminate',
  OPERATE: 'operate',
  CONFIGURE_RULES: 'configureRules',
  BATCH: 'batch',
}

const BUILT_IN = new URL('./processes/', import.meta.url)
const STEP = /implementation="\$\{environment\.services\.([A-Za-z0-9_]+)\}"/g

/** What is wrong with a process definition, if anything: checked before any operation runs it. */
async function problemsOf(processId: string, source: string, steps: readonly string[]): Promise<string[]> {
  const problems: string[] = []
  if (!new RegExp(`<(?:bpmn:)?process\\b[^>]*\\bid="${processId}"`).test(source))
    problems.push(`it has no process with id "${processId}"`)
  for (const task of source.match(/<(?:bpmn:)?serviceTask\b[^>]*>/g) ?? []) {
    const step = [...task.matchAll(STEP)][0]?.[1]
    if (!step) problems.push(`service task ${task} names no step: use implementation="\${environment.services.STEP}"`)
    else if (!steps.includes(step)) problems.push(`unknown step "${step}"; the steps are ${steps.join(', ')}`)
  }
  try {
    const definitions = await new Engine({ source }).getDefinitions()
    if (definitions.length === 0) problems.push('it defines no process')
  } catch (error) {
    problems.push(`it is not valid BPMN: ${(error as Error).message}`)
  }
  return problems
}

/**
 * The process definitions: the ones in the repository, each replaced by `<dir>/<process id>.bpmn`
 * when an operator points MECM_PROCESS_DIR at a folder of their own (for example drawn in
 * Camunda Modeler). Every definition is checked at start, so a broken one stops the center
 * with the reason instead of failing operations later.
 */
export async function processLibrary(steps: readonly string[], customDir?: string) {
  const sources = new Map<string, { source: string; file: string }>()
  for (const processId of Object.values(PROCESS_OF)) {
    const custom = customDir ? join(customDir, `${processId}.bpmn`) : undefined
    const file = custom && existsSync(custom) ? custom : new URL(`${processId}.bpmn`, BUILT_IN).pathname
    const source = readFileSync(file, 'utf8')
    const problems = await problemsOf(processId, source, steps)
    if (problems.length) throw new Error(`process definition ${file}: ${problems.join('; ')}`)
    sources.set(processId, { source, file })
  }
  if (customDir) {
    const known = new Set(Object.values(PROCESS_OF).map((id) => `${id}.bpmn`))
    const strays = readdirSync(customDir).filter((name) => name.endsWith('.bpmn') && !known.has(name))
    if (strays.length)
      throw new Error(
        `${customDir} holds ${strays.join(', ')}, which no operation runs; name files after a process id: ${[...known].join(', ')}`,
      )
  }
  return {
    source(type: OperationType): string {
      return (sources.get(PROCESS_OF[type]) as { source: string }).source
    },
    file(type: OperationType): string {
      return (sources.get(PROCESS_OF[type]) as { file: string }).file
    },
    /** The steps each process runs, in document order (for the docs and the explain views). */
    steps(type: OperationType): string[] {
      return (this.source(type).match(/<(?:bpmn:)?serviceTask\b[^>]*>/g) ?? []).flatMap((task) =>
        [...task.matchAll(STEP)].map((match) => match[1] as string),
      )
    },
  }
}
export type ProcessLibrary = Awaited<ReturnType<typeof processLibrary>>

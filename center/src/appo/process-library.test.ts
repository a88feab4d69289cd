import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROCESS_OF, processLibrary } from './process-library'

const STEPS = [
  'place',
  'begin',
  'sendDesired',
  'awaitEdge',
  'sendRules',
  'awaitRules',
  'finish',
  'planBatch',
  'runRollout',
]
const builtIn = (id: string) => readFileSync(new URL(`./processes/${id}.bpmn`, import.meta.url), 'utf8')

describe('process definitions', () => {
  it('has a valid built-in process for every kind of operation, naming only known steps', async () => {
    const library = await processLibrary(STEPS)
    expect(library.steps('INSTANTIATE')).toEqual([
      'place',
      'begin',
      'sendDesired',
      'awaitEdge',
      'sendRules',
      'awaitRules',
      'finish',
    ])
    expect(library.steps('TERMINATE')).toEqual(['begin', 'sendDesired', 'awaitEdge', 'finish'])
    expect(library.steps('BATCH')).toEqual(['planBatch', 'runRollout', 'finish'])
    for (const type of Object.keys(PROCESS_OF))
      expect(library.file(type as keyof typeof PROCESS_OF)).toContain('/processes/')
  })

  it("takes an operator's replacement from MECM_PROCESS_DIR by process id", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mecm-processes-'))
    // an operator's terminate that skips waiting for the edge
    writeFileSync(
      join(dir, 'terminate.bpmn'),
      builtIn('terminate')
        .replace('<sequenceFlow id="flow2" sourceRef="sendDesired" targetRef="awaitEdge" />', '')
        .replace(/<serviceTask id="awaitEdge"[^>]*\/>/, '')
        .replace('sourceRef="awaitEdge" targetRef="finish"', 'sourceRef="sendDesired" targetRef="finish"'),
    )
    const library = await processLibrary(STEPS, dir)
    expect(library.file('TERMINATE')).toBe(join(dir, 'terminate.bpmn'))
    expect(library.steps('TERMINATE')).toEqual(['begin', 'sendDesired', 'finish'])
    expect(library.file('INSTANTIATE')).toContain('/processes/')
  })

  it('refuses at start a definition with an unknown step, no step, the wrong process id, broken XML, or a stray file', async () => {
    const cases: [string, string, RegExp][] = [
      ['terminate.bpmn', builtIn('terminate').replace('services.begin}', 'services.beginn}'), /unknown step "beginn"/],
      [
        'terminate.bpmn',
        builtIn('terminate').replace(' implementation="${environment.services.begin}"', ''),
        /names no step/,
      ],
      [
        'terminate.bpmn',
        builtIn('terminate').replace('id="terminate"', 'id="ending"'),
        /no process with id "terminate"/,
      ],
      ['terminate.bpmn', '<definitions><process id="terminate"', /not valid BPMN|defines no process/],
      ['rollback.bpmn', builtIn('terminate'), /no operation runs/],
    ]
    for (const [file, content, reason] of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'mecm-processes-'))
      writeFileSync(join(dir, file), content)
      await expect(processLibrary(STEPS, dir)).rejects.toThrow(reason)
    }
  })
})

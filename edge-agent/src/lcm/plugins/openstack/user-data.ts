import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunSpec } from '../../plugin'

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const quoted = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`
/** The placeholder Heat's str_replace swaps for a variable's (hidden) parameter. */
export const placeholder = (name: string) => `__${name}__`

/**
 * The variables a VM gets at first boot: the instance's parameters, what the agent injects
 * (MECM_APP_INSTANCE_ID, MECM_AK, MECM_SK, MECM_MEP_ADDRESS…), and EdgeGallery's names for them
 * (mep_ip, ak, sk) unless a parameter sets those. Values are shell-quoted already.
 */
export function bootVariables(spec: RunSpec): Record<string, string> {
  const env = spec.env
  const aliases = {
    ...(env.MECM_MEP_ADDRESS ? { mep_ip: env.MECM_MEP_ADDRESS } : {}),
    ...(env.MECM_AK ? { ak: env.MECM_AK } : {}),
    ...(env.MECM_SK ? { sk: env.MECM_SK } : {}),
  }
  const all = { ...aliases, ...spec.instance.parameters, ...env }
  return Object.fromEntries(
    Object.entries(all)
      .filter(([name]) => SHELL_NAME.test(name))
      .map(([name, value]) => [name, quoted(value)]),
  )
}

/**
 * The VM's first-boot script: each variable exported (its value filled in by Heat from a hidden
 * parameter, so secrets stay out of the template), then the package's
 * Artifacts/Deployment/user-data.sh when it has one.
 */
export function userDataScript(names: string[], packageRoot: string): string {
  const file = join(packageRoot, 'Artifacts', 'Deployment', 'user-data.sh')
  const script = existsSync(file) ? readFileSync(file, 'utf8').replace(/^#![^\n]*\n/, '') : ''
  return ['#!/bin/sh', ...names.map((name) => `export ${name}=${placeholder(name)}`), script].join('\n')
}

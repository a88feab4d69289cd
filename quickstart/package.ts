import { existsSync, mkdirSync, openAsBlob, renameSync } from 'node:fs'
import { join } from 'node:path'
import { writePackage } from '@mecm/csar'
import { examples } from '../examples/build'
import { type Client, type Json, until } from './api'
import { shown, step } from './output'
import { StepError } from './service'

const hello = (() => {
  const spec = examples['hello-exec']
  if (!spec) throw new Error('examples/build.ts has no hello-exec package')
  return spec
})()
/** The sample app the quickstart onboards and deploys. */
export const APP = { name: hello.appd.name, version: hello.appd.version }

/** Every package of the tenant, page after page. */
async function allPackages(center: Client, tenantId: string): Promise<Json[]> {
  const found: Json[] = []
  let cursor: string | null = null
  do {
    const page: Json = await center.must(
      'GET',
      `/apm/v1/tenants/${tenantId}/packages?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      undefined,
      [200],
    )
    found.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return found
}

/** The hello-exec package file, built from examples/ when it is missing. */
async function packageFile(): Promise<string> {
  const dist = join(import.meta.dirname, '..', 'examples', 'dist')
  const file = join(dist, 'hello-exec.csar')
  if (existsSync(file)) return file
  await step(`building ${shown(file)}`, async () => {
    mkdirSync(dist, { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    await writePackage(tmp, hello)
    renameSync(tmp, file)
  })
  return file
}

/**
 * Onboards hello-exec for the host (uploading it again when an earlier onboarding failed), or finds
 * the package a previous run onboarded; then waits for the center to send it to the edge.
 * Resolves to the package.
 */
export async function onboard(center: Client, tenantId: string, hostIp: string, logs: string): Promise<Json> {
  const packagesPath = `/apm/v1/tenants/${tenantId}/packages`
  const sameApp = (p: Json) => p.appPkgName === APP.name && p.appPkgVersion === APP.version
  const known = (await allPackages(center, tenantId)).some(sameApp)
  const file = known ? '' : await packageFile()
  const pkg: Json = await step(`onboarding ${APP.name} ${APP.version}`, async (note) => {
    let found = (await allPackages(center, tenantId)).find(sameApp)
    if (found?.onboardingState === 'ERROR') {
      // a failed onboarding is no use to anyone: it goes, and the package is uploaded again
      await center.must('DELETE', `${packagesPath}/${found.appPackageId}`, undefined, [200, 202, 204])
      found = undefined
    }
    if (!found) {
      const form = new FormData()
      form.append('appPackageName', APP.name)
      form.append('appPackageVersion', APP.version)
      form.append('hostList', hostIp)
      form.append('file', await openAsBlob(file || (await packageFile())), 'hello-exec.csar')
      found = await center.must('POST', `${packagesPath}/upload`, form, [201, 202])
      note(`package ${found.appPackageId}`)
    } else note(`onboarded already: package ${found.appPackageId}`)
    const id = found.appPackageId
    const onboarded = await until('the package was not onboarded', 60_000, async () => {
      const shownPkg = await center.must('GET', `${packagesPath}/${id}`, undefined, [200])
      if (shownPkg.onboardingState === 'ERROR') {
        throw new StepError(`the center refused the package: ${shownPkg.onboardingFailure}`)
      }
      return shownPkg.onboardingState === 'ONBOARDED' ? shownPkg : undefined
    })
    return onboarded
  })
  const distribution = (p: Json) => (p.distributions ?? []).find((d: Json) => d.hostIp === hostIp)
  if (distribution(pkg) && distribution(pkg).state !== 'DISTRIBUTED') {
    await step(`sending the package to the edge`, async () => {
      await until('the package did not reach the edge', 120_000, async () => {
        const now = distribution(await center.must('GET', `${packagesPath}/${pkg.appPackageId}`, undefined, [200]))
        if (now?.state === 'FAILED')
          throw new StepError(`the edge did not take the package: ${now.error}`, `see ${logs}`)
        return now?.state === 'DISTRIBUTED' ? true : undefined
      })
    })
  }
  return pkg
}

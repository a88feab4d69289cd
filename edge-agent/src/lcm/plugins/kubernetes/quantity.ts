const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

/** A Kubernetes resource quantity as a number: `3800m` → 3.8, `16Mi` → 16777216, `2000000n` → 0.002. */
export function quantity(text: string | undefined): number {
  if (!text) return 0
  const match = text.trim().match(/^([+-]?[\d.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/)
  const scale = match ? suffixes[match[2] ?? ''] : undefined
  if (!match || scale === undefined) throw new Error(`not a Kubernetes quantity: ${text}`)
  return Number(match[1]) * scale
}

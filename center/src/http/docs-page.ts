/**
 * The browsable API page. It carries no data: it signs in with the user's own credentials,
 * keeps the token in sessionStorage, reads /openapi.json and lists every operation by tag with
 * its roles, parameters, body and responses. Nothing is loaded from outside the center.
 */
export const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MECM API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 980px; padding: 1.5rem; color: #1d2430; }
  h1 { margin: 0 0 .25rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d5dae1; }
  form { display: flex; gap: .5rem; margin: 1rem 0; } input, button { font: inherit; padding: .35rem .6rem; }
  details { border: 1px solid #d5dae1; border-radius: 6px; margin: .4rem 0; padding: .3rem .6rem; }
  summary { cursor: pointer; } code.m { display: inline-block; width: 4.2rem; font-weight: 700; }
  .get { color: #1f6feb } .post { color: #1a7f37 } .put { color: #9a6700 } .delete { color: #cf222e } .patch { color: #8250df }
  pre { background: #f6f8fa; padding: .5rem; overflow: auto; font-size: 13px; } #error { color: #cf222e; }
</style>
</head>
<body>
<h1>MECM API</h1>
<p id="intro">Sign in to read the API description. Errors are RFC 9457 problem details.</p>
<form id="login"><input id="username" placeholder="username" autocomplete="username" required>
<input id="password" type="password" placeholder="password" autocomplete="current-password" required>
<button>Sign in</button></form>
<p id="error"></p>
<main id="ops"></main>
<script>
const el = (tag, attrs = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), attrs)
  node.append(...children)
  return node
}
async function show(token) {
  const res = await fetch('/openapi.json', { headers: { authorization: 'Bearer ' + token } })
  if (!res.ok) { sessionStorage.removeItem('mecm-token'); return }
  const doc = await res.json()
  document.getElementById('login').hidden = true
  document.getElementById('intro').textContent = doc.info.description + ' Version ' + doc.info.version + '.'
  const byTag = {}
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) (byTag[op.tags[0]] ??= []).push({ path, method, op })
  const main = document.getElementById('ops')
  for (const [tag, list] of Object.entries(byTag).sort()) {
    main.append(el('h2', { textContent: tag }))
    for (const { path, method, op } of list) {
      const body = op.requestBody?.content['application/json'].schema
      main.append(el('details', {},
        el('summary', {}, el('code', { className: 'm ' + method, textContent: method.toUpperCase() }), el('code', { textContent: path }), ' ' + op.summary),
        el('p', { textContent: op.description }),
        ...(op.parameters.length ? [el('p', { textContent: 'Parameters: ' + op.parameters.map(p => p.name + ' (' + p.in + (p.required ? ', required' : '') + ')').join(', ') })] : []),
        ...(body ? [el('p', { textContent: 'Body:' }), el('pre', { textContent: JSON.stringify(body, null, 2) })] : []),
        el('p', { textContent: 'Responses: ' + Object.entries(op.responses).map(([s, r]) => s + ' ' + r.description).join('; ') })))
    }
  }
}
document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault()
  const res = await fetch('/auth/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: username.value, password: password.value }) })
  const answer = await res.json()
  if (!res.ok) { document.getElementById('error').textContent = answer.detail; return }
  sessionStorage.setItem('mecm-token', answer.accessToken)
  show(answer.accessToken)
})
const saved = sessionStorage.getItem('mecm-token')
if (saved) show(saved)
</script>
</body>
</html>`

// A small HTTP service run by the edge agent's exec plugin. It answers on PORT (default 8080)
// and reports the instance id the agent gives it, so a deploy can be checked from outside.
const http = require('node:http')

const port = Number(process.env.PORT || 8080)
const instance = process.env.MECM_APP_INSTANCE_ID || 'unknown'

http
  .createServer((request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.end('ok\n')
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(`${JSON.stringify({ hello: 'from the edge', instance, time: new Date().toISOString() })}\n`)
  })
  .listen(port, () => console.log(`hello-exec listening on ${port}`))

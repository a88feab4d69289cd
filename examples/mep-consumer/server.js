// The consumer of a MEC service: on each GET / it discovers the "greeting" service through the
// edge's MEP (Mp1 GET /services?ser_name=greeting), calls the endpoint the producer registered,
// and shows the answer with where it came from.
const http = require('node:http')
const { mp1 } = require('./mp1.js')

const port = Number(process.env.PORT || 8082)
const mep = mp1()

async function greeting() {
  const found = await mep.discover('greeting')
  const service = found.find((one) => one.state === 'ACTIVE')
  if (!service) return { status: 503, body: { error: 'no ACTIVE greeting service is registered on this MEP' } }
  const uri = service.transportInfo.endpoint.uris[0]
  const answer = await fetch(`${uri}/greeting`)
  return { status: 200, body: { service: service.serInstanceId, endpoint: uri, answer: await answer.json() } }
}

http
  .createServer(async (request, response) => {
    if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
      return
    }
    try {
      const { status, body } = await greeting()
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    } catch (error) {
      response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message }))
    }
  })
  .listen(port, '127.0.0.1', () => console.log(`mep-consumer listening on ${port}`))

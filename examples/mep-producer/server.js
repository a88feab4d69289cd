// The producer of a MEC service: it answers greetings over HTTP on PORT, registers the
// "greeting" service with the edge's MEP (Mp1 service management) once it listens, confirms
// ready (Mp1 app support), and deregisters when it is stopped.
const http = require('node:http')
const { mp1, retrying } = require('./mp1.js')

const port = Number(process.env.PORT || 8081)
const mep = mp1()
let service

const server = http.createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(service ? 200 : 503, { 'content-type': 'text/plain' })
    response.end(service ? 'registered\n' : 'registering\n')
    return
  }
  if (request.url === '/greeting') {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(
      JSON.stringify({ greeting: 'hello from the producer', producer: mep.app, at: new Date().toISOString() }),
    )
    return
  }
  response.writeHead(404).end()
})

server.listen(port, '127.0.0.1', async () => {
  console.log(`mep-producer listening on ${port}`)
  service = await retrying('registering the greeting service', async () => {
    // a service left from before a restart or a crash is INACTIVE: replace it
    for (const old of await mep.ownServices()) if (old.serName === 'greeting') await mep.deregister(old.serInstanceId)
    return mep.register({
      serName: 'greeting',
      serCategory: { href: '/example/catalogue/greeting', id: 'greeting', name: 'Greeting', version: '1.0' },
      version: '1.0',
      state: 'ACTIVE',
      serializer: 'JSON',
      transportInfo: {
        id: 'rest-http',
        name: 'REST',
        type: 'REST_HTTP',
        protocol: 'HTTP',
        version: '1.1',
        endpoint: { uris: [`http://127.0.0.1:${port}`] },
        security: {},
      },
    })
  })
  await retrying('confirming ready', () => mep.confirmReady())
  console.log(`registered service ${service.serInstanceId} and confirmed ready`)
})

process.on('SIGTERM', async () => {
  if (service) await mep.deregister(service.serInstanceId).catch((error) => console.error(error.message))
  server.close()
  process.exit(0)
})

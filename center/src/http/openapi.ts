import { z } from 'zod'
import type { AnyRoute } from './route'

const roles: Record<AnyRoute['access'], string> = {
  public: 'no authentication',
  read: 'ADMIN, TENANT, GUEST',
  write: 'ADMIN, TENANT',
  admin: 'ADMIN',
  edge: 'an enrolled edge agent (MECM-EDGE-ED25519 signature)',
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output') {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' })
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!(schema instanceof z.ZodObject)) return []
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !field.safeParse(undefined).success,
    schema: jsonSchema(field, 'input'),
  }))
}

/** The OpenAPI 3.1 document of every declared route, generated from the same zod schemas that validate them. */
export function openApiDocument(routes: readonly AnyRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}')
    paths[path] ??= {}
    paths[path][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      description: `Roles: ${roles[route.access]}.`,
      ...(route.access === 'public' ? { security: [] } : {}),
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema
              ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
              : {}),
          },
        ]),
      ),
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'MECM center API',
      version,
      description:
        'EdgeGallery-compatible inventory, package and orchestration APIs and ETSI MEC 010-2. Errors are RFC 9457 problem details.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        accessToken: { type: 'apiKey', in: 'header', name: 'access_token', description: "EdgeGallery's token header" },
        signature: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'MECM-HMAC-SHA256 Credential=<AK>, Signature=<hex> with X-MECM-Date and X-MECM-Nonce',
        },
      },
    },
    security: [{ bearer: [] }, { accessToken: [] }, { signature: [] }],
    paths,
  }
}

/**
 * Turns ajv validation errors into field-path messages (`parameters.network.plugins[0].type: …`),
 * so every config problem the driver reports names the exact field the user has to fix.
 */
import type { ErrorObject } from 'ajv'

/** Append a JSON-pointer location (`/a/0/b`) to a dotted base path (`base.a[0].b`). */
export function pointerToPath(base: string, pointer: string): string {
  if (pointer === '') return base
  let out = base
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (/^\d+$/.test(seg)) out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += `.${seg}`
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

/** One readable message per ajv error, with the offending field's path. */
export function formatSchemaErrors(base: string, errors: readonly ErrorObject[]): string[] {
  const out: string[] = []
  for (const e of errors) {
    const at = pointerToPath(base, e.instancePath)
    const params = e.params as Record<string, unknown>
    switch (e.keyword) {
      case 'additionalProperties':
        out.push(
          `${pointerToPath(e.instancePath === '' ? base : at, `/${String(params['additionalProperty'])}`)}: unknown field`,
        )
        break
      case 'required':
        out.push(`${at}: missing required field "${String(params['missingProperty'])}"`)
        break
      default:
        out.push(`${at}: ${e.message ?? e.keyword}`)
    }
  }
  return [...new Set(out)]
}

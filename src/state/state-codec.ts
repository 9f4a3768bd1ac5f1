/**
 * Encoding and decoding of the state file (`network-dra.state/v1`). Decoding checks the version
 * and the shape of every record, because a half-understood state would make unprepare run CNI DEL
 * with the wrong arguments; anything unexpected is `NDRA_STATE_CORRUPT`, never a silent reset.
 * Unknown extra fields are kept, so an older instance during a rolling update does not drop what
 * a newer one wrote.
 */
import { Ajv, type ErrorObject } from 'ajv'
import { DriverError } from '../errors.js'
import { STATE_API_VERSION, STATE_KIND, type ClaimRecord, type PluginState } from './state-types.js'

const str = { type: 'string' } as const
const obj = { type: 'object' } as const

const planSchema = {
  type: 'object',
  required: ['request', 'pool', 'device', 'networkConfig', 'ifName', 'capabilityArgs', 'cniArgs'],
  properties: {
    request: str,
    requestRef: str,
    pool: str,
    device: str,
    networkConfig: obj,
    ifName: str,
    capabilityArgs: obj,
    cniArgs: {
      type: 'array',
      items: { type: 'array', minItems: 2, maxItems: 2, items: str },
    },
    hostInterface: str,
    shareID: str,
  },
} as const

const attachmentSchema = {
  type: 'object',
  required: [
    'sandboxId',
    'podUid',
    'podName',
    'podNamespace',
    'request',
    'device',
    'ifName',
    'netns',
    'networkName',
    'phase',
    'updatedAt',
  ],
  properties: {
    sandboxId: str,
    podUid: str,
    podName: str,
    podNamespace: str,
    request: str,
    device: str,
    shareID: str,
    ifName: str,
    netns: str,
    networkName: str,
    phase: { enum: ['attached', 'failed'] },
    result: obj,
    error: str,
    updatedAt: str,
  },
} as const

const claimSchema = {
  type: 'object',
  required: ['uid', 'namespace', 'name', 'plans', 'cdiDeviceIds', 'attachments', 'preparedAt'],
  properties: {
    uid: { type: 'string', minLength: 1 },
    namespace: str,
    name: str,
    podClaimName: str,
    plans: { type: 'array', items: planSchema },
    cdiDeviceIds: { type: 'array', items: str },
    attachments: { type: 'array', items: attachmentSchema },
    preparedAt: str,
  },
} as const

const documentSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'claims'],
  properties: {
    apiVersion: str,
    kind: str,
    claims: { type: 'object', additionalProperties: claimSchema },
  },
} as const

const ajv = new Ajv({ allErrors: true, strict: true })
const validateDocument = ajv.compile<PluginState>(documentSchema)
const validateClaim = ajv.compile<ClaimRecord>(claimSchema)

/** The state of a node with no prepared claims (what a missing file means). */
export function emptyState(): PluginState {
  return { apiVersion: STATE_API_VERSION, kind: STATE_KIND, claims: {} }
}

function describe(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map(e => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ')
}

/** Why the claims map is inconsistent (record keyed under another UID), or undefined. */
function claimKeyProblem(claims: Readonly<Record<string, ClaimRecord>>): string | undefined {
  for (const [key, rec] of Object.entries(claims)) {
    if (rec.uid !== key) return `claim stored under "${key}" has uid "${rec.uid}"`
  }
  return undefined
}

/**
 * Check an already-parsed document; returns it typed or throws `NDRA_STATE_CORRUPT` naming
 * `source` (the file path) and what is wrong.
 */
function checkStateDocument(doc: unknown, source: string): PluginState {
  const corrupt = (why: string) =>
    new DriverError('NDRA_STATE_CORRUPT', `state file ${source} is not usable: ${why}`)
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw corrupt('not a JSON object')
  }
  const { apiVersion, kind } = doc as { apiVersion?: unknown; kind?: unknown }
  if (apiVersion !== STATE_API_VERSION || kind !== STATE_KIND) {
    throw corrupt(
      `unsupported apiVersion/kind ${JSON.stringify(apiVersion)}/${JSON.stringify(kind)} ` +
        `(this plugin reads ${STATE_API_VERSION}/${STATE_KIND})`,
    )
  }
  if (!validateDocument(doc)) throw corrupt(describe(validateDocument.errors ?? []))
  const keyProblem = claimKeyProblem(doc.claims)
  if (keyProblem !== undefined) throw corrupt(keyProblem)
  return doc
}

/**
 * Check one claim record about to be stored under `key` (what a whole-document check would say
 * about it); throws `NDRA_STATE_CORRUPT` naming `source` and what is wrong.
 */
export function checkClaimRecord(key: string, record: unknown, source: string): ClaimRecord {
  const corrupt = (why: string) =>
    new DriverError('NDRA_STATE_CORRUPT', `state file ${source} is not usable: ${why}`)
  if (!validateClaim(record)) {
    const errors = (validateClaim.errors ?? []).map(e => ({
      ...e,
      instancePath: `/claims/${key}${e.instancePath}`,
    }))
    throw corrupt(describe(errors))
  }
  if (record.uid !== key) throw corrupt(`claim stored under "${key}" has uid "${record.uid}"`)
  return record
}

/** Parse the bytes of a state file; throws `NDRA_STATE_CORRUPT` on bad JSON or a bad document. */
export function decodeState(text: string, source: string): PluginState {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err: unknown) {
    throw new DriverError('NDRA_STATE_CORRUPT', `state file ${source} is not valid JSON`, {
      cause: err,
    })
  }
  return checkStateDocument(doc, source)
}

/** The bytes written for a state (pretty JSON with a trailing newline, for humans debugging a node). */
export function encodeState(state: PluginState): string {
  return `${JSON.stringify(state, null, 2)}\n`
}

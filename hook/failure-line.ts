/**
 * The one line the hook prints on failure. runc copies the hook's stderr into the container-create
 * error, so this line is what a user sees in `kubectl describe pod`: it must say which claim and
 * request failed and why, on a single line.
 */

/**
 * Collapse whitespace (including newlines) so a multi-line reason stays one line. The plugin side
 * has the same rule as `replyLine` in src/attach/hook-server.ts; the hook keeps its own copy
 * because it imports nothing but node: built-ins (test/unit/hook/imports.ts).
 */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** `network-dra: attach <request>/<device> for claim <uid> failed: <reason>` (no newline). */
export function failureLine(
  target: { readonly claimUid: string; readonly request: string; readonly device: string },
  reason: string,
): string {
  return `network-dra: attach ${oneLine(target.request)}/${oneLine(target.device)} for claim ${oneLine(target.claimUid)} failed: ${oneLine(reason)}`
}

// Hand-written fakes of the attacher's pod/netns seams: a netns probe backed by a path→identity
// map, a pod resolver returning preset pods by container id, and an in-memory bundle filesystem.
import type { NetnsProbe } from '../../src/attach/attach-netns-probe.js'
import type { AttachPodResolver } from '../../src/attach/attacher.js'
import type { OciState } from '../../src/attach/hook-server.js'
import type { PodResolverFs, ResolvedPod } from '../../src/attach/pod-resolver.js'
import { DriverError } from '../../src/errors.js'

export class FakeNetnsProbe implements NetnsProbe {
  readonly ids = new Map<string, string>()
  async identify(path: string): Promise<string | undefined> {
    await Promise.resolve()
    return this.ids.get(path)
  }
}

export class FakePodResolver implements AttachPodResolver {
  readonly pods = new Map<string, ResolvedPod>()
  async resolve(state: OciState): Promise<ResolvedPod> {
    await Promise.resolve()
    const pod = this.pods.get(state.id)
    if (!pod) throw new DriverError('NDRA_POD_RESOLVE', `fake: unknown container ${state.id}`)
    return pod
  }
}

export class FakeBundleFs implements PodResolverFs {
  readonly files = new Map<string, string>()
  async readFile(path: string): Promise<string> {
    await Promise.resolve()
    const text = this.files.get(path)
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
    return text
  }
}

// Invariant: our result cache and libcni's are interchangeable. A tiny Go program built against the
// real libcni (github.com/containernetworking/cni v1.3.0, fetched through the Go module proxy) reads
// an entry our CniRuntime wrote, writes one for the same ADD that is byte-identical to ours, and our
// runtime reads libcni's entry and DELs from it. The "plugin" is a shell script that prints a result.
import t from 'tap'
import { execFile } from 'node:child_process'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseConfList } from '../../src/cni/conf.js'
import { CniRuntime, type RuntimeConf } from '../../src/cni/runtime.js'

const run = promisify(execFile)
const GO = process.env['GO'] ?? '/usr/local/go/bin/go'

const goMain = `package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	ctx := context.Background()
	list, err := libcni.ConfListFromFile(os.Args[3])
	must(err)
	switch os.Args[1] {
	case "add": // add <cacheDir> <conflist> <binDir> <cid> <netns> <ifname> <argsJSON> <capsJSON>
		var args [][2]string
		must(json.Unmarshal([]byte(os.Args[8]), &args))
		var caps map[string]interface{}
		must(json.Unmarshal([]byte(os.Args[9]), &caps))
		c := libcni.NewCNIConfigWithCacheDir([]string{os.Args[4]}, os.Args[2], nil)
		_, err = c.AddNetworkList(ctx, list, &libcni.RuntimeConf{ContainerID: os.Args[5], NetNS: os.Args[6], IfName: os.Args[7], Args: args, CapabilityArgs: caps})
		must(err)
	case "read": // read <cacheDir> <conflist> <cid> <ifname>
		c := libcni.NewCNIConfigWithCacheDir(nil, os.Args[2], nil)
		rt := &libcni.RuntimeConf{ContainerID: os.Args[4], IfName: os.Args[5]}
		atts, err := c.GetCachedAttachments("")
		must(err)
		res, err := c.GetNetworkListCachedResult(list, rt)
		must(err)
		cfg, rt2, err := c.GetNetworkListCachedConfig(list, rt)
		must(err)
		b, err := json.Marshal(map[string]interface{}{"attachments": atts, "result": res, "config": string(cfg), "args": rt2.Args, "capabilityArgs": rt2.CapabilityArgs})
		must(err)
		fmt.Println(string(b))
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

const pluginResult =
  '{"cniVersion":"1.0.0","interfaces":[{"name":"net1","mac":"02:42:ac:11:00:07","sandbox":"/run/netns/x"}],"ips":[{"interface":0,"address":"10.9.0.7/24","gateway":"10.9.0.1"}],"routes":[{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["10.9.0.1"]}}'

const haveGo = await run(GO, ['version']).then(
  () => true,
  () => false,
)

t.test(
  'libcni and CniRuntime read each other’s cache entries',
  { skip: haveGo ? false : `no Go toolchain at ${GO}` },
  async tt => {
    const dir = tt.testdir({ bin: {}, go: {}, ours: {}, theirs: {} })
    const goDir = join(dir, 'go')
    await writeFile(join(goDir, 'main.go'), goMain)
    const goEnv = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }
    const t0 = performance.now()
    await run(GO, ['mod', 'init', 'ndra/libcnicheck'], { cwd: goDir, env: goEnv })
    await run(GO, ['get', 'github.com/containernetworking/cni@v1.3.0'], { cwd: goDir, env: goEnv })
    await run(GO, ['build', '-o', 'libcnicheck', '.'], { cwd: goDir, env: goEnv, timeout: 300_000 })
    tt.comment(`built libcni checker in ${(performance.now() - t0).toFixed(0)} ms`)
    const checker = join(goDir, 'libcnicheck')

    const binDir = join(dir, 'bin')
    const log = join(dir, 'calls.log')
    const plugin = join(binDir, 'fakenet')
    await writeFile(
      plugin,
      `#!/bin/sh\nstdin=$(cat)\necho "$CNI_COMMAND $stdin" >> ${log}\nif [ "$CNI_COMMAND" = ADD ]; then printf '%s' '${pluginResult}'; fi\n`,
    )
    await chmod(plugin, 0o755)
    const conflist = join(dir, 'net.conflist')
    const confText =
      '{\n  "cniVersion": "1.0.0",\n  "name": "xnet",\n  "plugins": [{ "type": "fakenet", "capabilities": { "mac": true } }]\n}\n'
    await writeFile(conflist, confText)
    const list = parseConfList(await readFile(conflist))
    const rt: RuntimeConf = {
      containerId: 'ctr-x1',
      netns: '/run/netns/x',
      ifName: 'net1',
      args: [
        ['IgnoreUnknown', '1'],
        ['K8S_POD_NAME', 'a&b'],
      ],
      capabilityArgs: {
        mac: '02:42:ac:11:00:07',
        portMappings: [{ hostPort: 80, containerPort: 8080 }],
      },
    }

    // 1. we write, libcni reads
    const ours = new CniRuntime({
      binDirs: [binDir],
      cacheDir: join(dir, 'ours'),
      pluginTimeoutMs: 10_000,
      parentEnv: process.env,
    })
    const result = await ours.add(list, rt)
    const { stdout } = await run(checker, [
      'read',
      join(dir, 'ours'),
      conflist,
      rt.containerId,
      rt.ifName,
    ])
    const seen = JSON.parse(stdout) as Record<string, unknown>
    tt.same(seen['result'], result, 'libcni reads our result')
    tt.equal(seen['config'], confText, 'libcni decodes our base64 config to the original bytes')
    tt.same(seen['args'], rt.args)
    tt.same(seen['capabilityArgs'], rt.capabilityArgs)
    tt.match(seen['attachments'], [
      { ContainerID: 'ctr-x1', Network: 'xnet', IfName: 'net1', NetNS: '/run/netns/x' },
    ])

    // 2. libcni writes the same ADD: byte-identical file, and we read + DEL from it
    await run(checker, [
      'add',
      join(dir, 'theirs'),
      conflist,
      binDir,
      rt.containerId,
      rt.netns,
      rt.ifName,
      JSON.stringify(rt.args),
      JSON.stringify(rt.capabilityArgs),
    ])
    const file = 'results/xnet-ctr-x1-net1'
    tt.equal(
      await readFile(join(dir, 'ours', file), 'utf8'),
      await readFile(join(dir, 'theirs', file), 'utf8'),
      'our cache file is byte-identical to libcni’s',
    )
    const theirs = new CniRuntime({
      binDirs: [binDir],
      cacheDir: join(dir, 'theirs'),
      pluginTimeoutMs: 10_000,
      parentEnv: process.env,
    })
    tt.same(await theirs.cachedResult(list, rt), result)
    const atts = await theirs.cachedAttachments()
    tt.same(
      atts.map(a => [a.containerId, a.networkName, a.ifName, a.netns]),
      [['ctr-x1', 'xnet', 'net1', '/run/netns/x']],
    )
    tt.same(atts[0]?.cniArgs, rt.args)
    await theirs.del(list, rt)
    const lines = (await readFile(log, 'utf8')).trim().split('\n')
    const del = lines.at(-1) ?? ''
    tt.ok(del.startsWith('DEL '), 'DEL ran')
    tt.same(
      (JSON.parse(del.slice(4)) as Record<string, unknown>)['prevResult'],
      result,
      'prevResult from libcni’s entry',
    )
    tt.same(await theirs.cachedAttachments(), [], 'entry removed after DEL')
  },
)

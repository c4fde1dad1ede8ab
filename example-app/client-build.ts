/**
 * The agent console serves the compiled client (`dist/client`), which `npm ci` builds (`prepare`). The
 * demo and the tests call this first, so the page runs the client of the current source: it runs the
 * package's build when `dist/client` is missing or older than `src/client`.
 */
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultClientDir } from './console.js'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const clientSource = join(repoRoot, 'src', 'client')

function mtimeOf (path: string): number | undefined {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/** Whether dist/client/index.js exists and is newer than every file of src/client. */
export function clientIsBuilt (): boolean {
  const built = mtimeOf(join(defaultClientDir, 'index.js'))
  if (built === undefined) return false
  return readdirSync(clientSource).every((file) => (mtimeOf(join(clientSource, file)) ?? 0) <= built)
}

/** Runs `tsc -p tsconfig.build.json`; answers its exit code and output. */
async function build (): Promise<{ code: number | null, output: string }> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  return { code, output }
}

export async function ensureClientBuilt ({ log = () => {} }: { log?: (message: string) => void } = {}): Promise<void> {
  if (clientIsBuilt()) return
  log('building the client for the agent console (tsc -p tsconfig.build.json)')
  const { code, output } = await build()
  // tsc emits despite type errors elsewhere in src/: what matters here is a fresh dist/client.
  if (clientIsBuilt()) {
    if (code !== 0) log(`tsc reported errors, but dist/client was emitted:\n${output.trim()}`)
    return
  }
  throw new Error(`Building the client for the agent console failed (tsc exit ${String(code)}):\n${output.trim()}`)
}

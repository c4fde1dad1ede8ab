// Dependencies flow one way: the lower layers (the domain's vocabulary, the stores, the calls, the
// Asterisk adapters, the shared infrastructure) import nothing of the layers above them. Every file of
// src/ is read, the specifiers of its imports, re-exports and dynamic imports are resolved to files,
// and each is checked against the rules below; a broken rule fails naming the file and the import.
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')

/** A source file by its path from the repository's root (`src/store/x.ts`), with what it imports. */
interface SourceFile {
  path: string
  /** Each import as written, and the file of src/ it resolves to (undefined: a package or Node). */
  imports: Array<{ specifier: string, target: string | undefined }>
  /** Whether it defines the transfer service's class (the facade the metrics must not depend on). */
  definesTransferService: boolean
}

interface Rule {
  /** The files the rule applies to. */
  applies: (path: string) => boolean
  /** Why an import is refused, or undefined when it is allowed. */
  refuses: (target: SourceFile) => string | undefined
}

const inFolder = (folder: string) => (path: string): boolean => path.startsWith(`src/${folder}/`)
const UPPER = ['transfers', 'routes', 'feed']

const RULES: Rule[] = [
  {
    applies: (path) => ['store', 'calls', 'domain', 'asterisk'].some((folder) => inFolder(folder)(path)),
    refuses: (target) => {
      const folder = UPPER.find((name) => inFolder(name)(target.path))
      if (folder !== undefined) return `a lower layer may not import ${folder}/`
      return target.path === 'src/plugin.ts' ? 'a lower layer may not import plugin.ts' : undefined
    }
  },
  {
    applies: inFolder('metrics'),
    refuses: (target) => {
      if (inFolder('routes')(target.path)) return 'metrics may not import routes/'
      return target.definesTransferService ? 'metrics may not import the TransferService class (it follows an interface of its own)' : undefined
    }
  },
  {
    applies: inFolder('support'),
    // The client's backoff is the one exception: pure and browser-safe, it imports nothing but the
    // client's own files (test/client/portability.test.ts), so support/ stays at the bottom.
    refuses: (target) => inFolder('support')(target.path) || target.path === 'src/client/backoff.ts'
      ? undefined
      : 'support/ may import nothing from the other folders of src'
  }
]

/** Every broken rule, as `file: import 'specifier' (why)`. */
function violations (files: SourceFile[], rules: Rule[] = RULES): string[] {
  const byPath = new Map(files.map((file) => [file.path, file]))
  const found: string[] = []
  for (const file of files) {
    for (const rule of rules.filter((candidate) => candidate.applies(file.path))) {
      for (const { specifier, target } of file.imports) {
        const imported = target === undefined ? undefined : byPath.get(target)
        const why = imported === undefined ? undefined : rule.refuses(imported)
        if (why !== undefined) found.push(`${file.path}: import '${specifier}' (${why})`)
      }
    }
  }
  return found
}

async function sourceFiles (): Promise<SourceFile[]> {
  const entries = await readdir(src, { withFileTypes: true, recursive: true })
  const paths = entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name))
  return await Promise.all(paths.map(async (absolute) => {
    const text = await readFile(absolute, 'utf8')
    // Static imports and `export … from` (type-only ones too: a type is a dependency) and `import()`.
    const { importedFiles } = ts.preProcessFile(text, true, true)
    return {
      path: relative(root, absolute),
      imports: importedFiles.map(({ fileName }) => ({ specifier: fileName, target: resolveSpecifier(absolute, fileName) })),
      definesTransferService: /\bexport\s+class\s+TransferService\b/.test(text)
    }
  }))
}

/** The file of src/ a relative specifier names (`./x.js` is `x.ts`), from the repository's root. */
function resolveSpecifier (from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  return relative(root, resolve(dirname(from), specifier.replace(/\.js$/, '.ts')))
}

t.test('every file of src/ keeps to the layers', async (t) => {
  const files = await sourceFiles()
  t.ok(files.length > 50, `read ${files.length} files of src/`)
  t.ok(files.some((file) => file.imports.some((entry) => entry.target !== undefined)), 'their relative imports resolve to files')
  t.same(violations(files), [], 'no import breaks a rule')
})

t.test('a broken rule is found and named', async (t) => {
  const file = (path: string, ...targets: string[]): SourceFile => ({
    path,
    imports: targets.map((target) => ({ specifier: `./${target}`, target })),
    definesTransferService: path === 'src/transfers/transfer-service.ts'
  })
  const files = [
    file('src/store/memory-transfer-store.ts', 'src/transfers/state.ts', 'src/domain/transfer.ts'),
    file('src/calls/call-view.ts', 'src/feed/fanout.ts', 'src/plugin.ts'),
    file('src/metrics/transfer-metrics.ts', 'src/routes/api.ts', 'src/transfers/transfer-service.ts', 'src/transfers/transfer-events.ts'),
    file('src/support/logger.ts', 'src/asterisk/pbx.ts', 'src/client/backoff.ts', 'src/support/safe-emitter.ts'),
    file('src/transfers/state.ts'), file('src/domain/transfer.ts'), file('src/feed/fanout.ts'), file('src/plugin.ts'),
    file('src/routes/api.ts'), file('src/transfers/transfer-service.ts'), file('src/transfers/transfer-events.ts'),
    file('src/asterisk/pbx.ts'), file('src/client/backoff.ts'), file('src/support/safe-emitter.ts')
  ]
  t.same(violations(files), [
    "src/store/memory-transfer-store.ts: import './src/transfers/state.ts' (a lower layer may not import transfers/)",
    "src/calls/call-view.ts: import './src/feed/fanout.ts' (a lower layer may not import feed/)",
    "src/calls/call-view.ts: import './src/plugin.ts' (a lower layer may not import plugin.ts)",
    "src/metrics/transfer-metrics.ts: import './src/routes/api.ts' (metrics may not import routes/)",
    "src/metrics/transfer-metrics.ts: import './src/transfers/transfer-service.ts' (metrics may not import the TransferService class (it follows an interface of its own))",
    "src/support/logger.ts: import './src/asterisk/pbx.ts' (support/ may import nothing from the other folders of src)"
  ])
})

// The client runs in browsers and Electron renderers: what it emits may import nothing but its own
// files (types from the server vanish at build) and may touch no Node-only global. Each file is
// emitted as the build emits it, then its imports and code are read.
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const clientDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/client')
const NODE_ONLY = new Set(['process', 'Buffer', 'require', 'module', '__dirname', '__filename', 'global', 'setImmediate'])

async function sourceFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name))
}

/** The JavaScript the build emits for one file, without comments. */
function emit (file: string, source: string): string {
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true, removeComments: true }
  }).outputText
}

/** The module specifiers of static imports, re-exports and dynamic imports, and the Node-only globals used. */
function dependencies (js: string): { specifiers: string[], nodeGlobals: string[] } {
  const specifiers: string[] = []
  const nodeGlobals: string[] = []
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      specifiers.push(node.moduleSpecifier.text)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      specifiers.push(node.arguments[0]?.getText() ?? '')
    } else if (ts.isIdentifier(node) && NODE_ONLY.has(node.text) && !isMemberName(node)) {
      nodeGlobals.push(node.text)
    }
    ts.forEachChild(node, visit)
  }
  visit(ts.createSourceFile('emitted.js', js, ts.ScriptTarget.ES2022, true))
  return { specifiers, nodeGlobals }
}

/** `x.process` or `{ process: … }`: a property, not the global (`globalThis.process` is the global). */
function isMemberName (node: ts.Identifier): boolean {
  const { parent } = node
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return parent.expression.getText() !== 'globalThis'
  return (ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.name === node
}

const files = await sourceFiles(clientDir)

t.test('the client has files to check', async (t) => {
  t.ok(files.some((file) => file.endsWith('/index.ts')))
})

for (const file of files) {
  const name = relative(clientDir, file)
  t.test(`${name}: imports only the client's own files, uses no Node global`, async (t) => {
    const { specifiers, nodeGlobals } = dependencies(emit(file, await readFile(file, 'utf8')))
    for (const specifier of specifiers) {
      t.match(specifier, /^\.\/[\w-]+\.js$/, `${specifier}: a sibling file, with its .js suffix`)
      t.ok(files.includes(resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))), `${specifier} is in src/client`)
    }
    t.same(nodeGlobals, [], 'no Node-only global')
  })
}

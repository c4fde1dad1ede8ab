// The console's browser script is plain JavaScript served as it is; it is type-checked against the
// client's source (example-app/tsconfig.public.json), which `tsc -p tsconfig.json` does not cover.
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const configFile = fileURLToPath(new URL('../../example-app/tsconfig.public.json', import.meta.url))

t.test('example-app/public/console.js type-checks against the client it imports', async (t) => {
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')) }
  })
  if (parsed === undefined) throw new Error(`cannot read ${configFile}`)
  t.same(parsed.fileNames.map((file) => file.replace(/^.*\/example-app\//, '')), ['public/console.js'])

  const program = ts.createProgram(parsed.fileNames, parsed.options)
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file === undefined || diagnostic.start === undefined
      ? ''
      : `${diagnostic.file.fileName}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1}: `
    return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
  })
  t.same(diagnostics, [], 'no type errors')
  t.ok(program.getSourceFiles().some((file) => file.fileName.endsWith('/src/client/transfer-client.ts')), 'the import resolves to src/client')
})

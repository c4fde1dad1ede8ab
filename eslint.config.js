// ESLint flat config: neostandard (the `standard` style the code already follows, the Fastify
// ecosystem's linter) plus two type-aware typescript-eslint rules that catch a promise nobody awaits
// or one passed where a callback's result is ignored: in a long-running server an unhandled rejection
// ends the process, and a forgotten `await` lets a step run out of order.
import { globalIgnores } from 'eslint/config'
import globals from 'globals'
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import tseslint from 'typescript-eslint'

const promiseRules = {
  '@typescript-eslint/no-floating-promises': ['error', {
    // tap's t.test() returns a promise that only ever resolves (a failing subtest is reported, not
    // thrown), and tap waits for its subtests itself: the test files leave it unawaited on purpose.
    allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }]
  }],
  '@typescript-eslint/no-misused-promises': 'error',
  // `void promise` as a statement is how a deliberately unawaited promise is marked (the rule above
  // accepts it); `void` inside an expression stays forbidden.
  'no-void': ['error', { allowAsStatement: true }]
}

export default [
  // dist, node_modules, the test bed's chroot (.asterisk), tap's output (.tap) and the rest of .gitignore
  globalIgnores(resolveIgnoresFromGitignore()),
  ...neostandard({ ts: true }),
  {
    rules: {
      // Asterisk's dialplan writes its variables ${NAME} in plain strings (recall dialplan, AMI
      // actions, hostile inputs in tests): here such a string is meant, not a mistyped template.
      'no-template-curly-in-string': 'off'
    }
  },
  {
    files: ['**/*.ts'],
    rules: {
      // A TypeBox schema and its type share one name (`const Call = Type.Object(...)`, `type Call =
      // Static<typeof Call>`), TypeBox's own idiom; a real redeclaration is a tsc error already.
      '@typescript-eslint/no-redeclare': 'off'
    }
  },
  {
    // The types come from the project's tsconfig; the plain-JS scripts (bench, the test runner, this
    // file) are outside it and get a default project with its compiler options.
    files: ['**/*.{ts,js,mjs}'],
    ignores: ['example-app/public/**'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/*.mjs', 'bench/lib/*.mjs'],
          defaultProject: 'tsconfig.json'
        },
        tsconfigRootDir: import.meta.dirname
      }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: promiseRules
  },
  {
    // The console's browser script has its own tsconfig, which resolves its import of the client.
    files: ['example-app/public/**/*.js'],
    languageOptions: {
      globals: globals.browser,
      parser: tseslint.parser,
      parserOptions: {
        project: './example-app/tsconfig.public.json',
        tsconfigRootDir: import.meta.dirname
      }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: promiseRules
  }
]

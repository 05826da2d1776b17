// The linter's rules for the whole tree (`npm run lint`), with type information
// (typescript-eslint's project service reads tsconfig.json, which covers the tests too).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'shared/generated/**', 'deploy/**', '.data/**', 'bench-results/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its error: await it, return it, or mark it `void` with a reason.
      '@typescript-eslint/no-floating-promises': 'error',
      // An async function where a callback's return value is ignored (event handlers, forEach) loses its error the same way.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // With noUncheckedIndexedAccess on, a `!` the compiler no longer needs is noise that hides the ones that matter.
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      'no-console': 'error',
    },
  },
  {
    // Entry points and tools that talk to a terminal may print; library code logs through shared/logging.
    files: ['cli/**', 'bench/**', 'scripts/**', '**/cli/**', 'test/**', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
);

// ESLint flat config: typescript-eslint strict-type-checked, node protocol imports, no console
// outside entrypoints and scripts, no hidden env reads below the entrypoints.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import n from 'eslint-plugin-n'

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      '.tap/**',
      'node_modules/**',
      'charts/**',
      '**/*.mjs',
      '**/*.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { n },
    rules: {
      'n/prefer-node-protocol': 'error',
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in src/config.ts only.',
        },
        { object: 'process', property: 'exit', message: 'Only entrypoints may exit.' },
      ],
    },
  },
  {
    files: [
      'src/main.ts',
      'src/probe.ts',
      'src/config.ts',
      'hook/main.ts',
      'test/**/*.ts',
      'scripts/**/*.ts',
    ],
    rules: { 'no-console': 'off', 'no-restricted-properties': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // tap's t.test() returns a promise the runner tracks; async callbacks without await are its idiom.
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
)

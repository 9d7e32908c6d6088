import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'data/**',
      'dist/**',
      '.next/**',
      'app/.next/**',
      'app/next-env.d.ts',
      'test-results/**',
      'playwright-report/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The site (app/, Next.js) runs its client components in the browser.
    files: ['app/**/*.ts', 'app/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    // trust-core's portable core may not reach into Node or the rest of the project.
    files: ['trust-core/src/**/*.ts'],
    ignores: ['trust-core/src/node/**', 'trust-core/src/**/*.test.ts', 'trust-core/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['fs', 'path', 'crypto', 'http', 'https', 'os', 'net', 'child_process'].map((name) => ({
            name,
            message:
              'trust-core core does its I/O through interfaces; put Node code in trust-core/src/node/.',
          })),
          patterns: [
            {
              regex: '^node:',
              message:
                'trust-core core does its I/O through interfaces; put Node code in trust-core/src/node/.',
            },
            {
              regex: '^(\\.\\./){2,}',
              message: 'trust-core depends on no other module of the project.',
            },
            {
              regex: '/node/',
              message: 'the portable core never imports trust-core/src/node/.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);

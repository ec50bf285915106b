// Bundles src/main.ts into dist/app.js and copies the static files beside it.
import { build } from 'esbuild';
import { cp, rm } from 'node:fs/promises';

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  bundle: true,
  outfile: 'dist/app.js',
  format: 'iife',
  // zone.js cannot follow native async/await: ES2016 makes esbuild lower them to generators and
  // promises, so the click's context survives the awaits and reaches its fetch.
  target: 'es2016',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info',
});
await cp('static', 'dist', { recursive: true });

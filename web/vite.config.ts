// Vite builds the client into dist/ (or the directory given with --outDir,
// which is what CMake does). Asset names carry a content hash, so the server
// can mark them immutable; index.html is the only file that must not be cached.
import { defineConfig } from 'vitest/config';

// The magpie serve that the dev server and `vite preview` send /v1 to.
const api = process.env.MAGPIE_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    sourcemap: false,
    // One CSS file and the app's JS; the admin console and other rarely used
    // screens are split off with dynamic import() so the first load stays small.
    cssCodeSplit: true,
    assetsInlineLimit: 0, // inline data: URLs would need a looser CSP
    modulePreload: { polyfill: false }, // the polyfill is an inline script
  },
  server: {
    // `npm run dev`: the API and the WebSocket go to a magpie serve on 8080.
    proxy: {
      '/v1': { target: api, ws: true, changeOrigin: false },
      '/healthz': api,
      '/readyz': api,
    },
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});

import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

// Relative base so the built site works under any sub-path (GitHub Pages project sites).
export default defineConfig({
  base: './',
  plugins: [svelte(), offline(), pagesPreview()],
  worker: { format: 'es' },
  // onnxruntime-web ships its own wasm loader; pre-bundling breaks its relative wasm URL.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022' },
});

/**
 * The service worker (Workbox, generated): after one visit the app opens, loads the model, reads files and downloads
 * with no network. It precaches the app shell, the onnxruntime wasm, the model bundle the page needs and the sample.
 * A new deployment waits until the user says so (registerType 'prompt', src/lib/offline.svelte.ts): never mid-session.
 */
function offline() {
  return VitePWA({
    registerType: 'prompt',
    // Registered from src/lib/offline.svelte.ts once the model is loaded, so the first visit's downloads do not
    // share the link with the precache (which then mostly hits the HTTP cache).
    injectRegister: false,
    manifest: {
      name: 'Sensor Fault Detection',
      short_name: 'Fault Detection',
      description: 'Flags likely faulty wafers from their 590 sensor readings, in your browser.',
      theme_color: '#1f4e79',
      background_color: '#ffffff',
      icons: [{ src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' }],
    },
    workbox: {
      // The manifest and its icon (favicon.svg) are added by the plugin.
      globPatterns: ['index.html', 'assets/*.{js,css,wasm}', 'models/*.{json,onnx}', 'samples/*.csv'],
      // In the bundle but not read by the page (docs/bundle.md): the parity fixture and the recipe report.
      globIgnores: ['models/golden.json', 'models/report.md'],
      // The onnxruntime wasm is ≈ 14 MB; Workbox leaves out (and now fails the build on) files over 2 MiB.
      maximumFileSizeToCacheInBytes: 32 * 1024 ** 2,
      // No SPA fallback: the one page is precached as index.html (also served for the folder URL), and any other
      // path answers as the host does (a 404 on GitHub Pages).
      navigateFallback: null,
      // The first visit's page (and what it fetches next, e.g. the sample) is served from the cache as soon as the
      // worker is active; an update still waits for the user (skipWaiting stays off).
      clientsClaim: true,
    },
  });
}

/**
 * Makes `vite preview` serve the build as GitHub Pages serves a project site, under a sub-path given with `--base`
 * (the end-to-end tests and the benchmark run against it). Out of the box, vite preview answers a missing file under
 * the base with index.html (its SPA fallback, status 200) and redirects `/` and `/index.html` to the base (302);
 * here both are a 404, so a URL that escapes the base path, or names a file that is not in the build, fails loudly
 * instead of working by accident.
 */
function pagesPreview(): Plugin {
  return {
    name: 'pages-preview',
    // appType 'mpa': a directory serves its index.html, any other missing file is a 404 (no SPA fallback).
    // No CORS headers: the app only talks to its own origin.
    config: (_config, { isPreview }) => (isPreview ? { appType: 'mpa', preview: { cors: false } } : undefined),
    configurePreviewServer(server) {
      const base = server.config.base;
      // Installed before Vite's own middlewares, so it also sees the requests that its base redirect would answer.
      server.middlewares.use((req, res, next) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (!path.startsWith(base)) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end(`404: ${path}`);
          return;
        }
        // Vite's static server knows no type for .onnx and would send an empty Content-Type.
        if (path.endsWith('.onnx')) res.setHeader('content-type', 'application/octet-stream');
        next();
      });
    },
  };
}

import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Relative base so the built site works under any sub-path (GitHub Pages project sites).
export default defineConfig({
  base: './',
  plugins: [svelte(), pagesPreview()],
  worker: { format: 'es' },
  // onnxruntime-web ships its own wasm loader; pre-bundling breaks its relative wasm URL.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022' },
});

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

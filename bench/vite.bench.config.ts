// Benchmark-only Vite build: bench/page → bench/dist (git-ignored). Its worker imports the engine's own modules
// (splitter, PapaParse call, model scoring) so parse-only and inference-only figures use the shipped code paths
// without polluting the app's dist/. The models come from the app's public/ dir.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('./page/', import.meta.url)),
  base: './',
  publicDir: fileURLToPath(new URL('../public/', import.meta.url)),
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    outDir: fileURLToPath(new URL('./dist/', import.meta.url)),
    emptyOutDir: true,
  },
  logLevel: 'warn',
});

import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Relative base so the built site works under any sub-path (GitHub Pages project sites).
export default defineConfig({
  base: './',
  plugins: [svelte()],
  worker: { format: 'es' },
  // onnxruntime-web ships its own wasm loader; pre-bundling breaks its relative wasm URL.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022' },
});

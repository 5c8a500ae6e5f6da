import { defineConfig } from 'vite';

/**
 * The command-line tool as one plain-Node ES module, cli-dist/sensor-fault.mjs (git-ignored; `npm install` builds
 * it through the "prepare" script). The engine's TypeScript is bundled in; the packages stay imports from
 * node_modules (an SSR build externalizes them): onnxruntime-web finds its .wasm next to its own module.
 */
export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  build: {
    ssr: 'cli/sensor-fault.ts',
    outDir: 'cli-dist',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'sensor-fault.mjs', format: 'es' } },
  },
});

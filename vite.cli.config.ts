import { defineConfig } from 'vite';

/**
 * The command-line tool as plain-Node ES modules, cli-dist/sensor-fault.mjs and its parse worker (git-ignored; `npm install` builds
 * it through the "prepare" script). The engine's TypeScript is bundled in; the packages stay imports from
 * node_modules (an SSR build externalizes them): onnxruntime-web finds its .wasm next to its own module.
 */
export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir: 'cli-dist',
    // Files are rewritten in place, not deleted first: a test run spawning the tool meanwhile never finds it missing.
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: {
      // The tool, and the parse worker threads it starts (cli/pool.ts finds the script next to it).
      input: { 'sensor-fault': 'cli/sensor-fault.ts', 'parse-worker': 'cli/parse-worker.ts' },
      output: { entryFileNames: '[name].mjs', chunkFileNames: '[name].mjs', format: 'es' },
    },
  },
});

import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the UI state's runes (src/lib/*.svelte.ts) for its unit tests.
  plugins: [svelte()],
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    // The command-line tests spawn the built tool.
    globalSetup: ['tests/unit/build-cli.ts'],
    // Model tests create an onnxruntime-web (WASM) session and score the sample; allow for a slow 2-core CI box.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

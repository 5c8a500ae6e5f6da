// `vite preview` of a build directory under a sub-path on a free loopback port, answering like GitHub Pages (see
// the preview plugin in vite.config.ts). Used by the benchmark and the README screenshot.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const rootDir = new URL('../', import.meta.url).pathname;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Serve `outDir` (relative to the repository) at `base`; resolves once it answers 200 there. */
export async function previewServer(outDir, base) {
  const port = await freePort();
  const vite = `${rootDir}node_modules/vite/bin/vite.js`;
  const args = [vite, 'preview', '--outDir', outDir, '--base', base, '--port', String(port), '--strictPort', '--host', '127.0.0.1'];
  const child = spawn(process.execPath, args, { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}${base}`;
  let exit = null;
  child.once('exit', (code) => (exit = code));
  for (let i = 0; !(await fetch(url).then((r) => r.ok, () => false)); i++) {
    if (exit !== null) throw new Error(`vite preview exited ${exit}`);
    if (i === 300) {
      child.kill();
      throw new Error(`vite preview did not answer at ${url}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child };
}

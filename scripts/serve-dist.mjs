// Serves the production build (dist/) under a sub-path, as GitHub Pages does (https://user.github.io/<repo>/).
// Used by the end-to-end tests and the benchmark; anything outside the sub-path is a 404, so a URL that
// escapes the base path fails loudly instead of working by accident.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4173' },
    base: { type: 'string', default: '/sensor-fault-detection/' },
    root: { type: 'string', default: 'dist' },
  },
});
const root = resolve(values.root);
const base = values.base.endsWith('/') ? values.base : `${values.base}/`;
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function fileFor(urlPath) {
  if (!urlPath.startsWith(base)) return null;
  const relative = decodeURIComponent(urlPath.slice(base.length)) || 'index.html';
  const path = normalize(join(root, relative));
  if (!path.startsWith(root)) return null;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return fileFor(`${urlPath.replace(/\/?$/, '/')}index.html`);
    return { path, size: stat.size };
  } catch {
    return null;
  }
}

createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const file = fileFor(url.pathname);
  if (!file) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`404: ${url.pathname}`);
    return;
  }
  response.writeHead(200, {
    'content-type': types[extname(file.path)] ?? 'application/octet-stream',
    'content-length': file.size,
    'cache-control': 'no-cache',
  });
  createReadStream(file.path).pipe(response);
}).listen(Number(values.port), '127.0.0.1', () => {
  console.log(`serving ${root} at http://127.0.0.1:${values.port}${base}`);
});

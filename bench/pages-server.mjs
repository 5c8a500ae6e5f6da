// A static server that answers like GitHub Pages for the load-time benchmark: the build under a sub-path, a 404
// outside it and for missing files, `Cache-Control: max-age=600` with an ETag, and gzip (never brotli) for the
// types Pages compresses — text types, JavaScript, JSON, SVG, the web manifest and application/wasm — when the
// browser accepts it; other types (the .onnx model: application/octet-stream) go as they are. The gzip bodies are
// made once at start (Pages' CDN caches them too), so compressing costs no time during a measured visit.
// It counts the bytes it sends, so a visit's weight on the wire is known (including what workers fetch).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
};
const COMPRESSED = new Set(['.html', '.js', '.css', '.json', '.webmanifest', '.svg', '.csv', '.wasm']);

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map((name) => join(dir, String(name)))
    .filter((path) => statSync(path).isFile());
}

function prepare(dir) {
  const files = new Map();
  for (const path of filesUnder(dir)) {
    const body = readFileSync(path);
    const ext = extname(path);
    files.set(relative(dir, path).split('\\').join('/'), {
      body,
      gzip: COMPRESSED.has(ext) ? gzipSync(body, { level: 6 }) : null,
      type: TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`,
    });
  }
  return files;
}

/** Serve `dir` at `base` on a free loopback port. Resolves to { url, bytesSent(), close() }. */
export function pagesServer(dir, base) {
  const files = prepare(dir);
  let sent = 0;
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const name = path.startsWith(base) ? path.slice(base.length) || 'index.html' : null;
    const file = name === null ? undefined : files.get(name.endsWith('/') ? `${name}index.html` : name);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`404: ${path}`);
      return;
    }
    const headers = { 'content-type': file.type, 'cache-control': 'max-age=600', etag: file.etag, vary: 'Accept-Encoding' };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzip : file.body;
    sent += body.length;
    res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolve({
        url: `http://127.0.0.1:${port}${base}`,
        bytesSent: () => sent,
        close: () => new Promise((done) => server.close(() => done(undefined))),
      });
    });
  });
}

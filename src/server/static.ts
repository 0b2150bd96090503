/**
 * The two static files the server ships: the browser SDK at `GET /client.js` (as Socket.IO serves
 * its client) and the web console at `GET /`. Both are built by `npm run build`
 * (scripts/build-client.mjs) into `dist/browser/` and `dist/console/`, read once, and served from
 * memory with a strong ETag (a 304 when unchanged) and a gzipped copy for clients that accept it.
 *
 * The console is never framed (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`: a page that
 * frames it could click its buttons, and `frame-ancestors` is ignored in a `<meta>` CSP), and its
 * strict CSP — the build's `<meta>` policy, which allows only its own inline script by hash — is
 * also sent as a header.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unavailable } from '../protocol/errors.js';

interface StaticFile {
  body: Buffer;
  gzipped: Buffer;
  etag: string;
  /** Security headers sent with it (the console's CSP). */
  headers: Record<string, string>;
}

interface Asset {
  route: string;
  /** Path under dist/. */
  file: string;
  contentType: string;
  /** Revalidate every time: a server upgrade must never leave a browser on an old SDK or console. */
  cacheControl: string;
  /** An HTML page: it gets the frame and CSP headers. */
  page?: boolean;
}

const ASSETS: Asset[] = [
  {
    route: '/client.js',
    file: 'browser/client.js',
    contentType: 'text/javascript; charset=utf-8',
    cacheControl: 'public, max-age=0, must-revalidate',
  },
  {
    route: '/',
    file: 'console/index.html',
    contentType: 'text/html; charset=utf-8',
    cacheControl: 'no-cache',
    page: true,
  },
];

/**
 * The package's dist/ seen from this module: `dist/server/static.js` and `src/server/static.ts`
 * are both two levels below the package root. (`../console/` would be the console's *sources*
 * when run from src/.)
 */
function distPath(file: string): string | undefined {
  const path = fileURLToPath(new URL(`../../dist/${file}`, import.meta.url));
  return existsSync(path) ? path : undefined;
}

const META_CSP = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/i;
/** Used when the page carries no policy of its own: nothing but this origin's own files. */
const FALLBACK_CSP = "default-src 'self'; base-uri 'none'; form-action 'none'";

/** The page's own CSP (from its `<meta>`) plus what only a header can say, and the frame ban. */
export function pageSecurityHeaders(html: string): Record<string, string> {
  const policy = META_CSP.exec(html)?.[1] ?? FALLBACK_CSP;
  return {
    'content-security-policy': `${policy}; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

function load(asset: Asset): StaticFile | undefined {
  const path = distPath(asset.file);
  if (path === undefined) return undefined;
  const body = readFileSync(path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers = asset.page ? pageSecurityHeaders(body.toString('utf8')) : {};
  return { body, gzipped: gzipSync(body, { level: 9 }), etag, headers };
}

export function registerStatic(app: FastifyInstance): void {
  for (const asset of ASSETS) {
    let cached: StaticFile | undefined;
    app.get(asset.route, async (request: FastifyRequest, reply: FastifyReply) => {
      cached ??= load(asset);
      if (cached === undefined) {
        throw unavailable(`${asset.route} is not built (dist/${asset.file} is missing); run npm run build`);
      }
      reply
        .header('content-type', asset.contentType)
        .header('cache-control', asset.cacheControl)
        .header('etag', cached.etag)
        .header('vary', 'Accept-Encoding')
        .header('x-content-type-options', 'nosniff')
        .headers(cached.headers);
      if (request.headers['if-none-match'] === cached.etag) return reply.code(304).send();
      if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
        return reply.header('content-encoding', 'gzip').send(cached.gzipped);
      }
      return reply.send(cached.body);
    });
  }
}

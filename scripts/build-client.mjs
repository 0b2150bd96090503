#!/usr/bin/env node
/**
 * Builds what browsers load, after `tsc` (run by `npm run build`):
 *   dist/browser/client.js   the SDK as one minified ES module (GET /client.js), no dependencies
 *   dist/console/index.html  the web console (GET /): HTML with its script (uPlot included) and CSS inlined
 * and prints the SDK's minified and gzipped size (target: under 11.5 KB gzipped; see docs/client.md).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// 10 KB until the second wave: Web Push, delayed delivery and request-reply (request/respond) took
// the SDK to about 10.7 KB; the target moved to 11.5 KB rather than drop request-reply from browsers.
const GZIP_TARGET_BYTES = 11.5 * 1024;
/** The console page, gzipped, as served: HTML, CSS, its script and uPlot (about 20 KB of it). */
const CONSOLE_GZIP_BUDGET_BYTES = 40 * 1024;
const browserTarget = ['es2022', 'chrome100', 'firefox100', 'safari15.4'];

async function buildClient() {
  const outfile = join(root, 'dist/browser/client.js');
  await build({
    entryPoints: [join(root, 'src/client/browser.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: browserTarget,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // Parameter properties become plain assignments, without a second field declaration each.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  });
  const code = readFileSync(outfile);
  const gzipped = gzipSync(code, { level: 9 }).length;
  const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
  const verdict = gzipped <= GZIP_TARGET_BYTES ? 'within' : 'OVER';
  console.log(
    `build-client: dist/browser/client.js ${kb(code.length)} minified, ${kb(gzipped)} min+gzip (${gzipped} bytes, ${verdict} the ${GZIP_TARGET_BYTES}-byte target)`,
  );
}

/** The console imports the SDK from '/client.js' at run time (the same file users load), not a copy. */
const sdkFromServer = {
  name: 'sdk-from-server',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\/client\/browser\.js$/ }, () => ({ path: '/client.js', external: true }));
  },
};

async function buildConsole() {
  const result = await build({
    entryPoints: [join(root, 'src/console/main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: browserTarget,
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [sdkFromServer],
  });
  const script = result.outputFiles[0].text.replaceAll('</script', '<\\/script');
  const css = [
    readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    readFileSync(join(root, 'src/console/style.css'), 'utf8'),
  ].join('\n');
  const scriptHash = createHash('sha256').update(script).digest('base64');
  // The only script is the inline module (and what it imports from this origin), so a CSP can say so.
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${scriptHash}'`,
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const html = readFileSync(join(root, 'src/console/index.html'), 'utf8')
    // Replacer functions: a replacement string would interpret `$&` and friends in the minified code.
    .replace('<!--CSP-->', () => `<meta http-equiv="Content-Security-Policy" content="${csp}">`)
    .replace('<!--STYLE-->', () => `<style>${css}</style>`)
    .replace('<!--SCRIPT-->', () => `<script type="module">${script}</script>`);
  mkdirSync(join(root, 'dist/console'), { recursive: true });
  writeFileSync(join(root, 'dist/console/index.html'), html);
  // The console's budget (docs/console.md): everything in one page, uPlot included, no framework.
  const gzipped = gzipSync(html, { level: 9 }).length;
  console.log(
    `build-client: dist/console/index.html ${(html.length / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (uPlot included; budget ${CONSOLE_GZIP_BUDGET_BYTES / 1024} KB)`,
  );
  if (gzipped > CONSOLE_GZIP_BUDGET_BYTES) {
    throw new Error(`the console is ${gzipped} bytes gzipped, over its ${CONSOLE_GZIP_BUDGET_BYTES}-byte budget`);
  }
}

/** `switchboard bench --html` inlines uPlot; a copy next to the CLI works without dev dependencies. */
function copyBenchVendor() {
  const vendor = join(root, 'dist/cli/bench/vendor');
  mkdirSync(vendor, { recursive: true });
  for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
    writeFileSync(join(vendor, file), readFileSync(require.resolve(`uplot/dist/${file}`)));
  }
}

await buildClient();
await buildConsole();
copyBenchVendor();

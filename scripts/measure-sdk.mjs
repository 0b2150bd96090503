#!/usr/bin/env node
/**
 * SDK overhead: deliveries per second through the client SDK versus a raw `ws` client on the same
 * server, plus the browser bundle's size. Starts `switchboard serve --engine memory` (from dist/,
 * run `npm run build` first) on a free loopback port, fills one topic, then times a full replay of
 * it by each client, alternating, several rounds. Every client parses each message (as an
 * application would), so the difference is the SDK's own work: validation, cursor, dispatch.
 *
 *   node scripts/measure-sdk.mjs [messages=100000] [rounds=3]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { WebSocket } from 'ws';
import { connect } from '../dist/client/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MESSAGES = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 3);

async function startServer() {
  // Retention must keep the whole replay (the default keeps 10,000 messages per topic).
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-measure-'));
  const config = join(dir, 'switchboard.json');
  writeFileSync(config, JSON.stringify({ retention: { maxCount: MESSAGES * 2, maxAgeMs: 3_600_000, rules: [] } }));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const args = ['serve', '--engine', 'memory', '--port', '0', '--log-level', 'warn', '--publish-rate', '0', '--config', config];
  const child = spawn(process.execPath, [join(root, 'dist/cli/main.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, url };
}

async function fill(url, topic) {
  const data = { id: 0, name: 'a typical small message', tags: ['x', 'y'], price: 12.5 };
  for (let sent = 0; sent < MESSAGES; sent += 1000) {
    const body = JSON.stringify(Array.from({ length: Math.min(1000, MESSAGES - sent) }, (_, i) => ({ data: { ...data, id: sent + i } })));
    const response = await fetch(`${url}/v1/topics/${topic}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!response.ok) throw new Error(`fill: ${response.status} ${await response.text()}`);
  }
}

/** Raw ws: one subscribe op, count parsed message frames. */
function rawWs(url, topic) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
    let count = 0;
    let started;
    ws.on('open', () => {
      started = performance.now();
      ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic, after: 0 }));
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.op === 'message' && ++count === MESSAGES) {
        const seconds = (performance.now() - started) / 1000;
        ws.close();
        resolve(MESSAGES / seconds);
      }
    });
  });
}

/** The SDK forced to one transport: subscribe from 0, count onMessage calls. */
async function sdk(url, topic, transport) {
  const client = connect(url, { transports: transport });
  await client.ready();
  const started = performance.now();
  return new Promise((resolve) => {
    let count = 0;
    client.subscribe(topic, {
      after: 0,
      onMessage: () => {
        if (++count === MESSAGES) {
          const seconds = (performance.now() - started) / 1000;
          client.close();
          resolve(MESSAGES / seconds);
        }
      },
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const { child, url } = await startServer();
try {
  const topic = `measure-${Date.now()}`;
  await fill(url, topic);
  const lanes = {
    'raw ws': () => rawWs(url, topic),
    'sdk websocket': () => sdk(url, topic, 'websocket'),
    'sdk sse': () => sdk(url, topic, 'sse'),
    'sdk longpoll': () => sdk(url, topic, 'longpoll'),
  };
  const results = Object.fromEntries(Object.keys(lanes).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(lanes)) results[name].push(await run());
  }
  const raw = median(results['raw ws']);
  console.log(`replay of ${MESSAGES} messages, median of ${ROUNDS} rounds (deliveries/s; Node ${process.version})`);
  for (const [name, values] of Object.entries(results)) {
    const value = median(values);
    console.log(`  ${name.padEnd(14)} ${Math.round(value).toLocaleString('en').padStart(10)}  ${((value / raw) * 100).toFixed(0).padStart(4)}% of raw ws`);
  }
  const bundle = readFileSync(join(root, 'dist/browser/client.js'));
  console.log(`browser bundle dist/browser/client.js: ${bundle.length} bytes minified, ${gzipSync(bundle, { level: 9 }).length} bytes min+gzip`);
} finally {
  child.kill('SIGTERM');
}

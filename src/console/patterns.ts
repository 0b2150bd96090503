/**
 * The patterns view: the same topic through WebSocket, SSE, long polling and short polling at
 * once, each a client forced to one transport, with each one's delivery latency plotted live
 * (uPlot) and summarised in a table. Publisher and subscribers share this page's clock, so
 * latency is `received - sentAt` with no clock skew.
 */
import uPlot from 'uplot';
import { byId, el, storedToken } from './dom.js';
import type { connect as Connect, SwitchboardClient, TransportName } from './sdk.js';

const TRANSPORTS: TransportName[] = ['websocket', 'sse', 'longpoll', 'poll'];
const LABELS: Record<TransportName, string> = {
  websocket: 'WebSocket',
  sse: 'Server-Sent Events',
  longpoll: 'Long polling',
  poll: 'Short polling (1 s)',
};
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626'];
const PUBLISH_EVERY_MS = 500;
const POINTS = 120;

interface Lane {
  client: SwitchboardClient;
  latencies: number[];
  row: HTMLTableRowElement;
  state: string;
}

export function startPatterns(connect: typeof Connect): void {
  const form = byId('patterns-form');
  const toggle = byId('patterns-toggle');
  let stop: (() => void) | undefined;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (stop !== undefined) {
      stop();
      stop = undefined;
      toggle.textContent = 'Start';
      return;
    }
    stop = run(connect, (byId('patterns-topic') as HTMLInputElement).value.trim());
    toggle.textContent = 'Stop';
  });
}

function run(connect: typeof Connect, topic: string): () => void {
  const token = storedToken();
  const started = Date.now();
  // One column per published message: x = seconds since start, then one latency per transport.
  const columns: Array<Array<number | null>> = [[], ...TRANSPORTS.map(() => [])];
  const columnOf = new Map<number, number>();
  const chart = createChart();
  // At most one redraw per frame however many deliveries arrive.
  let redrawPending = false;
  const scheduleRedraw = (): void => {
    if (redrawPending) return;
    redrawPending = true;
    requestAnimationFrame(() => {
      redrawPending = false;
      chart.setData(columns as uPlot.AlignedData);
    });
  };

  const publisher = connect(location.origin, { token });
  const lanes = TRANSPORTS.map((transport, index) => {
    const client = connect(location.origin, { token, transports: transport, pollIntervalMs: 1_000 });
    const lane: Lane = { client, latencies: [], row: el('tr'), state: 'connecting' };
    client.on('state', (event) => {
      lane.state = event.state;
      render(lane, transport);
    });
    client.subscribe<{ sentAt: number; seq: number }>(topic, {
      onMessage: (message) => {
        const latency = Date.now() - message.data.sentAt;
        lane.latencies.push(latency);
        if (lane.latencies.length > 1_000) lane.latencies.shift();
        const column = columnOf.get(message.data.seq);
        if (column !== undefined) columns[index + 1]![column] = latency;
        render(lane, transport);
        scheduleRedraw();
      },
    });
    return lane;
  });
  byId('pattern-stats')
    .querySelector('tbody')!
    .replaceChildren(...lanes.map((lane) => lane.row));
  for (const [i, lane] of lanes.entries()) render(lane, TRANSPORTS[i]!);

  let seq = 0;
  const timer = setInterval(() => {
    const sentAt = Date.now();
    seq++;
    columns[0]!.push((sentAt - started) / 1000);
    for (let i = 1; i < columns.length; i++) columns[i]!.push(null);
    columnOf.set(seq, columns[0]!.length - 1);
    if (columns[0]!.length > POINTS) {
      for (const column of columns) column.shift();
      for (const [key, value] of columnOf) {
        if (value === 0) columnOf.delete(key);
        else columnOf.set(key, value - 1);
      }
    }
    void publisher.publish(topic, { sentAt, seq }).catch(() => {});
  }, PUBLISH_EVERY_MS);

  return () => {
    clearInterval(timer);
    publisher.close();
    for (const lane of lanes) lane.client.close();
    chart.destroy();
  };
}

function render(lane: Lane, transport: TransportName): void {
  const sorted = [...lane.latencies].sort((a, b) => a - b);
  const at = (q: number): string =>
    sorted.length === 0 ? '–' : String(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  const last = lane.latencies.at(-1);
  lane.row.replaceChildren(
    el('th', LABELS[transport], { scope: 'row' }),
    el('td', lane.state),
    el('td', String(lane.latencies.length), { class: 'number' }),
    el('td', last === undefined ? '–' : String(last), { class: 'number' }),
    el('td', at(0.5), { class: 'number' }),
    el('td', at(0.95), { class: 'number' }),
  );
}

function createChart(): uPlot {
  const container = byId('chart');
  container.replaceChildren();
  const options: uPlot.Options = {
    width: Math.max(320, container.clientWidth),
    height: 300,
    scales: { x: { time: false } },
    axes: [{ label: 'seconds' }, { label: 'latency (ms)' }],
    series: [
      { label: 's' },
      ...TRANSPORTS.map((t, i) => ({ label: LABELS[t], stroke: COLORS[i], width: 2, spanGaps: true })),
    ],
  };
  const chart = new uPlot(options, [[], ...TRANSPORTS.map(() => [])] as uPlot.AlignedData, container);
  const resize = new ResizeObserver(() =>
    chart.setSize({ width: Math.max(320, container.clientWidth), height: 300 }),
  );
  resize.observe(container);
  const destroy = chart.destroy.bind(chart);
  chart.destroy = () => {
    resize.disconnect();
    destroy();
  };
  return chart;
}

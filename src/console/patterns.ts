/**
 * The patterns view: the same topic through WebSocket, SSE, long polling and short polling at
 * once, each a client forced to one transport, with each one's delivery latency plotted live
 * (uPlot) and summarised in a table. Publisher and subscribers share this page's clock, so
 * latency is `received - sentAt` with no clock skew.
 */
import uPlot from 'uplot';
import { byId, el, storedToken } from './dom.js';
import { mqttLane } from './mqtt-lane.js';
import type { connect as Connect, SwitchboardClient, TransportName } from './sdk.js';

/** The SDK's four transports, then the GraphQL door (a graphql-ws subscription, spoken here directly). */
type Lane = TransportName | 'graphql' | 'mqtt';
const TRANSPORTS: Lane[] = ['websocket', 'sse', 'longpoll', 'poll', 'graphql', 'mqtt'];
const LABELS: Record<Lane, string> = {
  websocket: 'WebSocket',
  sse: 'Server-Sent Events',
  longpoll: 'Long polling',
  poll: 'Short polling (1 s)',
  graphql: 'GraphQL (graphql-ws)',
  mqtt: 'MQTT (over WebSocket)',
};
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2'];
const PUBLISH_EVERY_MS = 500;
const POINTS = 120;

interface LaneState {
  close(): void;
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
    const lane: LaneState = { close: () => {}, latencies: [], row: el('tr'), state: 'connecting' };
    const onState = (state: string): void => {
      lane.state = state;
      render(lane, transport);
    };
    const onData = (data: Sample): void => {
      const latency = Date.now() - data.sentAt;
      lane.latencies.push(latency);
      if (lane.latencies.length > 1_000) lane.latencies.shift();
      const column = columnOf.get(data.seq);
      if (column !== undefined) columns[index + 1]![column] = latency;
      render(lane, transport);
      scheduleRedraw();
    };
    if (transport === 'graphql') {
      lane.close = graphqlLane(topic, token, onData, onState);
    } else if (transport === 'mqtt') {
      lane.close = mqttLane(topic, token, (data) => onData(data as Sample), onState);
    } else {
      const client: SwitchboardClient = connect(location.origin, {
        token,
        transports: transport,
        pollIntervalMs: 1_000,
      });
      client.on('state', (event) => onState(event.state));
      client.subscribe<Sample>(topic, { onMessage: (message) => onData(message.data) });
      lane.close = () => client.close();
    }
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
    for (const lane of lanes) lane.close();
    chart.destroy();
  };
}

interface Sample {
  sentAt: number;
  seq: number;
}

/**
 * A GraphQL subscription over the graphql-transport-ws protocol (the graphql-ws library's), spoken
 * with the browser's own WebSocket: connection_init (with the token), subscribe, then `next`
 * messages. Returns the function that closes it.
 */
function graphqlLane(
  topic: string,
  token: string | undefined,
  onData: (data: Sample) => void,
  onState: (state: string) => void,
): () => void {
  const query =
    'subscription ($topic: String!) { messages(topic: $topic) { ... on Message { offset data } } }';
  const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  socket.onopen = () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: token === undefined ? {} : { token } }));
  socket.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as {
      type: string;
      payload?: { data?: { messages?: { data?: Sample } } };
    };
    if (message.type === 'connection_ack') {
      onState('open');
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { topic } } }));
    } else if (message.type === 'next') {
      const data = message.payload?.data?.messages?.data;
      if (data !== undefined) onData(data);
    } else if (message.type === 'ping') {
      socket.send(JSON.stringify({ type: 'pong' }));
    } else if (message.type === 'error') {
      onState('refused');
    }
  };
  socket.onclose = (event) => onState(`closed (${event.code})`);
  return () => socket.close(1000);
}

function render(lane: LaneState, transport: Lane): void {
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

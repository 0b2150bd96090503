/**
 * The Patterns view's MQTT lane: MQTT 3.1.1 over WebSocket (`/mqtt`, subprotocol `mqtt`) spoken by
 * the page itself — CONNECT (the token as password), SUBSCRIBE at QoS 0, then PUBLISH packets —
 * so the console needs no MQTT library. Switchboard topic `a.b` is MQTT topic `a/b`.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function mqttString(text: string): number[] {
  const bytes = encoder.encode(text);
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

function packet(type: number, body: number[]): Uint8Array {
  const length: number[] = [];
  let rest = body.length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    length.push(byte);
  } while (rest > 0);
  return new Uint8Array([type, ...length, ...body]);
}

export function mqttLane(
  topic: string,
  token: string | undefined,
  onData: (data: unknown) => void,
  onState: (state: string) => void,
): () => void {
  const socket = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/mqtt`, 'mqtt');
  socket.binaryType = 'arraybuffer';
  let buffered = new Uint8Array(0);
  let ping: ReturnType<typeof setInterval> | undefined;

  socket.onopen = () => {
    const flags = 0x02 | (token === undefined ? 0 : 0xc0); // clean session (+ username and password)
    const clientId = `console-${Math.random().toString(36).slice(2, 10)}`;
    const credentials = token === undefined ? [] : [...mqttString('console'), ...mqttString(token)];
    socket.send(
      packet(0x10, [...mqttString('MQTT'), 4, flags, 0, 60, ...mqttString(clientId), ...credentials]),
    );
    ping = setInterval(() => socket.send(new Uint8Array([0xc0, 0])), 30_000);
  };

  const handle = (type: number, body: Uint8Array): void => {
    if (type >> 4 === 2) {
      // CONNACK: return code 0 is accepted.
      if (body[1] !== 0) {
        onState(`refused (${body[1]})`);
        return;
      }
      onState('open');
      socket.send(packet(0x82, [0, 1, ...mqttString(topic.replaceAll('.', '/')), 0]));
    } else if (type >> 4 === 3) {
      const nameLength = (body[0]! << 8) | body[1]!;
      const qos = (type >> 1) & 3;
      const payload = body.subarray(2 + nameLength + (qos > 0 ? 2 : 0));
      const text = decoder.decode(payload);
      try {
        onData(JSON.parse(text));
      } catch {
        onData(text);
      }
    }
  };

  socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
    const chunk = new Uint8Array(event.data);
    const joined = new Uint8Array(buffered.length + chunk.length);
    joined.set(buffered);
    joined.set(chunk, buffered.length);
    buffered = joined;
    // Whole packets only: fixed header byte, variable-length remaining length, body.
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let at = 1;
      for (; at < buffered.length && at <= 4; at++) {
        length += (buffered[at]! & 0x7f) * multiplier;
        multiplier *= 128;
        if ((buffered[at]! & 0x80) === 0) break;
      }
      if (at >= buffered.length || buffered.length < at + 1 + length) return;
      handle(buffered[0]!, buffered.subarray(at + 1, at + 1 + length));
      buffered = buffered.subarray(at + 1 + length);
    }
  };
  socket.onclose = (event) => {
    clearInterval(ping);
    onState(`closed (${event.code})`);
  };
  return () => {
    clearInterval(ping);
    if (socket.readyState === WebSocket.OPEN) socket.send(new Uint8Array([0xe0, 0])); // DISCONNECT
    socket.close(1000);
  };
}

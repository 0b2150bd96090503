/**
 * Switchboard Web Push example: the service worker. Each push carries one message of the topic as
 * JSON ({"topic","offset","time","event"?,"data"}), or, for a message over 3,800 bytes, a stub
 * {"topic","offset","truncated":true} — then the message is read from the topic first. Every
 * message becomes a notification; clicking it opens the page. Docs: docs/push.md.
 *
 * Registered as `sw.js?server=<Switchboard URL>` (default: this origin).
 */
const SERVER = new URL(self.location.href).searchParams.get('server') ?? self.location.origin;

/** Reads a message the push only named (the hub keeps the whole of it in the topic's log). */
async function readMessage(topic, offset) {
  const url = `${SERVER}/v1/topics/${encodeURIComponent(topic)}/messages?after=${offset - 1}&limit=1`;
  const response = await fetch(url);
  if (!response.ok) return undefined; // token mode needs a token here; see docs/push.md
  const page = await response.json();
  return page.messages.find((message) => message.offset === offset);
}

function describe(data) {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

self.addEventListener('push', (event) => {
  event.waitUntil(
    (async () => {
      let message = event.data?.json();
      if (!message?.topic) return;
      if (message.truncated) message = (await readMessage(message.topic, message.offset)) ?? message;
      await self.registration.showNotification(`${message.topic} #${message.offset}`, {
        body: message.truncated ? 'A new message (open to read it)' : describe(message.data),
        tag: `${message.topic}#${message.offset}`,
        data: { topic: message.topic, offset: message.offset },
      });
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(new URL('./', self.location.href).href));
});

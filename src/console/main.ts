/**
 * The web console (`GET /`): topics (live tail, history, publish), consumer groups and dead letters,
 * jobs, webhooks, a request-reply tester and the patterns view. It uses the same SDK bundle users
 * load from `/client.js`; every other call is the public HTTP API with the token from the Token box.
 */

import { byId, setUpTabs, storedToken, TOKEN_KEY } from './dom.js';
import { startPatterns } from './patterns.js';
import { connect } from './sdk.js';
import { startGroups } from './views/groups.js';
import { startJobs } from './views/jobs.js';
import { startRequests } from './views/requests.js';
import { createTopicView } from './views/topic.js';
import { startTopics } from './views/topics.js';
import { startWebhooks } from './views/webhooks.js';

const REFRESH_MS = 2_000;

const client = connect(location.origin, { token: storedToken() });
const status = byId('connection');
client.on('state', (event) => {
  status.dataset.state = event.state;
  const via = event.transport === undefined ? '' : ` (${event.transport})`;
  const retry = event.delayMs === undefined ? '' : `, next try in ${(event.delayMs / 1000).toFixed(1)} s`;
  status.textContent = `${event.state}${via}${retry}`;
});

byId('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, (byId('token') as HTMLInputElement).value.trim());
  location.reload(); // every client picks the token up at connect time
});

const topicView = createTopicView(client);
const refreshers: Record<string, () => Promise<void>> = {
  'tab-topics': startTopics(topicView.open),
  'tab-groups': startGroups(),
  'tab-jobs': startJobs(),
  'tab-webhooks': startWebhooks(),
};
startRequests();
startPatterns(connect);

// Only the visible view polls the server.
let visible = 'tab-topics';
const tabs = Array.from(document.querySelectorAll<HTMLElement>('[role="tab"]'));
setUpTabs(tabs, (tab) => {
  visible = tab.id;
  void refreshers[visible]?.().catch(() => {});
});
void refreshers[visible]?.();
setInterval(() => void refreshers[visible]?.().catch(() => {}), REFRESH_MS);

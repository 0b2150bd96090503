/**
 * What a browser sees at `GET /graphql`: a plain page saying how to query (no GraphiQL bundle: the
 * server has no CDN to load it from, and a page that works offline says more than a blank IDE).
 * Static text with no user input in it, so nothing to escape.
 */
export function graphqlPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard GraphQL</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
pre{background:#f3f3f3;padding:.75rem;overflow-x:auto;border-radius:4px}
code{font-family:ui-monospace,monospace}
</style>
</head>
<body>
<main>
<h1>Switchboard GraphQL endpoint</h1>
<p>This address answers GraphQL. Send queries and mutations here with <code>POST</code> (a JSON body
<code>{"query", "variables", "operationName"}</code>) or <code>GET ?query=…</code> (queries only).</p>
<h2>Try it</h2>
<pre><code>curl -s http://HOST/graphql -H 'content-type: application/json' \\
  -d '{"query":"mutation { publish(topic: \\"orders\\", data: {id: 1}) { offset } }"}'

curl -s http://HOST/graphql -H 'content-type: application/json' \\
  -d '{"query":"{ messages(topic: \\"orders\\", after: 0) { messages { offset data } next } }"}'</code></pre>
<h2>Subscriptions</h2>
<ul>
<li>WebSocket on this same path with the <code>graphql-transport-ws</code> subprotocol (the <code>graphql-ws</code> client; Apollo Client's <code>GraphQLWsLink</code>, urql's <code>subscriptionExchange</code>).</li>
<li>Server-Sent Events at <code>/graphql/stream</code> (the <code>graphql-sse</code> client, distinct connections mode).</li>
</ul>
<pre><code>subscription { messages(topic: "orders", after: 0) {
  ... on Message { offset event data }
  ... on Gap { after next }
  ... on Reset { epoch last } } }</code></pre>
<h2>Schema</h2>
<p>The SDL is at <a href="/graphql/schema.graphql">/graphql/schema.graphql</a>; introspection works too.
In token mode send <code>Authorization: Bearer &lt;jwt&gt;</code> (WebSocket: <code>connectionParams.token</code>).
See docs/graphql.md in the package.</p>
</main>
</body>
</html>
`;
}

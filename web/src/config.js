// Where the API and the push live, and how people sign in. Locally nothing is configured: same origin, token
// sign-in. On AWS `config.json` beside the app (written by scripts/deploy-web.sh from the stack's outputs)
// names the HTTP API, the WebSocket API and the Cognito hosted UI; `websocket_ping_seconds` sets the push's
// keepalive (API Gateway drops a WebSocket idle for 10 minutes).

export const config = { api_base: "", websocket_url: null, cognito: null, websocket_ping_seconds: 240 };

export async function loadConfig() {
  try {
    const r = await fetch("/config.json", { cache: "no-store" });
    if (r.ok) Object.assign(config, await r.json());
  } catch {
    /* no config: the local defaults */
  }
  config.api_base = (config.api_base ?? "").replace(/\/$/, "");
}

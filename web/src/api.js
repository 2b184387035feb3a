// The API client: the supervisor credential (a local token or a Cognito JWT), JSON calls with clear errors,
// downloads, and the WebSocket push with one-time tickets (no long-lived token in a URL) and reconnects.
import { config } from "./config.js";

const KEY = "call-analytics-token";

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t.trim());
  else sessionStorage.removeItem(KEY);
}

/** Takes `#token=...` from the URL (wall screens), then removes it from the address bar and history. */
export function adoptHashToken() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

/** Whether the API accepts `candidate` (the sign-in check; a refusal does not sign anyone out). */
export async function accepts(candidate) {
  const r = await fetch(`${config.api_base}/api/realtime/calls?limit=1`, { headers: { Authorization: `Bearer ${candidate.trim()}` } });
  return r.status;
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

/** How to get a fresh credential when the API refuses this one (Cognito's refresh); resolves to success. */
let renew = async () => false;
export function whenExpired(f) {
  renew = f;
}

async function request(path, opts = {}) {
  const send = () => fetch(`${config.api_base}${path}`, { ...opts, headers: { ...(opts.headers ?? {}), Authorization: `Bearer ${token() ?? ""}` } });
  let resp = await send();
  if (resp.status === 401 && (await renew().catch(() => false))) resp = await send();
  if (resp.status === 401) {
    onUnauthorized();
    throw new ApiError(401, "Sign in again");
  }
  if (!resp.ok) {
    let detail = resp.statusText;
    try {
      detail = (await resp.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, detail);
  }
  return resp;
}

export const api = {
  get: async (path) => (await request(path)).json(),
  post: async (path, body) =>
    (
      await request(path, {
        method: "POST",
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    ).json(),
  form: async (path, form) => (await request(path, { method: "POST", body: form })).json(),
  blob: async (path, opts) => (await request(path, opts)).blob(),
  /**
   * A stored file: a call's audio, or its whole transcript. On AWS the API answers with a short-lived
   * storage link (a Lambda response carries at most 6 MB); it is asked for as JSON (`link=1`) and fetched
   * here without credentials, because a redirect followed by the browser would reach storage with
   * `Origin: null`, which its CORS (the UI's origin only) refuses. Locally the API sends the bytes
   * themselves. A link answer is told from the file by `expires_in`: a transcript is JSON too.
   */
  stored: async (path) => {
    const resp = await request(`${path}${path.includes("?") ? "&" : "?"}link=1`);
    if (!(resp.headers.get("content-type") ?? "").startsWith("application/json")) return resp.blob();
    const body = await resp.blob();
    if (body.size > 4096) return body; // a file, not a link
    const link = await body.text().then((t) => JSON.parse(t)).catch(() => null);
    if (!link?.url || link.expires_in === undefined) return body;
    const stored = await fetch(link.url);
    if (!stored.ok) throw new ApiError(stored.status, "The file could not be fetched from storage");
    return stored.blob();
  },
  /**
   * Uploads `file` straight to storage when the API offers it (`POST /api/calls/upload-url`, on AWS, where
   * a request through the API carries at most 6 MB), calling `onProgress` with the fraction sent. Resolves
   * to the call, or to null where the API answers 501 (storage takes no direct uploads: locally), and the
   * caller then posts the form to `POST /api/calls`.
   */
  uploadDirect: async (file, fields, onProgress) => {
    let call;
    try {
      call = await api.post("/api/calls/upload-url", { filename: file.name, fields });
    } catch (e) {
      if (e.status === 501) return null;
      throw e;
    }
    await putFile(call.upload.url, file, onProgress);
    return call;
  },
  /** Fetches a file and hands it to the browser as a download named by the server. */
  download: async (path, opts) => {
    const resp = await request(path, opts);
    const name = /filename="?([^";]+)"?/.exec(resp.headers.get("content-disposition") ?? "")?.[1] ?? "export";
    const url = URL.createObjectURL(await resp.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  },
};

/** `PUT`s `file` to a presigned storage URL with its type, reporting progress (fetch cannot). */
function putFile(url, file, onProgress) {
  return new Promise((resolve, reject) => {
    const put = new XMLHttpRequest();
    put.open("PUT", url);
    put.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    put.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    put.onload = () => (put.status >= 200 && put.status < 300 ? resolve() : reject(new ApiError(put.status, `Storage refused the upload (${put.status})`)));
    put.onerror = () => reject(new ApiError(0, "The upload to storage failed"));
    put.send(file);
  });
}

/**
 * The push: subscribes to every call, hands each message to `onMessage`, reconnects with backoff. It pings
 * every `config.websocket_ping_seconds` (240): API Gateway closes a WebSocket idle for 10 minutes, and a quiet
 * night on the board would otherwise end in a silent disconnect. A socket that has said nothing for two
 * intervals (not even the pong) is taken as dead and replaced, since a lost connection may never report close.
 */
export function connectPush(onMessage, onState) {
  let closed = false;
  let delay = 1000;
  let socket;
  let heard = 0;
  const interval = Math.max(1, Number(config.websocket_ping_seconds) || 240) * 1000;
  const pinger = setInterval(() => {
    if (socket?.readyState !== WebSocket.OPEN) return;
    if (Date.now() - heard > 2 * interval) {
      socket.onclose = null;
      socket.close();
      retry();
      return;
    }
    socket.send(JSON.stringify({ action: "ping" }));
  }, interval);
  async function open() {
    try {
      const { ticket } = await api.post("/api/realtime/ws-ticket");
      const url = config.websocket_url ?? `${location.origin.replace(/^http/, "ws")}/ws`;
      socket = new WebSocket(`${url}?ticket=${encodeURIComponent(ticket)}`);
    } catch {
      return retry();
    }
    socket.onopen = () => {
      delay = 1000;
      heard = Date.now();
      socket.send(JSON.stringify({ action: "subscribe" }));
      onState("live");
    };
    socket.onmessage = (e) => {
      heard = Date.now();
      try {
        onMessage(JSON.parse(e.data));
      } catch {
        /* ignore non-JSON */
      }
    };
    socket.onclose = () => retry();
  }
  function retry() {
    if (closed) return;
    onState("reconnecting");
    setTimeout(open, delay);
    delay = Math.min(delay * 2, 30_000);
  }
  open();
  return () => {
    closed = true;
    clearInterval(pinger);
    socket?.close();
  };
}

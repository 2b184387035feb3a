// The app shell: sign-in, one push connection shared by the views, and a small history router
// (`/` live board, `/calls` dashboard, `/calls/{id}` call detail).
import { adoptHashToken, connectPush, setToken, token, whenExpired, whenUnauthorized } from "./api.js";
import { endSession, finishSignIn, renewSession, resumeSession } from "./cognito.js";
import { loadConfig } from "./config.js";
import { clear } from "./dom.js";
import { renderSignIn } from "./views/signin.js";
import { renderLive } from "./views/live.js";
import { renderDashboard } from "./views/dashboard.js";
import { renderDetail } from "./views/detail.js";

/** Push messages for whichever view is showing (`call_update`, `realtime_event`, `supervisor_alert`, ...). */
export const push = new EventTarget();

/** Calls `handler` with each push message until the returned function is called (a view's cleanup). */
export function subscribe(handler) {
  const listener = (e) => handler(e.detail);
  push.addEventListener("message", listener);
  return () => push.removeEventListener("message", listener);
}
let disconnect = null;
let leaveView = () => {};

function showConnection(state) {
  const el = document.getElementById("connection");
  el.textContent = state === "live" ? "● Live" : "○ Reconnecting…";
  el.dataset.state = state;
}

function startPush() {
  disconnect ??= connectPush((m) => push.dispatchEvent(new CustomEvent("message", { detail: m })), showConnection);
}

let signInProblem = "";

function route() {
  leaveView();
  leaveView = () => {};
  const main = clear(document.getElementById("main"));
  const signedIn = Boolean(token());
  document.getElementById("sign-out").hidden = !signedIn;
  for (const a of document.querySelectorAll("[data-nav]")) {
    const here = a.getAttribute("href") === location.pathname ||
      (a.getAttribute("href") === "/calls" && location.pathname.startsWith("/calls"));
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!signedIn) {
    renderSignIn(main, () => route(), signInProblem);
    return;
  }
  startPush();
  const path = location.pathname;
  const detail = path.match(/^\/calls\/([^/]+)$/);
  if (path === "/calls") leaveView = renderDashboard(main) ?? leaveView;
  else if (detail) leaveView = renderDetail(main, decodeURIComponent(detail[1])) ?? leaveView;
  else leaveView = renderLive(main) ?? leaveView;
  main.focus({ preventScroll: true });
}

/** Client-side navigation for in-app links. */
export function navigate(href) {
  history.pushState(null, "", href);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest("a[href^='/']");
  if (!a || a.target || a.hasAttribute("download") || e.metaKey || e.ctrlKey || e.shiftKey) return;
  e.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
document.getElementById("sign-out").addEventListener("click", () => {
  endSession();
  setToken(null);
  disconnect?.();
  disconnect = null;
  route();
});
whenUnauthorized(() => {
  endSession();
  setToken(null);
  route();
});
whenExpired(renewSession);

await loadConfig();
adoptHashToken();
try {
  const fromCognito = await finishSignIn();
  if (fromCognito) setToken(fromCognito);
} catch (e) {
  signInProblem = e.message;
}
resumeSession();
route();

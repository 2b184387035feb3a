// Sign-in through the Cognito hosted UI with the authorization-code flow and PKCE (no client secret in the
// browser): redirect there, come back with a code, exchange it for an access token, which the API's JWT
// authorizer accepts. Access tokens last an hour, and a wall board stays open for days: the session is kept
// alive with the refresh token, before the access token expires and again whenever the API refuses it, so
// nobody is signed out while Cognito still honours the refresh token (12 hours in the stack, a shift).
import { setToken } from "./api.js";
import { config } from "./config.js";

const VERIFIER = "call-analytics-pkce";
/** The refresh token and when the access token expires (epoch ms), for this tab only, like the access token. */
const SESSION = "call-analytics-cognito";
/** A refresh that failed for want of a network is tried again this soon. */
const RETRY_MS = 30_000;

let timer = null;
let inFlight = null;

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function redirectUri() {
  return `${location.origin}/`;
}

export async function startSignIn() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem(VERIFIER, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({
    response_type: "code", client_id: config.cognito.client_id, redirect_uri: redirectUri(), scope: "openid email",
    code_challenge: challenge, code_challenge_method: "S256", state,
  });
  location.assign(`${config.cognito.domain}/oauth2/authorize?${q}`);
}

/** Finishes a sign-in when the address carries Cognito's answer; returns the access token, or null. */
export async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (!code || !config.cognito) return null;
  const saved = JSON.parse(sessionStorage.getItem(VERIFIER) ?? "{}");
  sessionStorage.removeItem(VERIFIER);
  history.replaceState(null, "", "/");
  if (!saved.verifier || saved.state !== params.get("state")) throw new Error("The sign-in answer did not match this tab; try again.");
  const r = await fetch(`${config.cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", client_id: config.cognito.client_id, code, redirect_uri: redirectUri(), code_verifier: saved.verifier }),
  });
  if (!r.ok) throw new Error(`Sign-in failed (HTTP ${r.status}).`);
  const answer = await r.json();
  keep(answer.refresh_token, answer.expires_in);
  return answer.access_token;
}

/** Remembers the session and schedules its renewal at 80% of the access token's lifetime. */
function keep(refreshToken, expiresIn) {
  const seconds = Number(expiresIn) > 0 ? Number(expiresIn) : 3600;
  const saved = JSON.parse(sessionStorage.getItem(SESSION) ?? "{}");
  const refresh = refreshToken ?? saved.refresh;
  if (!refresh) return;
  sessionStorage.setItem(SESSION, JSON.stringify({ refresh, expires_at: Date.now() + seconds * 1000 }));
  schedule(seconds * 800);
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => renewSession().catch(() => schedule(RETRY_MS)), Math.max(ms, 1000));
}

/** After a reload: renews on the saved session's schedule (at once when it is past due). */
export function resumeSession() {
  const saved = JSON.parse(sessionStorage.getItem(SESSION) ?? "{}");
  if (saved.refresh && config.cognito) schedule((saved.expires_at - Date.now()) * 0.8);
}

/**
 * Trades the refresh token for a new access token; resolves to whether it got one. Calls made at the same
 * time share one request. A refusal (revoked or expired refresh token) ends the session; a network failure
 * rejects, so the caller can try again later.
 */
export function renewSession() {
  inFlight ??= (async () => {
    const saved = JSON.parse(sessionStorage.getItem(SESSION) ?? "{}");
    if (!saved.refresh || !config.cognito) return false;
    const r = await fetch(`${config.cognito.domain}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: config.cognito.client_id, refresh_token: saved.refresh }),
    });
    if (!r.ok) {
      endSession();
      return false;
    }
    const answer = await r.json();
    setToken(answer.access_token);
    keep(answer.refresh_token, answer.expires_in);
    return true;
  })().finally(() => {
    inFlight = null;
  });
  return inFlight;
}

/** Forgets the session (sign-out, or a refresh token Cognito no longer honours). */
export function endSession() {
  clearTimeout(timer);
  sessionStorage.removeItem(SESSION);
}

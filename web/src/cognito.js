// Sign-in through the Cognito hosted UI with the authorization-code flow and PKCE (no client secret in the
// browser): redirect there, come back with a code, exchange it for an access token, which the API's JWT
// authorizer accepts.
import { config } from "./config.js";

const VERIFIER = "call-analytics-pkce";

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
  return (await r.json()).access_token;
}

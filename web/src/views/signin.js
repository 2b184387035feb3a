// Sign-in with the supervisor credential: the local SUPERVISOR_TOKEN (printed by `call-analytics serve`)
// or, on AWS, a Cognito access token. It is kept for this browser tab only.
import { accepts, setToken } from "../api.js";
import { startSignIn } from "../cognito.js";
import { config } from "../config.js";
import { h } from "../dom.js";

export function renderSignIn(main, done, problem = "") {
  if (config.cognito) {
    main.append(h("div.card.signin", {}, h("h1", {}, "Sign in"), problem ? h("p.error", { role: "alert" }, problem) : null,
      h("button.primary", { type: "button", onclick: () => startSignIn() }, "Sign in with your account")));
    return;
  }
  const input = h("input", { id: "token", type: "password", autocomplete: "current-password", required: true });
  const error = h("p.error", { role: "alert" });
  const form = h(
    "form.card.signin",
    {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const status = await accepts(input.value);
          if (status === 200) {
            setToken(input.value);
            done();
          } else {
            error.textContent = status === 401 ? "That token was not accepted." : `Could not sign in (HTTP ${status}).`;
          }
        } catch (err) {
          error.textContent = `Could not reach the server: ${err.message}`;
        }
      },
    },
    h("h1", {}, "Sign in"),
    h("label", { for: "token" }, "Supervisor token"),
    input,
    h("p.hint", {}, "Locally, `call-analytics serve` prints it (also in DATA_DIR/credentials.json)."),
    error,
    h("button.primary", { type: "submit" }, "Sign in"),
  );
  main.append(form);
  input.focus();
}

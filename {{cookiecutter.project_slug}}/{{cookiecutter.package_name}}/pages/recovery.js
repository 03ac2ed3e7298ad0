// The pages the recovery mails link to. The token is in the fragment (#token=...), which the
// browser never sends to a server; it is posted back only when the user submits the form, so a
// mail filter that fetches links cannot spend it.
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
history.replaceState(null, "", location.pathname); // the token leaves the address bar and history
const result = document.getElementById("result");

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.ok) return null;
  const answer = await response.json().catch(() => ({}));
  const detail = Array.isArray(answer.detail) ? answer.detail.map((p) => p.msg).join("; ") : answer.detail;
  return detail || `Error ${response.status}`;
}

function handle(formId, path, bodyOf, done) {
  const form = document.getElementById(formId);
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = await post(path, bodyOf());
    result.textContent = problem || done;
    if (!problem) form.hidden = true;
  });
}

handle("reset", "/auth/password-reset/confirm", () => ({ token, new_password: document.getElementById("password").value }),
  "Your password is set. Log in with it.");
handle("verify", "/auth/verify-email/confirm", () => ({ token }), "Your e-mail address is confirmed.");

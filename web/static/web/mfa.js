// Second factors on the sign-in page (docs/mfa.md#on-the-page): the second step of a sign-in (mfa_required),
// the prompt of a step-up (reauthentication_required) that retries the action once, and, signed in, TOTP's
// enrolment, removal and recovery codes. app.js installs it and hands it every problem first (answerProblem).

import { stopPasskeyAutofill } from "./passkeys.js";

const $ = (id) => document.getElementById(id);

// app.js's: the client, its step runner and views, and the page's words (web/strings.py).
let client;
let run;
let show;
let refocus;
let onSignedIn;
let showProviders;
let showNotice;
let t;

// What the open prompt proves: {mfaToken} for a sign-in's second step, {retry} for a step-up.
let prompt = null;
// The control focused when the prompt opened (what started the action): the focus goes back to it.
let opener = null;
const METHODS = ["password", "totp", "recovery_code", "webauthn"];
// The retry after a step-up is tried once: a second reauthentication_required is shown as a problem.
const RETRIED = new WeakSet();

export function installMfa(app) {
  ({ client, run, show, refocus, onSignedIn, showProviders, showNotice, t } = app);
  for (const method of METHODS.slice(0, 3)) {
    $(`factor-${method}-form`).addEventListener("submit", (event) => {
      event.preventDefault();
      const value = new FormData(event.target).get("secret");
      event.target.reset();
      run(() => prove(method === "password" ? { method, password: value } : { method, code: value }));
    });
  }
  $("factor-webauthn-button").addEventListener("click", () => run(proveWithKey));
  $("factor-cancel").addEventListener("click", () => run(cancel));
  $("totp-start").addEventListener("click", () => run(startTotp));
  $("totp-confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => confirmTotp(event.target));
  });
  $("totp-remove").addEventListener("click", () => run(removeTotp));
  $("recovery-codes-new").addEventListener("click", () => run(newRecoveryCodes));
  $("copy-recovery-codes").addEventListener("click", () => run(copyRecoveryCodes));
}

// True when the problem was a question this module answers with a prompt instead of an error.
export function answerProblem(problem, step) {
  const methods = problem.extra?.methods ?? [];
  if (problem.code === "mfa_required") {
    open({ mfaToken: problem.extra.mfa_token }, methods, "factor_sign_in");
    return true;
  }
  if (problem.code === "mfa_enrollment_required") {
    open({ mfaToken: problem.extra.mfa_token, enrol: true }, ["totp"], "factor_enrol");
    run(showEnrolment, { keepMessages: true });
    return true;
  }
  if (problem.code === "reauthentication_required" && client.signedIn && methods.length && !RETRIED.has(step)) {
    open({ retry: step }, methods, "factor_reauthenticate");
    return true;
  }
  return false;
}

export function promptShown() {
  return !$("factor-prompt").hidden;
}

function open(what, methods, intro) {
  stopPasskeyAutofill();
  prompt = what;
  for (const method of METHODS) $(`factor-${method}-form`).hidden = !methods.includes(method);
  $("factor-enrol").hidden = !what.enrol;
  $("factor-intro").textContent = t(intro);
  if (!promptShown()) opener = document.activeElement;
  show("factor-prompt");
  // The heading, then the intro and the fields: the prompt is heard from its start.
  $("factor-heading").focus();
}

// AUTH_MFA_REQUIRED held the sign-in back until TOTP is set up (docs/mfa.md#requiring-a-second-factor): the
// prompt shows the key, and its code field confirms it.
async function showEnrolment() {
  const { secret, qr_svg } = await client.call("POST", "/auth/mfa/totp", {
    body: { mfa_token: prompt.mfaToken },
    bearer: false,
  });
  $("factor-qr").src = qr_svg;
  $("factor-secret").textContent = secret;
}

async function prove(proof) {
  if (prompt.mfaToken) {
    const { mfaToken, enrol } = prompt;
    let answer;
    try {
      answer = enrol
        ? await client.signInWith("/auth/mfa/totp/confirm", { mfa_token: mfaToken, code: proof.code })
        : await client.signInWith("/auth/mfa/verify", { mfa_token: mfaToken, ...proof });
    } catch (problem) {
      // Expired, used up or failed too often: the sign-in starts again (app.js shows the sign-in view).
      if (problem.code === "mfa_token_invalid") $("factor-prompt").hidden = true;
      throw problem;
    }
    prompt = null;
    await onSignedIn();
    if (enrol) showRecoveryCodes(answer.recovery_codes);
    return;
  }
  await client.reauthenticate(proof);
  const { retry } = prompt;
  prompt = null;
  show("signed-in");
  const again = () => retry();
  RETRIED.add(again);
  await run(again);
  refocus(opener);
}

// A security key or passkey: the options come from the sign-in's mfa_token, or from the session (step-up).
async function proveWithKey() {
  const { challenge_id, options } = prompt.mfaToken
    ? await client.call("POST", "/auth/mfa/webauthn/options", { body: { mfa_token: prompt.mfaToken }, bearer: false })
    : await client.call("POST", "/auth/reauthenticate/webauthn/options");
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  await prove({ method: "webauthn", challenge_id, credential: credential.toJSON() });
}

async function cancel() {
  const signingIn = Boolean(prompt?.mfaToken);
  prompt = null;
  $("factor-prompt").hidden = true;
  if (signingIn) client.forget();
  if (client.signedIn) show("signed-in");
  else await showProviders();
  refocus(opener);
}

// --- signed in: TOTP and recovery codes -----------------------------------------------------

// On the signed-in view (app.js's showSignedIn): GET /api/users/me/mfa.
export async function showMfa() {
  const { totp, webauthn, recovery_codes_left } = await client.call("GET", "/users/me/mfa");
  const factor = totp || webauthn.length > 0;
  $("mfa-state").textContent = t(totp ? "totp_on" : "totp_off");
  $("recovery-codes-left").textContent = t("recovery_codes_left", { count: recovery_codes_left });
  $("recovery-codes-left").hidden = !factor;
  $("totp-start").hidden = totp;
  $("totp-remove").hidden = !totp;
  $("recovery-codes-new").hidden = !factor;
  $("totp-setup").hidden = true;
  $("recovery-codes").hidden = true;
}

async function startTotp() {
  const { secret, qr_svg } = await client.call("POST", "/users/me/mfa/totp");
  $("totp-qr").src = qr_svg;
  $("totp-secret").textContent = secret;
  $("totp-setup").hidden = false;
  $("totp-start").hidden = true;
  $("totp-confirm-form").elements.code.focus();
}

async function confirmTotp(form) {
  const { recovery_codes } = await client.call("POST", "/users/me/mfa/totp/confirm", {
    body: { code: new FormData(form).get("code") },
  });
  form.reset();
  await showMfa();
  showRecoveryCodes(recovery_codes);
  showNotice(t("totp_enabled"));
}

async function removeTotp() {
  await client.call("DELETE", "/users/me/mfa/totp");
  await showMfa();
  showNotice(t("totp_removed"));
}

async function newRecoveryCodes() {
  const { recovery_codes } = await client.call("POST", "/users/me/mfa/recovery-codes");
  await showMfa();
  showRecoveryCodes(recovery_codes);
  showNotice(t("recovery_codes_created"));
}

// Shown this once: the server keeps only their hashes.
function showRecoveryCodes(codes) {
  const items = codes.map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  });
  $("recovery-code-list").replaceChildren(...items);
  $("recovery-codes").hidden = false;
}

async function copyRecoveryCodes() {
  const codes = [...$("recovery-code-list").children].map((item) => item.textContent);
  await navigator.clipboard.writeText(codes.join("\n"));
  $("copy-recovery-codes").textContent = t("copied");
  setTimeout(() => ($("copy-recovery-codes").textContent = t("copy_recovery_codes")), 1500);
}

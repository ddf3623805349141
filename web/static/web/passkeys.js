// Passkeys on the sign-in page (docs/passkeys.md): register one, list and remove them, and sign in with one,
// by a button or from the email field's autofill (conditional mediation). app.js installs it; the calls go
// through client.js like every other. WebAuthn's JSON forms (parse*OptionsFromJSON, toJSON) do the encoding.

const $ = (id) => document.getElementById(id);

// app.js's: the client, its step runner, and the page's words (web/strings.py) and row buttons.
let client;
let run;
let onSignedIn;
let showNotice;
let t;
let rowButton;
let dateTime;
// One navigator.credentials.get() at a time: the button aborts the autofill's pending one.
let autofill = null;

// The RP ID the server runs with (empty: WebAuthn is off); a page on another host cannot use its passkeys.
function availability() {
  const rpId = document.documentElement.dataset.webauthnRpId ?? "";
  if (!rpId) return { usable: false, hint: "" };
  if (!window.PublicKeyCredential?.parseRequestOptionsFromJSON) return { usable: false, hint: t("passkey_unsupported") };
  const host = location.hostname;
  if (host !== rpId && !host.endsWith(`.${rpId}`)) return { usable: false, hint: t("passkey_wrong_host", { host: rpId }) };
  return { usable: true, hint: "" };
}

export function installPasskeys(app) {
  ({ client, run, onSignedIn, showNotice, t, rowButton, dateTime } = app);
  const { usable, hint } = availability();
  for (const id of ["passkey-sign-in", "passkeys-panel"]) $(id).hidden = !usable && !hint;
  for (const id of ["passkey-sign-in-button", "register-passkey"]) $(id).hidden = !usable;
  for (const id of ["passkey-hint", "passkeys-hint"]) {
    $(id).textContent = hint;
    $(id).hidden = !hint;
  }
  if (!usable) return;
  $("passkey-sign-in-button").addEventListener("click", () => run(() => signInWithPasskey()));
  $("register-passkey").addEventListener("click", () => run(registerPasskey));
}

// One assertion sent at a time, too: two from one authenticator racing to the server would arrive with their
// signature counters in either order, and the older one would be refused as a regression.
let signingIn = null;

async function assert(mediation) {
  if (signingIn) return signingIn; // the autofill's passkey is already signing in: that is the sign-in
  autofill?.abort();
  const controller = new AbortController();
  if (mediation === "conditional") autofill = controller;
  const { challenge_id, options } = await client.call("POST", "/auth/webauthn/options", { bearer: false });
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    mediation,
    signal: controller.signal,
  });
  // Aborted after the authenticator answered (the button was pressed meanwhile): the button's is sent instead.
  if (controller.signal.aborted) throw new DOMException("superseded", "AbortError");
  signingIn = (async () => {
    try {
      await client.signInWith("/auth/webauthn", { challenge_id, credential: credential.toJSON() });
      await onSignedIn();
    } finally {
      signingIn = null;
    }
  })();
  return signingIn;
}

async function signInWithPasskey() {
  await assert("optional");
}

// While the signed-out view shows: the browser offers the passkeys of this site in the email field's
// autofill (autocomplete="username webauthn"); picking one signs in. Never an error on the page: the
// person may simply type a password instead.
export async function startPasskeyAutofill() {
  if (!availability().usable || !(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
  try {
    await assert("conditional");
  } catch (error) {
    if (error?.name !== "AbortError") run(() => Promise.reject(error));
  }
}

async function registerPasskey() {
  stopPasskeyAutofill();
  const { challenge_id, options } = await client.call("POST", "/users/me/webauthn/register/options", {
    body: { passkey: true },
  });
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  await client.call("POST", "/users/me/webauthn/register", {
    body: { challenge_id, credential: credential.toJSON(), name: t("passkey_default_name", { date: new Date().toLocaleDateString(document.documentElement.lang) }) },
  });
  await showPasskeys();
  showNotice(t("passkey_registered"));
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

// Whatever signed in, or began to (a second step is asked: mfa.js), the autofill's request is over: left
// pending, the authenticator could answer it beside the second step's own request and sign in a second session.
export function stopPasskeyAutofill() {
  autofill?.abort();
}

// On the signed-in view (app.js's showSignedIn).
export async function showPasskeys() {
  stopPasskeyAutofill();
  if ($("passkeys-panel").hidden) return;
  const credentials = await client.call("GET", "/users/me/webauthn");
  const rows = credentials.map((credential) => {
    const row = document.createElement("tr");
    row.dataset.passkeyId = credential.id;
    const actions = cell("");
    actions.append(
      rowButton(t("passkey_remove"), t("passkey_remove_named", { name: credential.name }), () => removePasskey(credential)),
    );
    row.append(
      cell(credential.name),
      cell(t(credential.passkey ? "passkey_kind_passkey" : "passkey_kind_security_key")),
      cell(dateTime(credential.created_at)),
      cell(credential.last_used_at ? dateTime(credential.last_used_at) : t("passkey_never_used")),
      actions,
    );
    return row;
  });
  $("passkeys").replaceChildren(...rows);
  $("no-passkeys").textContent = t("passkey_none");
  $("no-passkeys").hidden = rows.length > 0;
}

async function removePasskey(credential) {
  await client.call("DELETE", `/users/me/webauthn/${credential.id}`);
  await showPasskeys();
  showNotice(t("passkey_removed"));
}

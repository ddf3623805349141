// Passkeys on the sign-in page (docs/passkeys.md): register one, list and remove them, and sign in with one,
// by a button or from the email field's autofill (conditional mediation). app.js installs it; the calls go
// through client.js like every other. WebAuthn's JSON forms (parse*OptionsFromJSON, toJSON) do the encoding.

const $ = (id) => document.getElementById(id);

// Every string this file shows, in one place for translation.
export const STRINGS = {
  signIn: "Sign in with a passkey",
  register: "Register a passkey",
  remove: "Remove",
  passkey: "passkey",
  securityKey: "security key",
  neverUsed: "never",
  defaultName: "Passkey",
  registered: "Passkey registered: it signs you in on its own.",
  removed: "Passkey removed.",
  wrongHost: (rpId) => `Passkeys work on ${rpId} only: open this page there to use them.`,
  unsupported: "This browser cannot use passkeys.",
  none: "No passkey yet.",
  heading: "Passkeys",
  columns: ["Name", "Kind", "Added", "Last used", ""],
};

let client;
let run;
let onSignedIn;
let showNotice;
// One navigator.credentials.get() at a time: the button aborts the autofill's pending one.
let autofill = null;

// The RP ID the server runs with (empty: WebAuthn is off); a page on another host cannot use its passkeys.
function availability() {
  const rpId = document.documentElement.dataset.webauthnRpId ?? "";
  if (!rpId) return { usable: false, hint: "" };
  if (!window.PublicKeyCredential?.parseRequestOptionsFromJSON) return { usable: false, hint: STRINGS.unsupported };
  const host = location.hostname;
  if (host !== rpId && !host.endsWith(`.${rpId}`)) return { usable: false, hint: STRINGS.wrongHost(rpId) };
  return { usable: true, hint: "" };
}

export function installPasskeys(app) {
  ({ client, run, onSignedIn, showNotice } = app);
  const { usable, hint } = availability();
  for (const id of ["passkey-sign-in", "passkeys-panel"]) $(id).hidden = !usable && !hint;
  for (const id of ["passkey-sign-in-button", "register-passkey"]) $(id).hidden = !usable;
  $("passkey-sign-in-button").textContent = STRINGS.signIn;
  $("register-passkey").textContent = STRINGS.register;
  $("passkeys-heading").textContent = STRINGS.heading;
  const head = document.createElement("tr");
  head.append(...STRINGS.columns.map((text) => Object.assign(document.createElement("th"), { textContent: text })));
  $("passkeys-head").replaceChildren(head);
  for (const id of ["passkey-hint", "passkeys-hint"]) {
    $(id).textContent = hint;
    $(id).hidden = !hint;
  }
  if (!usable) return;
  $("passkey-sign-in-button").addEventListener("click", () => run(() => signInWithPasskey()));
  $("register-passkey").addEventListener("click", () => run(registerPasskey));
}

async function assert(mediation) {
  autofill?.abort();
  const controller = new AbortController();
  if (mediation === "conditional") autofill = controller;
  const { challenge_id, options } = await client.call("POST", "/auth/webauthn/options", { bearer: false });
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    mediation,
    signal: controller.signal,
  });
  await client.signInWith("/auth/webauthn", { challenge_id, credential: credential.toJSON() });
  await onSignedIn();
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
  autofill?.abort();
  const { challenge_id, options } = await client.call("POST", "/users/me/webauthn/register/options", {
    body: { passkey: true },
  });
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  await client.call("POST", "/users/me/webauthn/register", {
    body: { challenge_id, credential: credential.toJSON(), name: `${STRINGS.defaultName} ${new Date().toLocaleDateString()}` },
  });
  await showPasskeys();
  showNotice(STRINGS.registered);
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

// On the signed-in view (app.js's showSignedIn): whatever signed in, the autofill's request is over.
export async function showPasskeys() {
  autofill?.abort();
  if ($("passkeys-panel").hidden) return;
  const credentials = await client.call("GET", "/users/me/webauthn");
  const rows = credentials.map((credential) => {
    const row = document.createElement("tr");
    row.dataset.passkeyId = credential.id;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = STRINGS.remove;
    remove.addEventListener("click", () => run(() => removePasskey(credential)));
    const actions = cell("");
    actions.append(remove);
    row.append(
      cell(credential.name),
      cell(credential.passkey ? STRINGS.passkey : STRINGS.securityKey),
      cell(new Date(credential.created_at).toLocaleString()),
      cell(credential.last_used_at ? new Date(credential.last_used_at).toLocaleString() : STRINGS.neverUsed),
      actions,
    );
    return row;
  });
  $("passkeys").replaceChildren(...rows);
  $("no-passkeys").textContent = STRINGS.none;
  $("no-passkeys").hidden = rows.length > 0;
}

async function removePasskey(credential) {
  await client.call("DELETE", `/users/me/webauthn/${credential.id}`);
  await showPasskeys();
  showNotice(STRINGS.removed);
}

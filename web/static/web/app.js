// The sign-in page: what the person sees. The calls, the tokens and the refresh are client.js's, the API
// client a frontend can copy; this file only renders. No framework, no build step.

import { AuthClient, Problem } from "./client.js";
import { answerProblem, installMfa, promptShown, showMfa } from "./mfa.js";
import { installPasskeys, showPasskeys, startPasskeyAutofill } from "./passkeys.js";

const $ = (id) => document.getElementById(id);

// --- the page's language ----------------------------------------------------------------
// The server renders the words of this file in the page's language (web/strings.py, json_script):
// t("key", {name: value}) fills the {name} placeholders.
const STRINGS = JSON.parse($("page-strings").textContent);
const LANGUAGE = document.documentElement.lang;

function t(key, values = {}) {
  return STRINGS[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

const dateTime = (value) => new Date(value).toLocaleString(LANGUAGE);

// The template says how the backend runs (JWT_REFRESH_TRANSPORT); in cookie mode a reload keeps the session.
const client = new AuthClient({
  api: "/api",
  cookieMode: document.documentElement.dataset.refreshTransport === "cookie",
  // The API answers its problems in the page's language, not the browser's.
  language: LANGUAGE,
  messages: {
    networkError: t("problem_network_error"),
    stateInvalid: t("problem_state_invalid"),
    stateInvalidDetail: t("problem_state_invalid_detail"),
    providerError: t("problem_provider_error"),
    signedOutInAnotherTab: t("signed_out_other_tab"),
  },
  onSignedOut: (notice) => run(() => signOutLocally(notice)),
  onTokens: () => {
    if (!$("signed-in").hidden) renderTokens();
  },
});

// --- what the person sees -------------------------------------------------------------

function show(view) {
  for (const id of ["signed-out", "completing", "signed-in", "factor-prompt", ...Object.values(EMAILED_PAGES)]) $(id).hidden = id !== view;
  document.title = t("title", { page: t(`title_${view.replaceAll("-", "_")}`) });
}

// Focus to the first of `elements` on view, else to the shown view's heading: where an action leaves it when
// the control that held it went away (a view changed, a row was drawn again), so that it is not lost to <body>.
function refocus(...elements) {
  const candidates = [...elements, $("user-name"), $("sign-in-heading")];
  candidates.find((element) => element?.isConnected && element.checkVisibility())?.focus();
}

// `form`: the form whose submission failed. A problem listing what a value lacks (password_invalid's `errors`,
// translated by the API) lists it in place of the detail, which only points API clients at `errors`, and marks
// the form's password field invalid, described by the list.
function showProblem(problem, form) {
  const errors = Array.isArray(problem.extra?.errors) ? problem.extra.errors : [];
  $("problem-title").textContent = problem.title;
  $("problem-code").textContent = problem.code;
  $("problem-detail").textContent = problem.detail;
  $("problem-detail").hidden = errors.length > 0;
  $("problem-errors").replaceChildren(
    ...errors.map((error) => {
      const item = document.createElement("li");
      item.textContent = error;
      return item;
    }),
  );
  $("problem-errors").hidden = errors.length === 0;
  const field = errors.length > 0 ? form?.querySelector("input[type=password]") : null;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", "problem-errors");
  }
  $("problem").hidden = false;
  $("notice").hidden = true;
}

function showNotice(text) {
  $("notice").textContent = text;
  $("notice").hidden = false;
}

function clearMessages() {
  $("problem").hidden = true;
  $("notice").hidden = true;
  for (const field of document.querySelectorAll("[aria-describedby='problem-errors']")) {
    field.removeAttribute("aria-invalid");
    field.removeAttribute("aria-describedby");
  }
}

function renderTokens() {
  const { access, expires_in, refresh_expires_in } = client.tokens;
  $("access-token").value = access;
  const time = new Date(Date.now() + expires_in * 1000).toLocaleTimeString(LANGUAGE);
  const days = Math.round(refresh_expires_in / 86400);
  $("token-expiry").textContent = t(client.cookieMode ? "expiry_cookie" : "expiry_memory", { time, days });
}

function renderUser(user) {
  $("user-name").textContent = user.display_name || user.email || t("user_number", { id: user.id });
  $("user-email").textContent = user.email ?? t("no_email");
  $("user-initial").textContent = ($("user-name").textContent[0] ?? "?").toUpperCase();
  $("user-avatar").hidden = !user.avatar_url;
  $("user-initial").hidden = Boolean(user.avatar_url);
  if (user.avatar_url) $("user-avatar").src = user.avatar_url;
}

// A button repeated on every row: its visible text is short, its accessible name says which row it acts on.
function rowButton(text, label, step) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", () => run(step));
  return button;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// GET /api/auth/sessions answers a page, newest sign-in first; `next` is the cursor of the one after.
let nextSessions = null;

function renderSessions(page, { append = false } = {}) {
  const rows = page.items.map((session) => {
    const row = document.createElement("tr");
    row.dataset.sessionId = session.id;
    const deviceName = session.user_agent || t("unknown_device");
    const device = cell(deviceName, "device");
    // The whole user agent on hover: the cell truncates it.
    device.title = deviceName;
    if (session.current) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = t("this_tab");
      device.append(" ", tag);
    }
    const label = t("end_session_on", { device: deviceName, ip: session.ip ?? "" });
    const actions = cell("");
    actions.append(rowButton(t("end"), label, () => endSession(session)));
    row.append(device, cell(session.ip ?? ""), cell(dateTime(session.created_at)), cell(dateTime(session.last_used_at)), actions);
    return row;
  });
  if (append) $("sessions").append(...rows);
  else $("sessions").replaceChildren(...rows);
  nextSessions = page.next;
  $("more-sessions").hidden = nextSessions === null;
}

async function moreSessions() {
  renderSessions(await client.call("GET", `/auth/sessions?cursor=${encodeURIComponent(nextSessions)}`), {
    append: true,
  });
}

// --- the flow -----------------------------------------------------------------------

async function showProviders() {
  show("signed-out");
  const providers = await client.providers();
  const buttons = providers.map((provider) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `provider provider-${provider.name}`;
    // Kakao, Naver, Google and Apple: their mark and their own words, as their guidelines give them.
    const mark = document.getElementById(`mark-${provider.name}`);
    if (mark) button.append(mark.content.cloneNode(true));
    const label = document.createElement("span");
    label.textContent =
      `sign_in_${provider.name}` in STRINGS
        ? t(`sign_in_${provider.name}`)
        : t("sign_in_with", { provider: provider.display_name });
    button.append(label);
    button.addEventListener("click", () => run(() => client.startSignIn(provider.name)));
    return button;
  });
  $("providers").replaceChildren(...buttons);
  $("no-providers").hidden = buttons.length > 0;
  startPasskeyAutofill();
}

async function completeSignIn(provider) {
  show("completing");
  const { created } = await client.completeSignIn(provider);
  $("user-created").hidden = !created;
  await showSignedIn();
}

// On load: in cookie mode the refresh cookie may still hold a session; the page shows it without a click.
// With no refresh cookie at all (the server says so: it is HttpOnly) there is nothing to resume.
async function resumeOrShowProviders() {
  if (document.documentElement.dataset.sessionHint && (await client.resume())) await showSignedIn();
  else await showProviders();
}

async function showSignedIn() {
  const arriving = $("signed-in").hidden;
  const [user, sessions, notices] = await Promise.all([
    client.call("GET", "/users/me"),
    client.call("GET", "/auth/sessions"),
    client.call("GET", "/users/me/notices"),
  ]);
  renderUser(user);
  renderTokens();
  renderSessions(sessions);
  renderNoticeChoices(notices);
  await showIdentities();
  await showPasskeys();
  await showMfa();
  show("signed-in");
  if (arriving) refocus();
}

async function refresh() {
  await client.refresh();
  await showSignedIn();
  showNotice(t("new_pair"));
}

async function endSession(session) {
  await client.call("DELETE", `/auth/sessions/${session.id}`);
  if (session.current) {
    client.forget();
    await signOutLocally(t("tab_session_ended"));
  } else {
    await showSignedIn();
    showNotice(t("session_ended"));
    refocus($("sessions-table"));
  }
}

async function logout() {
  await client.logout();
  await signOutLocally(t("signed_out"));
}

async function logoutAll() {
  const ended = await client.logoutAll();
  await signOutLocally(t("signed_out_everywhere", { count: ended }));
}

async function signOutLocally(notice) {
  await showProviders();
  showNotice(notice);
  refocus();
}

async function copyToken() {
  await navigator.clipboard.writeText(client.tokens.access);
  showNotice(t("copied")); // the status region says it; the button's own label only shows it
  $("copy-token").textContent = t("copied");
  setTimeout(() => ($("copy-token").textContent = t("copy")), 1500);
}

// --- accounts: email and password, emailed links, identities (docs/accounts.md) ---------

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function signInWithPassword(form) {
  const { email, password } = formValues(form);
  await client.signInWith("/auth/token", { email, password });
  await showSignedIn();
}

async function signUp(form) {
  const { email, password, display_name } = formValues(form);
  const { detail } = await client.call("POST", "/auth/register", { body: { email, password, display_name }, bearer: false });
  form.reset();
  showNotice(detail);
  await showDevMailbox();
}

async function askFor(path) {
  const { email } = formValues($("sign-in-form"));
  const { detail } = await client.call("POST", path, { body: { email }, bearer: false });
  showNotice(detail);
  await showDevMailbox();
}

// Under make run (DEBUG) nothing is really emailed: the server shows the links it would have sent.
async function showDevMailbox() {
  if (!document.documentElement.dataset.devMailbox) return;
  const response = await fetch("/auth/dev-mailbox", { headers: { Accept: "application/json" } });
  const messages = response.ok ? await response.json() : [];
  const items = messages.flatMap((message) =>
    message.links.map((link) => {
      const item = document.createElement("li");
      const anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = `${message.subject} (${message.to.join(", ")})`;
      item.append(anchor);
      return item;
    }),
  );
  $("dev-mailbox-links").replaceChildren(...items);
  $("dev-mailbox").hidden = items.length === 0;
}

// The emailed links carry their one-time values in the fragment (never sent to a server); it leaves the address
// bar at once.
function takeLinkParams(...names) {
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", "/");
  return Object.fromEntries(names.map((name) => [name, params.get(name) ?? ""]));
}

// The pages the {uid, token} links open (web/urls.py), by path: the section each shows.
const EMAILED_PAGES = {
  "/auth/verify-email": "verify-email",
  "/auth/reset-password": "reset-password",
  "/auth/email-change": "email-change",
  "/auth/email-change-cancel": "email-change-cancel",
};
let emailedLink = null;
// The problems that leave the link nothing to retry (accounts.errors.LinkInvalid).
const DEAD_LINK_CODES = new Set(["link_invalid"]);

function emailedPageShown() {
  return Object.values(EMAILED_PAGES).some((view) => !$(view).hidden);
}

// The language switch reloads the page, and the link has already left the address bar: it crosses the reload
// in this tab's sessionStorage, never in a URL, and only back to the page it was opened on.
const CARRIED_LINK_KEY = "emailed-link";

let emailedLinkPath = null;

function showEmailedPage(view) {
  emailedLinkPath = location.pathname;
  const carried = JSON.parse(sessionStorage.getItem(CARRIED_LINK_KEY) ?? "null");
  sessionStorage.removeItem(CARRIED_LINK_KEY);
  const opened = takeLinkParams("uid", "token");
  emailedLink = !opened.uid && carried?.path === emailedLinkPath ? carried.link : opened;
  show(view);
}

document.querySelector("form.language").addEventListener("submit", (event) => {
  if (!emailedLink || !emailedPageShown()) return;
  sessionStorage.setItem(CARRIED_LINK_KEY, JSON.stringify({ path: emailedLinkPath, link: emailedLink }));
  event.target.elements.next.value = emailedLinkPath;
});

// The link proves the inbox, not who signed up: the API wants the password too (docs/accounts.md).
async function verifyEmail(form) {
  const { password } = formValues(form);
  await client.signInWith("/auth/email/verify", { ...emailedLink, password });
  await showSignedIn();
  showNotice(t("email_confirmed"));
}

async function resetPassword(form) {
  const { new_password } = formValues(form);
  await client.signInWith("/auth/password/reset/confirm", { ...emailedLink, new_password });
  await showSignedIn();
  showNotice(t("password_reset_done"));
}

// --- emailed codes and the email change (docs/accounts.md) ----------------------------------

async function requestCode(form) {
  const { email } = formValues(form);
  await client.call("POST", "/auth/email/code", { body: { email }, bearer: false });
  const codeForm = $("code-form");
  codeForm.elements.email.value = email;
  codeForm.hidden = false;
  codeForm.elements.code.focus();
  showNotice(t("code_sent", { email }));
  await showDevMailbox();
}

async function signInWithCode(form) {
  const { email, code } = formValues(form);
  await client.signInWith("/auth/email/code/confirm", { email, code });
  form.reset();
  form.hidden = true;
  await showSignedIn();
}

// The code's email links to the sign-in page with #email=…&code=…: the page fills the form in and sends it.
// The link fills the form in; the person signs in. Sent at once, a link any site can put before them would sign
// their browser into the link's account (login CSRF: found by an attacker), and a mail scanner would spend codes.
async function signInWithLinkedCode() {
  const { email, code } = takeLinkParams("email", "code");
  await showProviders();
  const form = $("code-form");
  form.elements.email.value = email;
  form.elements.code.value = code;
  form.hidden = false;
  form.querySelector("button[type=submit]").focus();
}

async function changeEmail(form) {
  const { new_email } = formValues(form);
  await client.call("POST", "/users/me/email", { body: { new_email } });
  form.reset();
  showNotice(t("email_change_sent", { email: new_email }));
  await showDevMailbox();
}

// The confirmation answers no tokens: a browser that still holds the session shows it with the new address.
async function confirmEmailChange() {
  await client.call("POST", "/users/me/email/confirm", { body: emailedLink, bearer: false });
  await resumeOrShowProviders();
  showNotice(t("email_change_confirmed"));
}

// "This wasn't me": the API ends every session of the account, this tab's too.
async function cancelEmailChange() {
  await client.call("POST", "/users/me/email/cancel", { body: emailedLink, bearer: false });
  client.forget();
  await signOutLocally(t("email_change_cancelled"));
}

// GET /api/users/me/notices answers {kind: on}; each kind is a checkbox that PATCHes itself.
function renderNoticeChoices(choices) {
  const labels = Object.entries(choices).map(([kind, on]) => {
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = kind;
    box.checked = on;
    box.addEventListener("change", () => run(() => setNoticeChoice(box)));
    const label = document.createElement("label");
    label.append(box, `notice_${kind}` in STRINGS ? t(`notice_${kind}`) : kind);
    return label;
  });
  $("notice-kinds").replaceChildren(...labels);
}

async function setNoticeChoice(box) {
  let choices;
  try {
    choices = await client.call("PATCH", "/users/me/notices", { body: { [box.name]: box.checked } });
  } catch (problem) {
    box.checked = !box.checked; // The choice did not change: the box says so.
    throw problem;
  }
  // The boxes stay (drawing them again would drop the focus): each says what the server now has.
  for (const other of $("notice-kinds").querySelectorAll("input")) other.checked = choices[other.name];
  showNotice(t("notices_saved"));
}

function renderIdentities({ has_password, identities }) {
  $("password-state").textContent = t(has_password ? "password_set" : "no_password");
  const rows = identities.map((identity) => {
    const row = document.createElement("tr");
    row.dataset.provider = identity.provider;
    const label = t("unlink_identity", { provider: identity.provider, email: identity.email ?? "" });
    const actions = cell("");
    actions.append(rowButton(t("unlink"), label, () => unlinkIdentity(identity)));
    row.append(cell(identity.provider), cell(identity.email), cell(dateTime(identity.first_login_at)), actions);
    return row;
  });
  $("identities").replaceChildren(...rows);
}

async function showIdentities() {
  const [identities, providers] = await Promise.all([client.call("GET", "/users/me/identities"), client.providers()]);
  renderIdentities(identities);
  const linked = new Set(identities.identities.map((identity) => identity.provider));
  const buttons = providers
    .filter((provider) => !linked.has(provider.name))
    .map((provider) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("link_provider", { provider: provider.display_name });
      button.addEventListener("click", () => run(() => client.startLink(provider.name)));
      return button;
    });
  $("link-providers").replaceChildren(...buttons);
}

async function unlinkIdentity(identity) {
  await client.call("DELETE", `/users/me/identities/${identity.id}`);
  await showIdentities();
  showNotice(t("identity_unlinked", { provider: identity.provider }));
}

function onSubmit(id, step) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => step(event.target), { form: event.target });
  });
}

onSubmit("sign-in-form", signInWithPassword);
onSubmit("sign-up-form", signUp);
onSubmit("verify-form", verifyEmail);
onSubmit("reset-form", resetPassword);
onSubmit("code-request-form", requestCode);
onSubmit("code-form", signInWithCode);
onSubmit("change-email-form", changeEmail);
onSubmit("email-change-form", confirmEmailChange);
onSubmit("email-change-cancel-form", cancelEmailChange);
$("forgot-password").addEventListener("click", () => run(() => askFor("/auth/password/reset")));
$("resend-verification").addEventListener("click", () => run(() => askFor("/auth/email/verify/resend")));

// Runs one step; a failure becomes the problem's title and code on the page, never a blank page. The client
// has already refreshed an expired access token and retried: a 401 here means the session is over (revoked,
// reused, or the refresh failed), and the page signs out. A second factor's question (mfa_required,
// reauthentication_required) opens mfa.js's prompt instead.
// An emailed link's page keeps its form (and the link, in memory) for another try, unless the link is dead.
async function run(step, { keepMessages = false, form = null } = {}) {
  if (!keepMessages) clearMessages();
  try {
    await step();
  } catch (error) {
    const problem = error instanceof Problem ? error : new Problem({ title: String(error), code: "client_error" });
    if (answerProblem(problem, step)) return;
    if (problem.status === 401) client.forget();
    const retryLink = emailedPageShown() && !DEAD_LINK_CODES.has(problem.code);
    if (!client.signedIn && $("signed-out").hidden && !promptShown() && !retryLink) {
      emailedLink = null;
      await run(showProviders, { keepMessages: true });
    }
    showProblem(problem, form);
  }
}

$("refresh").addEventListener("click", () => run(refresh));
$("logout").addEventListener("click", () => run(logout));
$("logout-all").addEventListener("click", () => run(logoutAll));
$("more-sessions").addEventListener("click", () => run(moreSessions));
$("copy-token").addEventListener("click", () => run(copyToken));
installPasskeys({ client, run, onSignedIn: showSignedIn, showNotice, t, rowButton, dateTime });
installMfa({ client, run, show, refocus, onSignedIn: showSignedIn, showProviders, showNotice, t });

const callback = location.pathname.match(/^\/auth\/callback\/([\w-]+)$/);
const emailedPage = EMAILED_PAGES[location.pathname];
const hasLinkedCode = () => location.pathname === "/" && new URLSearchParams(location.hash.slice(1)).has("code");
if (callback) run(() => completeSignIn(callback[1]));
else if (emailedPage) run(() => showEmailedPage(emailedPage));
else run(hasLinkedCode() ? signInWithLinkedCode : resumeOrShowProviders);
// A code's link followed from this very page (the dev mailbox) changes the fragment only: no load reads it.
window.addEventListener("hashchange", () => {
  if (hasLinkedCode()) run(signInWithLinkedCode);
});

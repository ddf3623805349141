// The reference client of the API: every request below is one a frontend makes to sign a
// person in with a provider and then use the API's own tokens. No framework, no build step.

const API = "/api";
// The only thing that must survive the trip to the provider: which provider and its state.
const PENDING_KEY = "signin.pending";

// The token pair lives in this variable only (never in storage): a reload signs out, and a
// script injected into the page later cannot read tokens out of localStorage.
let tokens = null;

const $ = (id) => document.getElementById(id);

class Problem extends Error {
  constructor({ title, code, detail, status }) {
    super(title);
    this.title = title;
    this.code = code;
    this.detail = detail ?? "";
    this.status = status;
  }

  static async fromResponse(response) {
    const body = await response.json().catch(() => ({}));
    return new Problem({
      title: body.title ?? response.statusText ?? "Request failed",
      code: body.code ?? `http_${response.status}`,
      detail: body.detail,
      status: response.status,
    });
  }
}

async function api(method, path, { body, bearer = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (bearer && tokens) headers.Authorization = `Bearer ${tokens.access}`;
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // The binding cookie of a sign-in (set by /authorize, required by /callback) must travel.
      credentials: "same-origin",
    });
  } catch {
    throw new Problem({ title: "The server cannot be reached", code: "network_error", status: 0 });
  }
  if (!response.ok) throw await Problem.fromResponse(response);
  return response.status === 204 ? null : response.json();
}

// --- what the person sees -------------------------------------------------------------

function show(view) {
  for (const id of ["signed-out", "completing", "signed-in"]) $(id).hidden = id !== view;
}

function showProblem(problem) {
  $("problem-title").textContent = problem.title;
  $("problem-code").textContent = problem.code;
  $("problem-detail").textContent = problem.detail;
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
}

function renderTokens() {
  $("access-token").value = tokens.access;
  const expires = new Date(Date.now() + tokens.expires_in * 1000);
  $("token-expiry").textContent = `Expires at ${expires.toLocaleTimeString()}; the refresh token in ${Math.round(tokens.refresh_expires_in / 86400)} days.`;
}

function renderUser(user) {
  $("user-name").textContent = user.display_name || user.email || `User ${user.id}`;
  $("user-email").textContent = user.email ?? "no email shared";
  $("user-initial").textContent = ($("user-name").textContent[0] ?? "?").toUpperCase();
  $("user-avatar").hidden = !user.avatar_url;
  $("user-initial").hidden = Boolean(user.avatar_url);
  if (user.avatar_url) $("user-avatar").src = user.avatar_url;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderSessions(sessions) {
  const rows = sessions.map((session) => {
    const row = document.createElement("tr");
    row.dataset.sessionId = session.id;
    const device = cell(session.user_agent || "unknown", "device");
    if (session.current) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = "this tab";
      device.append(" ", tag);
    }
    const end = document.createElement("button");
    end.type = "button";
    end.textContent = "End";
    end.addEventListener("click", () => run(() => endSession(session)));
    const actions = cell("");
    actions.append(end);
    row.append(
      device,
      cell(session.ip ?? ""),
      cell(new Date(session.created_at).toLocaleString()),
      cell(new Date(session.last_used_at).toLocaleString()),
      actions,
    );
    return row;
  });
  $("sessions").replaceChildren(...rows);
}

// --- the flow -----------------------------------------------------------------------

async function showProviders() {
  show("signed-out");
  const providers = await api("GET", "/auth/social/providers", { bearer: false });
  const buttons = providers.map((provider) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `provider provider-${provider.name}`;
    button.textContent = `Sign in with ${provider.display_name}`;
    button.addEventListener("click", () => run(() => startSignIn(provider.name)));
    return button;
  });
  $("providers").replaceChildren(...buttons);
  $("no-providers").hidden = buttons.length > 0;
}

async function startSignIn(provider) {
  // This page's callback URL: it must be listed in the backend's SOCIAL_REDIRECT_URIS.
  const redirectUri = `${location.origin}/auth/callback/${provider}`;
  const { authorization_url, state } = await api("POST", `/auth/social/${provider}/authorize`, {
    body: { redirect_uri: redirectUri },
    bearer: false,
  });
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ provider, state }));
  location.assign(authorization_url);
}

async function completeSignIn(provider) {
  const params = new URLSearchParams(location.search);
  // The code must not stay in the address bar, the history or bookmarks.
  history.replaceState(null, "", "/");
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null");
  sessionStorage.removeItem(PENDING_KEY); // One attempt per state.

  if (params.has("error")) {
    throw new Problem({
      title: "The provider did not sign you in",
      code: params.get("error"),
      detail: params.get("error_description") ?? "",
    });
  }
  // The backend checks the state too; checking here first stops a callback this tab did not
  // start (login CSRF) before the code is even sent.
  if (!pending || pending.provider !== provider || pending.state !== params.get("state")) {
    throw new Problem({
      title: "The sign-in state does not match",
      code: "state_invalid",
      detail: "This callback was not started from this tab. Sign in again.",
    });
  }
  show("completing");
  const { created, ...login } = await api("POST", `/auth/social/${provider}/callback`, {
    body: { code: params.get("code"), state: params.get("state") },
    bearer: false,
  });
  tokens = login; // The pair (and the user, shown below from GET /api/users/me).
  $("user-created").hidden = !created;
  await showSignedIn();
}

async function showSignedIn() {
  const [user, sessions] = await Promise.all([api("GET", "/users/me"), api("GET", "/auth/sessions")]);
  renderUser(user);
  renderTokens();
  renderSessions(sessions);
  show("signed-in");
}

async function refresh() {
  tokens = await api("POST", "/auth/token/refresh", { body: { refresh: tokens.refresh }, bearer: false });
  await showSignedIn();
  showNotice("New token pair: the previous refresh token no longer works.");
}

async function endSession(session) {
  await api("DELETE", `/auth/sessions/${session.id}`);
  if (session.current) {
    await signOutLocally("This tab's session has ended.");
  } else {
    await showSignedIn();
    showNotice("Session ended.");
  }
}

async function logout() {
  await api("POST", "/auth/logout", { body: { refresh: tokens.refresh } });
  await signOutLocally("Signed out.");
}

async function logoutAll() {
  const { sessions_ended } = await api("POST", "/auth/logout-all");
  await signOutLocally(`Signed out everywhere: ${sessions_ended} session(s) ended.`);
}

async function signOutLocally(notice) {
  tokens = null;
  await showProviders();
  showNotice(notice);
}

async function copyToken() {
  await navigator.clipboard.writeText(tokens.access);
  $("copy-token").textContent = "Copied";
  setTimeout(() => ($("copy-token").textContent = "Copy"), 1500);
}

// Runs one step; a failure becomes the problem's title and code on the page, never a blank
// page. A 401 means the session is over (ended elsewhere, or expired): the page signs out.
async function run(step, { keepMessages = false } = {}) {
  if (!keepMessages) clearMessages();
  try {
    await step();
  } catch (error) {
    const problem = error instanceof Problem ? error : new Problem({ title: String(error), code: "client_error" });
    if (problem.status === 401) tokens = null;
    if (!tokens && $("signed-out").hidden) await run(showProviders, { keepMessages: true });
    showProblem(problem);
  }
}

$("refresh").addEventListener("click", () => run(refresh));
$("logout").addEventListener("click", () => run(logout));
$("logout-all").addEventListener("click", () => run(logoutAll));
$("copy-token").addEventListener("click", () => run(copyToken));

const callback = location.pathname.match(/^\/auth\/callback\/([\w-]+)$/);
run(callback ? () => completeSignIn(callback[1]) : showProviders);

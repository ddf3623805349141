// The API client of a browser frontend, with no framework and no build step: the sign-in page (app.js) and the
// separate-origin example (examples/separate-origin/) both use it. It owns the tokens, the calls, and the
// refresh: once per expired access token, one at a time in a tab and, in cookie mode, across the browser's tabs.

// Sent with every call: a request the refresh cookie authenticates must carry it (docs/sessions.md, CSRF).
const CSRF_HEADER = { "X-Requested-With": "fetch" };
// Serialises refreshes across the tabs of this origin (Web Locks API).
const REFRESH_LOCK = "auth-refresh";
// The only thing that must survive the trip to the provider: which provider and its state.
const PENDING_KEY = "signin.pending";
// What the client says itself; a page in another language passes its own (`messages`).
const MESSAGES = {
  networkError: "The server cannot be reached",
  stateInvalid: "The sign-in state does not match",
  stateInvalidDetail: "This callback was not started from this tab. Sign in again.",
  providerError: "The provider did not sign you in",
  signedOutInAnotherTab: "Signed out in another tab.",
};

export class Problem extends Error {
  // extra: the problem's own members beyond RFC 9457's (mfa_required's `mfa_token` and `methods`...).
  constructor({ title, code, detail, status, ...extra }) {
    super(title);
    this.title = title;
    this.code = code;
    this.detail = detail ?? "";
    this.status = status;
    this.extra = extra;
  }

  static async fromResponse(response) {
    const body = await response.json().catch(() => ({}));
    return new Problem({
      ...body,
      title: body.title ?? response.statusText ?? "Request failed",
      code: body.code ?? `http_${response.status}`,
      detail: body.detail,
      status: response.status,
    });
  }
}

export class AuthClient {
  // api: "/api" on the API's own origin, "https://api.example.com/api" from another one.
  // cookieMode: the backend runs JWT_REFRESH_TRANSPORT=cookie; the refresh token is then never in this page.
  // onSignedOut(notice): the session is over (here or, in cookie mode, in another tab).
  // onTokens(tokens): new tokens (a refresh here or in another tab).
  // language: sent as Accept-Language, so that the API's problems come in the page's language.
  // messages: the client's own words (MESSAGES) in that language.
  constructor({ api, cookieMode, language, messages = {}, onSignedOut = () => {}, onTokens = () => {} }) {
    this.api = api;
    this.cookieMode = cookieMode;
    this.language = language;
    this.messages = { ...MESSAGES, ...messages };
    this.onSignedOut = onSignedOut;
    this.onTokens = onTokens;
    // Cookies must travel: the sign-in's binding cookie always, the refresh cookie in cookie mode.
    this.credentials = new URL(api, location.href).origin === location.origin ? "same-origin" : "include";
    // The token pair lives in this object only, never in storage: a script injected into the page later
    // cannot read tokens out of localStorage. In cookie mode it holds no refresh token at all.
    this.tokens = null;
    this.refreshing = null;
    // Bumped whenever the tokens change, here or from another tab: a tab that waited for another tab's
    // refresh sees it moved and takes that tab's tokens instead of rotating again.
    this.generation = 0;
    // The tabs of one browser share the cookie, so one session: they tell each other of refreshes and logouts.
    this.channel = cookieMode && "BroadcastChannel" in window ? new BroadcastChannel("auth") : null;
    this.channel?.addEventListener("message", ({ data }) => this.#fromAnotherTab(data));
  }

  get signedIn() {
    return this.tokens !== null;
  }

  // One API call; an expired access token is refreshed once and the call retried.
  async call(method, path, { body, bearer = true, retry = true } = {}) {
    const headers = { Accept: "application/json", ...CSRF_HEADER };
    if (this.language) headers["Accept-Language"] = this.language;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (bearer && this.tokens) headers.Authorization = `Bearer ${this.tokens.access}`;
    let response;
    try {
      response = await fetch(this.api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: this.credentials,
      });
    } catch {
      throw new Problem({ title: this.messages.networkError, code: "network_error", status: 0 });
    }
    if (response.ok) return response.status === 204 ? null : response.json();
    const problem = await Problem.fromResponse(response);
    if (problem.code === "token_expired" && bearer && retry && this.tokens) {
      await this.refresh();
      return this.call(method, path, { body, bearer, retry: false });
    }
    throw problem;
  }

  // --- signing in -----------------------------------------------------------------------------

  async providers() {
    return this.call("GET", "/auth/social/providers", { bearer: false });
  }

  // Sends the browser to the provider; it comes back to `${location.origin}/auth/callback/${provider}`, which
  // must be listed in the backend's SOCIAL_REDIRECT_URIS.
  async startSignIn(provider) {
    const redirectUri = `${location.origin}/auth/callback/${provider}`;
    const { authorization_url, state } = await this.call("POST", `/auth/social/${provider}/authorize`, {
      body: { redirect_uri: redirectUri },
      bearer: false,
    });
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ provider, state }));
    location.assign(authorization_url);
  }

  // --- accounts: email and password, emailed links, linking (docs/accounts.md) ---

  // Signs in with whatever an accounts endpoint takes ({email, password}, a link's {uid, token}...) and answers
  // with a pair: /auth/token, /auth/email/verify, /auth/password/reset/confirm. Returns what comes beside the
  // pair: a forced enrolment's recovery_codes (/auth/mfa/totp/confirm).
  async signInWith(path, body) {
    const { recovery_codes, ...tokens } = await this.call("POST", path, { body, bearer: false });
    this.#adopt(tokens);
    return { recovery_codes };
  }

  // Like startSignIn, but the callback attaches the provider's identity to the signed-in user.
  async startLink(provider) {
    const redirectUri = `${location.origin}/auth/callback/${provider}`;
    const { authorization_url, state } = await this.call("POST", `/auth/social/${provider}/authorize`, {
      body: { redirect_uri: redirectUri, intent: "link" },
    });
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ provider, state }));
    location.assign(authorization_url);
  }

  // On the callback page: the login's result ({created, user, ...}), the code and state gone from the URL.
  async completeSignIn(provider) {
    const params = new URLSearchParams(location.search);
    // The code must not stay in the address bar, the history or bookmarks.
    history.replaceState(null, "", "/");
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? "null");
    sessionStorage.removeItem(PENDING_KEY); // One attempt per state.
    if (params.has("error")) {
      throw new Problem({
        title: this.messages.providerError,
        code: params.get("error"),
        detail: params.get("error_description") ?? "",
      });
    }
    // The backend checks the state and the browser binding too; checking here first stops a callback this
    // tab did not start (login CSRF) before the code is even sent.
    if (!pending || pending.provider !== provider || pending.state !== params.get("state")) {
      throw new Problem({
        title: this.messages.stateInvalid,
        code: "state_invalid",
        detail: this.messages.stateInvalidDetail,
      });
    }
    const { created, user, ...tokens } = await this.call("POST", `/auth/social/${provider}/callback`, {
      body: { code: params.get("code"), state: params.get("state") },
      bearer: false,
    });
    this.#adopt(tokens);
    return { created, user };
  }

  // Cookie mode, on load: whether the refresh cookie still holds a session (then signed in, silently).
  async resume() {
    if (!this.cookieMode) return false;
    try {
      await this.refresh();
      return true;
    } catch (problem) {
      if (problem.status === 401) return false;
      throw problem;
    }
  }

  // --- refreshing -----------------------------------------------------------------------------

  // A new pair; concurrent callers in this tab share one request, and in cookie mode the tabs take turns.
  refresh() {
    this.refreshing ??= this.#refreshInTurn().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  async #refreshInTurn() {
    if (!this.cookieMode || !navigator.locks) return this.#rotate();
    const seen = this.generation;
    return navigator.locks.request(REFRESH_LOCK, () => (this.generation !== seen ? this.tokens : this.#rotate()));
  }

  async #rotate() {
    const body = this.cookieMode ? undefined : { refresh: this.tokens?.refresh };
    try {
      const tokens = await this.call("POST", "/auth/token/refresh", { body, bearer: false });
      this.#adopt(tokens);
      this.channel?.postMessage({ type: "refreshed", tokens });
      return tokens;
    } catch (problem) {
      if (problem.status === 401) this.#signedOut(null, { tellOthers: true });
      throw problem;
    }
  }

  // A step-up (docs/mfa.md#step-up): the user proves it again ({method, password | code} or a WebAuthn
  // assertion) and the same session gets a fresh pair, which the other tabs take too.
  async reauthenticate(body) {
    const tokens = await this.call("POST", "/auth/reauthenticate", { body });
    this.#adopt(tokens);
    this.channel?.postMessage({ type: "refreshed", tokens });
  }

  // --- signing out ----------------------------------------------------------------------------

  // Ends this session: the refresh token (body or cookie) names it, whatever the access token's state.
  async logout() {
    const body = this.cookieMode ? undefined : { refresh: this.tokens?.refresh };
    await this.call("POST", "/auth/logout", { body, retry: false });
    this.#signedOut(null, { tellOthers: true });
  }

  async logoutAll() {
    const { sessions_ended } = await this.call("POST", "/auth/logout-all");
    this.#signedOut(null, { tellOthers: true });
    return sessions_ended;
  }

  // The session ended some other way (from the session list): forget it here and in the other tabs.
  forget() {
    this.#signedOut(null, { tellOthers: true });
  }

  #adopt(tokens) {
    this.tokens = tokens;
    this.generation += 1;
    this.onTokens(tokens);
  }

  #signedOut(notice, { tellOthers }) {
    this.tokens = null;
    this.generation += 1;
    if (tellOthers) this.channel?.postMessage({ type: "signed-out" });
    if (notice) this.onSignedOut(notice);
  }

  #fromAnotherTab(message) {
    if (message.type === "refreshed" && this.tokens) this.#adopt(message.tokens);
    if (message.type === "signed-out" && this.tokens) this.#signedOut(this.messages.signedOutInAnotherTab, { tellOthers: false });
  }
}

// The smallest frontend on its own origin: the API's origin comes from the page, every call goes through the
// API client of the sign-in page (client.js) with credentials "include", so that the binding and refresh cookies
// of the API travel, and the refresh token never reaches this page.

import { AuthClient } from "/client.js";

const $ = (id) => document.getElementById(id);
const api = `${document.querySelector('meta[name="api-origin"]').content}/api`;
const client = new AuthClient({ api, cookieMode: true, onSignedOut: (notice) => guard(() => showSignedOut(notice)) });

function show(signedIn, status) {
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
  $("status").textContent = status;
}

async function showSignedOut(status) {
  const buttons = (await client.providers()).map((provider) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `Sign in with ${provider.display_name}`;
    button.addEventListener("click", () => guard(() => client.startSignIn(provider.name)));
    return button;
  });
  $("providers").replaceChildren(...buttons);
  $("output").textContent = "";
  show(false, status);
}

async function showMe(status) {
  const user = await client.call("GET", "/users/me");
  $("output").textContent = JSON.stringify(user, null, 2);
  show(true, status);
}

// A failure shows its problem code; a 401 (the client already refreshed and retried) means signed out.
async function guard(step) {
  $("problem").hidden = true;
  try {
    await step();
  } catch (problem) {
    $("problem").textContent = `${problem.code ?? "client_error"}: ${problem.title ?? problem}`;
    $("problem").hidden = false;
    if (problem.status === 401) await showSignedOut("Signed out.");
  }
}

$("me").addEventListener("click", () => guard(() => showMe("Signed in.")));
$("refresh").addEventListener("click", () => guard(async () => {
  await client.refresh();
  show(true, "Refreshed.");
}));
$("logout").addEventListener("click", () => guard(async () => {
  await client.logout();
  await showSignedOut("Signed out.");
}));

const callback = location.pathname.match(/^\/auth\/callback\/([\w-]+)$/);
guard(async () => {
  if (callback) {
    await client.completeSignIn(callback[1]);
    await showMe("Signed in.");
  } else if (await client.resume()) {
    await showMe("Signed in.");
  } else {
    await showSignedOut("Signed out.");
  }
});

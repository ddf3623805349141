// Node's jose as another service runs it: createRemoteJWKSet + jwtVerify, driven line by line.
//
// argv: jwks_uri issuer audience options(JSON, createRemoteJWKSet's: {} for its defaults)
// stdin, one JSON command a line: {"verify": token} or {"at": seconds since the epoch}
// stdout, one JSON answer a line: {"ok": true, "kid": ...} or {"ok": false, "code": "ERR_..."}
//
// {"at": s} sets this process's clock (Date.now, which jose's cache reads, and the time jwtVerify
// checks `exp` against) to the test's, so that hours of caching pass in a moment; nothing else of
// jose is touched.
import { createInterface } from "node:readline";
import { createRemoteJWKSet, jwtVerify } from "jose";

const realNow = Date.now;
let now = null;
Date.now = () => now ?? realNow();

const [jwksUri, issuer, audience, options] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(jwksUri), JSON.parse(options));
const out = (answer) => process.stdout.write(JSON.stringify(answer) + "\n");

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if ("at" in command) {
    now = command.at * 1000;
    out({ ok: true });
    continue;
  }
  try {
    const { protectedHeader } = await jwtVerify(command.verify, jwks, {
      issuer,
      audience,
      typ: "at+jwt",
      currentDate: new Date(Date.now()),
    });
    out({ ok: true, kid: protectedHeader.kid });
  } catch (error) {
    out({ ok: false, code: error.code ?? String(error) });
  }
}

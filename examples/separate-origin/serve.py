"""Serves the separate-origin example: a single-page app on its own origin that signs in through the API.

    python examples/separate-origin/serve.py --api http://127.0.0.1:8000 [--port 5173]

The API must list this origin in CORS_ALLOWED_ORIGINS and its callback page in SOCIAL_REDIRECT_URIS
(docs/sessions.md). Every path that is not one of the two scripts gets index.html, as a single-page app's
host would (its routes, /auth/callback/<provider> among them), with the API's origin written into it.
client.js is the sign-in page's own (web/static/web/client.js), not a copy. The browser tests serve it
the same way, on a free loopback port.
"""

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {"/spa.js": HERE / "spa.js", "/client.js": HERE.parents[1] / "web" / "static" / "web" / "client.js"}


def make_server(*, api_origin: str, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """The example's server on `host`:`port` (0: a free one); serve_forever() runs it.

    `host` should name the API's host (127.0.0.1 with 127.0.0.1, localhost with localhost):
    then the app is another origin on the same site, and the API's SameSite cookies travel.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script = SCRIPTS.get(self.path.split("?")[0])
            if script is not None:
                body, content_type = script.read_bytes(), "text/javascript; charset=utf-8"
            else:
                page = (HERE / "index.html").read_text().replace("{{API_ORIGIN}}", api_origin)
                body, content_type = page.encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            # The callback URL carries the authorization code until spa.js removes it: never send it on.
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; connect-src {api_origin}; img-src https: data:; "
                "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            )
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the callback's query string holds a code: keep it out of the console

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="the API's origin")
    parser.add_argument("--host", default="127.0.0.1", help="the API's host name, so that both are one site")
    parser.add_argument("--port", type=int, default=5173)
    args = parser.parse_args()
    server = make_server(api_origin=args.api.rstrip("/"), host=args.host, port=args.port)
    print(f"http://{args.host}:{server.server_port} (API: {args.api})")
    server.serve_forever()


if __name__ == "__main__":
    main()

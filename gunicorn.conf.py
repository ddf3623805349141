"""gunicorn settings for production and `make bench` (gunicorn reads ./gunicorn.conf.py itself).

Worker model: threads (gthread). Most of a request's time here is spent waiting: on
PostgreSQL, on Redis, on a sign-in provider. A sync worker serves one request at a time, so
four requests waiting on a hung database or a slow provider held all four workers and
whoami and /api/health/live, which touch neither, waited behind them (issue 12). With
threads, a waiting request holds one thread of its process while the others serve; psycopg,
redis-py and requests release the GIL while they wait. An async worker (gevent) would make
waits cheaper still, but only by monkey-patching the socket module under psycopg, redis-py
and requests, for a service whose CPU work (signing and verifying JWTs) is short; threads
need no patching. What a thread may wait for is bounded by each request's own budget:
DATABASE_CONNECT_TIMEOUT and DATABASE_STATEMENT_TIMEOUT, the cache's socket timeouts,
SOCIAL_CALLBACK_DEADLINE for providers, and SOCIAL_CALLBACK_CONCURRENCY callbacks per
process (a bulkhead, so a hung provider cannot take every thread).

Each thread keeps its own database connection (Django's connections are per thread), so
PostgreSQL must allow GUNICORN_WORKERS x GUNICORN_THREADS connections per server.

Slow request bodies: gunicorn hands a connection to a thread only once its first bytes
arrive, and `pre_request` below bounds each later read of the body, so a client that
stalls frees its thread. A client that trickles a byte at a time within that bound still
holds a thread: in production, run behind a proxy that buffers whole requests before
passing them on (nginx does by default: proxy_request_buffering on), as gunicorn's own
deployment guide says. docs/operations.md shows the setup.
"""

import gc
import os
import sys

from gunicorn.http.body import LengthReader

# One process per core runs Python in parallel; threads give each process concurrency for
# waits, and their number has nothing to do with cores.
workers = int(os.environ.get("GUNICORN_WORKERS") or os.cpu_count() or 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
# Longer than any request's own budget (a callback: SOCIAL_CALLBACK_DEADLINE, 15 s, plus its
# queries, each under DATABASE_STATEMENT_TIMEOUT, 5 s), so gunicorn never kills a worker
# that is doing what it was configured to do. A gthread worker's heartbeat comes from its
# main loop, so this catches a worker whose process is stuck, not a slow request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
# On a restart (SIGHUP, SIGTERM), requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
# How long a stalled request body may go without a byte before its request fails.
BODY_READ_TIMEOUT = float(os.environ.get("GUNICORN_BODY_READ_TIMEOUT") or 10)


def on_starting(server):
    # runserver and migrate run Django's system checks; gunicorn does not. Running them here
    # makes a production server refuse to start on an error (core.E001: a default secret key
    # with debug off; devidp.E001; tokens.E011, no signing key, which needs the database)
    # instead of serving with it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    django.setup()
    try:
        call_command("check", fail_level="ERROR", databases=["default"])
    except SystemCheckError as error:
        sys.stderr.write(f"{error}\n")
        sys.exit(1)


def post_worker_init(worker):
    # The denylist mirror loads while the worker starts, not on its first request (tokens/mirror.py).
    from tokens.mirror import denylist_mirror

    denylist_mirror()
    # The signing key set too, then kept current by a thread of its own: no request waits on the database for keys.
    from tokens.keys import key_set_refresh_in_background

    key_set_refresh_in_background()
    # Everything the app built at start-up lives for the process's life; moving it out of
    # the garbage collector's reach keeps each collection short (CPython's gc.freeze docs).
    gc.freeze()


def pre_request(worker, req):
    # The headers are in; the body is read later, by Django. A blocking socket without a
    # timeout would let a client that stops sending hold this thread forever; with one,
    # the read fails and the request ends. gunicorn resets the socket's mode for the next
    # request on a kept-alive connection.
    # Only for a request that declares a body: one without (a GET) has nothing left to read,
    # and a socket with a timeout makes Python poll() before each of its reads and writes,
    # releasing the GIL each time: 4 % of whoami's throughput (docs/benchmarks.md).
    # gunicorn has already chosen the body's reader from the headers: a length of 0 when none.
    reader = req.body.reader
    if isinstance(reader, LengthReader) and reader.length == 0:
        return
    sock = getattr(req.unreader, "sock", None)
    if sock is not None:
        sock.settimeout(BODY_READ_TIMEOUT)

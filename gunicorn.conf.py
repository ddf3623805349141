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
process (a bulkhead, so a hung provider cannot take every thread); requests on the database
hold at most DATABASE_REQUEST_CONCURRENCY threads per process (core/bulkhead.py: a hung
database cannot take every thread either).

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
from typing import Any

from gunicorn.arbiter import Arbiter
from gunicorn.http.body import LengthReader
from gunicorn.http.message import Request
from gunicorn.workers import gthread
from gunicorn.workers.base import Worker

# One process per core runs Python in parallel; threads give each process concurrency for
# waits, and their number has nothing to do with cores.
# API_SINGLE_PROCESS (no Redis: core.E006) means one.
_single_process = os.environ.get("API_SINGLE_PROCESS", "").strip().lower() in {"1", "true", "yes", "on"}
workers = int(os.environ.get("GUNICORN_WORKERS") or (1 if _single_process else os.cpu_count()) or 1)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS") or 8)
# Longer than any request's own budget (a callback: SOCIAL_CALLBACK_DEADLINE, 15 s, plus its
# queries, each under DATABASE_STATEMENT_TIMEOUT, 5 s), so gunicorn never kills a worker
# that is doing what it was configured to do. A gthread worker's heartbeat comes from its
# main loop, so this catches a worker whose process is stuck, not a slow request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
# On a restart (SIGHUP, SIGTERM), requests in flight get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
# On SIGTERM a worker stops accepting, answers what is in flight with "Connection: close",
# and keeps each idle kept-alive connection open this long (then closes it with a FIN) for a
# request a client may already have sent on it; gunicorn's own 2 s was most of the time a
# SIGTERM took with only idle connections open. One second is still far beyond any round
# trip to the proxy in front. gthread reads the value when the worker stops.
gthread.STOP_KEEPALIVE_LINGER = 1.0
# No control socket: nothing here uses gunicornc, and its default path ($HOME/.gunicorn/)
# is shared by every gunicorn the same user runs on the host, a second server's start
# replacing the first's socket.
control_socket_disable = True
# How long a stalled request body may go without a byte before its request fails.
BODY_READ_TIMEOUT = float(os.environ.get("GUNICORN_BODY_READ_TIMEOUT") or 10)


def on_starting(server: Arbiter) -> None:
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
    from core.checks import cache_is_shared

    if server.cfg.workers > 1 and not cache_is_shared():
        # Each worker would keep its own denylist, id_token spends and throttle counts (core.E006).
        sys.stderr.write(
            f"Refusing to start {server.cfg.workers} workers on a cache they do not share: set REDIS_URL, "
            "or run one worker (GUNICORN_WORKERS=1 with API_SINGLE_PROCESS=1).\n"
        )
        sys.exit(1)
    _refuse_pending_migrations()
    # Out of the collector's reach, as in each worker (post_worker_init): without it, the
    # master's own exit spent 1.3-2 s collecting Django's start-up objects after its last
    # worker had gone, most of the time a SIGTERM took (docs/operations.md).
    gc.freeze()


def _refuse_pending_migrations() -> None:
    # Code that expects tables or columns the database does not have fails at its first
    # request (a ProgrammingError: a 500), and the denylist mirror cannot load. So a server
    # on a database with migrations pending does not start: run `migrate` first (README,
    # Production). A database that cannot be reached cannot say; the server starts, and
    # /api/health/ready answers 503 until it can.
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections["default"]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        sys.stderr.write(f"Cannot tell whether migrations are pending ({error.__class__.__name__}); starting.\n")
        pending = []
    # The workers fork from this process: none may inherit its connection.
    connections.close_all()
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending)
        sys.stderr.write(
            f"{len(pending)} migration(s) not applied to the database: {names}. "
            "Run `python manage.py migrate` before starting the server.\n"
        )
        sys.exit(1)


def post_worker_init(worker: Worker) -> None:
    # The denylist mirror loads while the worker starts, not on its first request (tokens/mirror.py).
    from tokens.denylist import denylist_mirror

    denylist_mirror()
    # The database bulkhead's default limit follows the threads each worker has (core/bulkhead.py).
    from core.bulkhead import database_bulkhead

    database_bulkhead.serve_threads(worker.cfg.threads)
    # gunicorn answers what arrives after a SIGTERM with "Connection: close", but a request
    # it was already serving then was answered "keep-alive", inviting its client's next
    # request onto a connection about to close. Deciding when the answer starts, not when the
    # request did, makes every answer made after the signal say "close". Not when the signal
    # arrives: an answer whose headers already said "keep-alive" must keep the connection
    # for the linger above, or the client's next request meets a reset.
    worker.wsgi = _close_once_stopping(worker, worker.wsgi)
    # The signing key set too, then kept current by a thread of its own: no request waits on the database for keys.
    from tokens.keys import key_set_refresh_in_background

    key_set_refresh_in_background()
    # Everything the app built at start-up lives for the process's life; moving it out of
    # the garbage collector's reach keeps each collection short (CPython's gc.freeze docs).
    gc.freeze()


def _close_once_stopping(worker: Worker, app: Any) -> Any:
    def application(environ: dict[str, Any], start_response: Any) -> Any:
        response = app(environ, start_response)
        # Django has answered; gunicorn sends the headers at the first write, after this returns.
        if not worker.alive:
            start_response.__self__.force_close()  # gunicorn's Response, whose method this is
        return response

    return application


def pre_request(worker: Worker, req: Request) -> None:
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

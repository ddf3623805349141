"""gunicorn settings for production and `make bench` (gunicorn reads ./gunicorn.conf.py itself)."""

import gc


def post_worker_init(worker):
    # Everything the app built at start-up lives for the process's life; moving it out of
    # the garbage collector's reach keeps each collection short (CPython's gc.freeze docs).
    gc.freeze()

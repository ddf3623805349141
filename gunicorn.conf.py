"""gunicorn settings for production and `make bench` (gunicorn reads ./gunicorn.conf.py itself)."""

import gc
import os
import sys


def on_starting(server):
    # runserver and migrate run Django's system checks; gunicorn does not. Running them here
    # makes a production server refuse to start on an error (core.E001: a default secret key
    # with debug off; devidp.E001) instead of serving with it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    django.setup()
    try:
        call_command("check", fail_level="ERROR")
    except SystemCheckError as error:
        sys.stderr.write(f"{error}\n")
        sys.exit(1)


def post_worker_init(worker):
    # Everything the app built at start-up lives for the process's life; moving it out of
    # the garbage collector's reach keeps each collection short (CPython's gc.freeze docs).
    gc.freeze()

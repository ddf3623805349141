"""Each peer project's WSGI application; DJANGO_SETTINGS_MODULE chooses the project."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

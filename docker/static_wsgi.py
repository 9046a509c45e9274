"""The WSGI application of the backend image: backend.wsgi with its static files served.

With DEBUG off, Django serves no static files, and the admin and the schema pages need theirs
(CSS, JavaScript). WhiteNoise serves the files that `collectstatic` gathered when the image was
built (/app/static, or STATIC_FILES_DIR) under STATIC_URL, before Django sees the request;
everything else goes to Django unchanged. gunicorn loads it through docker/gunicorn.conf.py.
"""

import os

from whitenoise import WhiteNoise

from backend.wsgi import application as django_application

application = WhiteNoise(
    django_application,
    root=os.environ.get("STATIC_FILES_DIR", "/app/static"),
    prefix="/static/",
    # Names are not hashed (Django's plain StaticFilesStorage): browsers revalidate after a minute.
    max_age=60,
)

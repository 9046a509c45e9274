"""The Django project of an organization's backend: settings from the environment, URLs, WSGI.
`manage.py` points here; the app is `substrapp`."""

# The release of this repository (pyproject.toml); /info/ reports it.
__version__ = "0.1.0"

"""The Django project of an organization's backend (settings, urls, Celery app). Coming with the
backend issue; `manage.py` points here."""

from django.apps import AppConfig


class SubstrappConfig(AppConfig):
    name = "substrapp"
    verbose_name = "Organization backend"
    default_auto_field = "django.db.models.BigAutoField"

import warnings

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = "Web console"

    def ready(self):
        # WhiteNoise serves the console's files from the apps' folders (WHITENOISE_USE_FINDERS);
        # STATIC_ROOT exists only where collectstatic ran, and its absence is no fault.
        warnings.filterwarnings("ignore", message="No directory at: .*static", category=UserWarning)

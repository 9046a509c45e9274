from django.apps import AppConfig


class SubstrappConfig(AppConfig):
    name = "substrapp"
    verbose_name = "Organization backend"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings
        from kombu import Exchange, Queue

        from backend.celery import app

        # Declared by whoever publishes too (the event consumer), not only by the worker: a
        # message sent before any worker declared its queue must wait in it (the filesystem
        # transport drops a message sent to a queue nobody bound).
        app.conf.task_queues = [
            Queue(name, Exchange(name, type="direct"), routing_key=name)
            for name in (settings.COMPUTE_QUEUE, settings.BUILD_QUEUE)
        ]
        app.conf.task_default_queue = settings.COMPUTE_QUEUE

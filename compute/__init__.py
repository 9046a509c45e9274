"""Worker logic kept free of Django and Celery: the asset cache, the image builder, the executors.
Coming with the compute issue."""

"""The Celery application. Tasks live in each app's tasks.py and take ids, never instances."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retailsite.settings.base")

app = Celery("retailsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

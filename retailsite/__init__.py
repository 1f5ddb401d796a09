"""The retail personalization platform's Django project.

The Celery app (`retailsite/celery.py`) is imported by the modules that define tasks (`@app.task`), not here:
a process that never sends a task (`manage.py help`, most commands) starts without Celery and kombu.
`celery -A retailsite` finds it as `retailsite.celery:app`.
"""

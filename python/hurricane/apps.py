"""The Django app: with "hurricane" in INSTALLED_APPS, manage.py gains the
serve and consume commands."""

from django.apps import AppConfig


class HurricaneConfig(AppConfig):
    name = "hurricane"
    verbose_name = "Hurricane"

from django.apps import AppConfig


class E2ESiteConfig(AppConfig):
    name = "e2esite"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.core import checks

        from . import checks as e2e_checks

        checks.register(e2e_checks.liveness_check, "liveness", deploy=True)
        checks.register(e2e_checks.readiness_check, "readiness", deploy=True)

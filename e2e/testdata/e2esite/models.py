from django.db import models


class Thing(models.Model):
    """Only here so that e2esite has a migration of its own."""

    name = models.CharField(max_length=50)

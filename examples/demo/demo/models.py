"""The demo's one model: items a JSON view lists (bench/run reads 20 of them)."""
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField()
    price_cents = models.PositiveIntegerField()
    created = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

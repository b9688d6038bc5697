"""Data migration: 100 items, so the demo's /items view has rows to list."""
import datetime

from django.db import migrations

COUNT = 100


def create_items(apps, schema_editor):
    Item = apps.get_model("demo", "Item")
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    Item.objects.bulk_create(
        Item(
            name=f"Item {i}",
            description=f"The demo's item number {i}, one of {COUNT}.",
            price_cents=100 + 7 * i,
            created=start + datetime.timedelta(hours=i),
        )
        for i in range(1, COUNT + 1)
    )


def delete_items(apps, schema_editor):
    apps.get_model("demo", "Item").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [("demo", "0001_initial")]

    operations = [migrations.RunPython(create_items, delete_items)]

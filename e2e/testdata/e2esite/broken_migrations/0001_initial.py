"""A migration whose dependency does not exist: loading the migration graph
fails with NodeNotFoundError (not a database error)."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("e2esite", "0000_missing")]

    operations = []

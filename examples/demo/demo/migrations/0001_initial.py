from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("description", models.TextField()),
                ("price_cents", models.PositiveIntegerField()),
                ("created", models.DateTimeField()),
            ],
            options={
                "ordering": ["id"],
            },
        ),
    ]

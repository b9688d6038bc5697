"""Holds startup: waits until the file named by E2E_RELEASE_FILE exists
(at most 20 s; then it fails)."""
import os
import time

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Wait for the file named by E2E_RELEASE_FILE (at most 20 s)."

    def handle(self, *args, **options):
        path = os.environ.get("E2E_RELEASE_FILE")
        if not path:
            raise CommandError("E2E_RELEASE_FILE is not set")
        self.stdout.write("slowcmd waiting for %s" % path)
        self.stdout.flush()
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise CommandError("%s did not appear within 20 s" % path)
            time.sleep(0.05)
        self.stdout.write("slowcmd released")

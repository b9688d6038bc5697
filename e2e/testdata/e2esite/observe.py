"""Settings for the observability tests: the e2esite settings, the views
in observe_urls, and the app's own metrics."""
from e2esite.settings import *  # noqa: F401,F403

import e2esite.observed  # noqa: F401  (registers the custom metrics)

ROOT_URLCONF = "e2esite.observe_urls"

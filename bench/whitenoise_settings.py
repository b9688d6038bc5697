"""The demo settings with WhiteNoise serving STATIC_ROOT, for bench/static.

WhiteNoise's middleware goes right after SecurityMiddleware, as its
documentation says. With DEBUG off it indexes STATIC_ROOT once at startup.
"""
from demo.settings import *  # noqa: F401,F403
from demo.settings import MIDDLEWARE

MIDDLEWARE = list(MIDDLEWARE)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)

"""Hurricane: Django on Kubernetes, served by a Go front end.

This package is embedded in the ``hurricane`` binary and runs as its Python
worker; installed with pip it also provides the ``serve`` and ``consume``
management commands and the APIs for type checkers.
"""

__version__ = "0.1.0"

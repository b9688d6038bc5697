"""Find the hurricane binary and replace this process with it.

The serve and consume management commands are thin: the Go binary does the
work, so they exec it with the same arguments (plus the interpreter and the
settings module Django is using) and signals reach Go directly.
"""

import os
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError

INSTALL_HINT = (
    "install the wheel that bundles it for your platform (pip install hurricane-server "
    "on Linux or macOS, amd64 or arm64), put the hurricane binary on PATH "
    "(a release archive, or go install github.com/hurricane-run/hurricane@latest), "
    "or set HURRICANE_BINARY to its path"
)


def bundled_binary():
    """The binary a platform wheel installs inside the package: hurricane/bin/hurricane."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(package, "bin", "hurricane")


def _executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_binary(environ=None, bundled=None, which=shutil.which):
    """The binary to run: $HURRICANE_BINARY, else the bundled one, else hurricane on PATH."""
    environ = os.environ if environ is None else environ
    path = environ.get("HURRICANE_BINARY")
    if path:
        if not _executable(path):
            raise CommandError(
                "HURRICANE_BINARY=%s is not an executable file: point it at the hurricane "
                "binary, or unset it to use the bundled one or the one on PATH" % path
            )
        return path
    bundled = bundled_binary() if bundled is None else bundled
    if _executable(bundled):
        return bundled
    found = which("hurricane", path=environ.get("PATH", os.defpath))
    if found:
        return found
    if os.path.exists(bundled):
        raise CommandError(
            "the bundled hurricane binary %s is not executable (chmod +x it, or reinstall "
            "hurricane-server with a recent pip) and there is none on PATH" % bundled
        )
    raise CommandError("the hurricane binary was not found: " + INSTALL_HINT)


def _given(args, flag):
    """Whether args set the long flag (as --flag VALUE or --flag=VALUE)."""
    for a in args:
        if a == "--":
            return False
        if a == flag or a.startswith(flag + "="):
            return True
    return False


def script_dir(argv0, path0, cwd):
    """The directory of the script Python ran (manage.py), if Python put it first
    on the import path and it is not the working directory the binary runs in."""
    if not argv0.endswith(".py") or not path0:
        return None
    d = os.path.realpath(os.path.dirname(os.path.abspath(argv0)))
    if os.path.realpath(path0) != d or os.path.realpath(cwd) == d:
        return None
    return d


def build_argv(binary, subcommand, args, executable, environ, project_dir=None):
    """The binary's argv: the subcommand, --python and --settings unless args
    give them, --pythonpath for the project if it is not the working directory,
    then args unchanged."""
    argv = [binary, subcommand]
    if executable and not _given(args, "--python"):
        argv += ["--python", executable]
    settings = environ.get("DJANGO_SETTINGS_MODULE")
    if settings and not _given(args, "--settings"):
        argv += ["--settings", settings]
    if project_dir:
        argv += ["--pythonpath", project_dir]
    return argv + list(args)


class LaunchCommand(BaseCommand):
    """A management command that execs "hurricane <subcommand>" with its arguments."""

    subcommand = ""
    requires_system_checks = []  # the binary runs them in its workers

    def argv(self, argv0, args):
        return build_argv(
            find_binary(),
            self.subcommand,
            args,
            executable=sys.executable,
            environ=os.environ,
            project_dir=script_dir(argv0, sys.path[0] if sys.path else "", os.getcwd()),
        )

    def run_from_argv(self, argv):
        # Django's parser would reject hurricane's flags: the arguments go to
        # the binary verbatim, and so does --help.
        try:
            self.exec(self.argv(argv[0], argv[2:]))
        except CommandError as e:
            self.stderr.write("%s: %s" % (e.__class__.__name__, e))
            sys.exit(e.returncode)

    def handle(self, *args, **options):
        # call_command(name, *args): positional arguments only.
        self.exec(self.argv("", [str(a) for a in args]))

    def print_help(self, prog_name, subcommand):
        # "manage.py help serve" shows the binary's help.
        try:
            self.exec(self.argv("", ["--help"]))
        except CommandError as e:
            self.stderr.write("%s\n\n%s" % (self.help, e))

    def exec(self, argv):
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execv(argv[0], argv)
        except OSError as e:
            raise CommandError("run %s: %s (is it built for this platform?)" % (argv[0], e)) from e

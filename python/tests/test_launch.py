"""The serve and consume management commands: finding the binary and the
arguments it gets. The end-to-end run of the real binary from an installed
wheel is e2e/wheel_test.go."""

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT


@pytest.fixture
def launch(django_setup):
    from hurricane.management import launch

    return launch


def _executable(path, text="#!/bin/sh\n"):
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def test_find_binary_prefers_hurricane_binary(launch, tmp_path):
    env_bin = _executable(tmp_path / "from-env")
    bundled = _executable(tmp_path / "bundled")
    got = launch.find_binary({"HURRICANE_BINARY": env_bin}, bundled, which=lambda *a, **k: "/on/path")
    assert got == env_bin


def test_find_binary_rejects_a_bad_hurricane_binary(launch, tmp_path):
    bundled = _executable(tmp_path / "bundled")
    with pytest.raises(launch.CommandError, match="HURRICANE_BINARY=.*not an executable file"):
        launch.find_binary({"HURRICANE_BINARY": str(tmp_path / "missing")}, bundled)


def test_find_binary_bundled_before_path(launch, tmp_path):
    bundled = _executable(tmp_path / "bundled")
    assert launch.find_binary({}, bundled, which=lambda *a, **k: "/on/path") == bundled


def test_find_binary_on_path(launch, tmp_path):
    on_path = tmp_path / "path"
    on_path.mkdir()
    want = _executable(on_path / "hurricane")
    got = launch.find_binary({"PATH": str(on_path)}, str(tmp_path / "no-bundled"))
    assert got == want


def test_find_binary_says_how_to_install(launch, tmp_path):
    with pytest.raises(launch.CommandError, match="pip install hurricane-server.*HURRICANE_BINARY"):
        launch.find_binary({"PATH": str(tmp_path)}, str(tmp_path / "no-bundled"))


def test_find_binary_names_a_bundled_binary_without_its_executable_bit(launch, tmp_path):
    bundled = tmp_path / "bundled"
    bundled.write_text("#!/bin/sh\n")
    bundled.chmod(0o644)
    with pytest.raises(launch.CommandError, match="bundled hurricane binary .* is not executable"):
        launch.find_binary({"PATH": str(tmp_path)}, str(bundled))


@pytest.mark.parametrize(
    "args, environ, project, want",
    [
        pytest.param(
            ["--port", "8080"], {"DJANGO_SETTINGS_MODULE": "site.settings"}, None,
            ["B", "serve", "--python", "/py", "--settings", "site.settings", "--port", "8080"],
            id="adds python and settings",
        ),
        pytest.param(
            ["--python", "/other", "--settings=x.y"], {"DJANGO_SETTINGS_MODULE": "site.settings"}, None,
            ["B", "serve", "--python", "/other", "--settings=x.y"],
            id="given flags win",
        ),
        pytest.param(
            ["--python=/other", "--pythonpath", "src"], {}, None,
            ["B", "serve", "--python=/other", "--pythonpath", "src"],
            id="pythonpath is not python; no settings module",
        ),
        pytest.param(
            ["--pythonpath", "src"], {}, None,
            ["B", "serve", "--python", "/py", "--pythonpath", "src"],
            id="pythonpath does not count as python",
        ),
        pytest.param(
            ["--", "--python", "x"], {}, None,
            ["B", "serve", "--python", "/py", "--", "--python", "x"],
            id="after -- is not a flag",
        ),
        pytest.param(
            ["--help"], {"DJANGO_SETTINGS_MODULE": "s"}, "/srv/app",
            ["B", "serve", "--python", "/py", "--settings", "s", "--pythonpath", "/srv/app", "--help"],
            id="project directory",
        ),
    ],
)
def test_build_argv(launch, args, environ, project, want):
    assert launch.build_argv("B", "serve", args, "/py", environ, project) == want


def test_script_dir(launch, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    manage = str(project / "manage.py")
    # Run from elsewhere: the binary needs the project on its import path.
    assert launch.script_dir(manage, str(project), str(tmp_path)) == str(project.resolve())
    # Run from the project: the working directory is already the project.
    assert launch.script_dir(manage, str(project), str(project)) is None
    # python -m django: Python put the working directory first, not the script's.
    assert launch.script_dir(str(tmp_path / "django" / "__main__.py"), str(tmp_path), str(tmp_path)) is None
    # django-admin, a console script.
    assert launch.script_dir(str(tmp_path / "bin" / "django-admin"), str(tmp_path / "bin"), str(project)) is None


# ---- manage.py, run for real with a stand-in binary that prints its pid and argv

MANAGE = """\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""

SETTINGS = """\
SECRET_KEY = "tests"
INSTALLED_APPS = ["hurricane"]
"""


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "project"
    d.mkdir()
    (d / "manage.py").write_text(MANAGE)
    (d / "site_settings.py").write_text(SETTINGS)
    (d / "other_settings.py").write_text(SETTINGS)
    return d


def manage(project, *args, binary=None, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "HURRICANE_BINARY")}
    env["PYTHONPATH"] = str(ROOT / "python")
    env["PATH"] = str(project)  # no hurricane on it
    if binary:
        env["HURRICANE_BINARY"] = binary
    p = subprocess.Popen(
        [sys.executable, str(project / "manage.py"), *args],
        cwd=cwd or project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = p.communicate(timeout=60)
    return p, out, err


@pytest.fixture
def stand_in(tmp_path):
    return _executable(tmp_path / "hurricane", '#!/bin/sh\necho "$$"\nfor a in "$@"; do echo "$a"; done\n')


@pytest.mark.parametrize("command", ["serve", "consume"])
def test_manage_py_execs_the_binary_with_the_arguments(project, stand_in, command):
    # Flags Django's parser does not know, and --help, go to the binary verbatim.
    p, out, err = manage(project, command, "--port", "8001", "--no-such-django-flag", "--help", binary=stand_in)
    assert p.returncode == 0, err
    pid, *argv = out.splitlines()
    assert int(pid) == p.pid, "the binary replaced the python process (exec)"
    assert argv == [command, "--python", sys.executable, "--settings", "site_settings",
                    "--port", "8001", "--no-such-django-flag", "--help"]


def test_manage_py_settings_flag_and_another_directory(project, stand_in, tmp_path):
    p, out, err = manage(project, "serve", "--settings", "other_settings", binary=stand_in, cwd=tmp_path)
    assert p.returncode == 0, err
    # The user's --settings is passed once, as given; the project directory is
    # added because the binary runs in the working directory.
    assert out.splitlines()[1:] == ["serve", "--python", sys.executable, "--pythonpath", str(project.resolve()),
                                    "--settings", "other_settings"]


def test_manage_py_help_serve_shows_the_binary_help(project, stand_in):
    p, out, err = manage(project, "help", "serve", binary=stand_in)
    assert p.returncode == 0, err
    assert out.splitlines()[1:] == ["serve", "--python", sys.executable, "--settings", "site_settings", "--help"]


def test_manage_py_without_a_binary(project):
    p, out, err = manage(project, "serve")
    assert p.returncode == 1
    assert "CommandError: the hurricane binary was not found: install the wheel" in err
    assert "HURRICANE_BINARY" in err

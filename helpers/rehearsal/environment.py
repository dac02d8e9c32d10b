"""A clean Python environment holding only what the package's `requirements.txt` installs — as Azure's build does.

On Azure the remote build runs `pip install -r requirements.txt` into the package's `.python_packages`, on a
machine where nothing else is installed. Here a fresh venv gets the same file, nothing more: not the kit's
`.venv`, not the notebook's packages. A library the app imports but `requirements.txt` does not bring (itself or
as a dependency of what it lists) is then missing, and the rehearsal fails where it would fail on Azure.

uv installs it in about two seconds: it links files from its cache (`--link-mode hardlink`) instead of copying, and
the kit's own installed versions are passed as constraints, so nothing needs downloading and the app gets the
versions the kit was tested with. (Azure resolves the packages requirements.txt does not pin afresh, so it may pick
newer ones: pin what matters.) If `requirements.txt` asks for other versions than the kit's, the install is
resolved again without those constraints, as Azure would.

The embedded host needs a few packages of its own (Starlette, uvicorn, httpx); on Azure the Functions host
brings its own too. They go into a separate folder, the host layer, which comes *after* the app's packages on
the path, so the app always gets its own versions; and the app is imported before that folder is on the path at
all (see `boot.py`), so it cannot lean on the host's packages either.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# What `helpers.host` imports beyond the app's own packages (see the imports in helpers/host/).
HOST_PACKAGES = ("starlette", "uvicorn", "httptools", "uvloop", "httpx")
WINDOWS_ONLY_MISSING = ("uvloop",)
INSTALL_TIMEOUT = 600.0
STAMP = ".rehearsal-environment"
# Where environments are kept between rehearsals, one folder per fingerprint (`make clean` removes .state/).
ENVIRONMENTS = REPO_ROOT / ".state" / "rehearsal-environments"


class EnvironmentBuildError(RuntimeError):
    """The clean environment could not be built; the message says which step and ends with uv's own words."""


@dataclass(frozen=True)
class CleanEnvironment:
    """A venv with only the package's requirements, and the host layer beside it."""

    root: Path
    python: Path
    host_layer: Path
    installed: dict[str, str]  # distribution name -> version, as uv installed them
    seconds: float  # how long building it took (0.0 when an identical one was reused)
    with_kit_versions: bool  # False: requirements.txt needed other versions, resolved without the kit's


def uv_command() -> list[str]:
    """The uv that `make setup` put next to this Python, else one on PATH; never in colour (a Jupyter kernel asks
    command-line tools for colour, and uv would then colour the versions it lists)."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        raise EnvironmentBuildError(
            "the rehearsal builds its clean environment with uv, and there is none next to this Python or on PATH: "
            "run `make setup` (it installs uv into .venv), or `pip install uv`."
        )
    return [found, "--color", "never"]


def _run(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise EnvironmentBuildError(f"{what} did not run: {error}") from error
    if done.returncode != 0:
        raise EnvironmentBuildError(f"{what} failed:\n{(done.stderr or done.stdout).strip()[-3000:]}")
    return done.stdout


def _install(args: list[str], what: str) -> None:
    """`uv pip install` from uv's cache alone first (no network: what `make setup` downloaded is all it needs),
    then, if something is not cached, as usual (from the package index, or the folder UV_FIND_LINKS names)."""
    try:
        _run([*args, "--offline"], what)
    except EnvironmentBuildError:
        _run(args, what)


def kit_versions() -> str:
    """`name==version` of every package installed in the kit's own environment (the constraints)."""
    return _run([*uv_command(), "pip", "freeze", "--exclude-editable", "--python", sys.executable], "uv pip freeze")


def _kit_pins(names: tuple[str, ...], constraints: str) -> list[str]:
    pins = {}
    for line in constraints.splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower()] = version.strip()
    return [f"{name}=={pins[name]}" if name in pins else name for name in names]


def _fingerprint(requirements: Path, constraints: str) -> str:
    digest = hashlib.sha256()
    for part in (requirements.read_bytes(), constraints.encode(), sys.version.encode(), platform.machine().encode()):
        digest.update(part)
    return digest.hexdigest()


def create_environment(
    requirements: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> CleanEnvironment:
    """A fresh venv (`venv/`) with `requirements` installed, and the host layer (`host-layer/`), under `root`.

    Without `root` it goes to `ENVIRONMENTS/<fingerprint>`, where the fingerprint covers requirements.txt, the
    kit's versions and the Python: an environment built from exactly the same inputs is reused as it is (nothing
    the rehearsal runs writes into it), so rehearsing again, or the tests and the lesson, cost no second install.
    It is built in a folder of its own and renamed into place, so two builds at once never meet half-done.
    """
    requirements = Path(requirements)
    constraints = kit_versions()
    fingerprint = _fingerprint(requirements, constraints)
    final = Path(root) if root is not None else ENVIRONMENTS / fingerprint[:16]
    ready = _ready(final, fingerprint)
    if ready is not None:
        return ready
    building = final.with_name(f".{final.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        seconds, with_kit_versions = _build(requirements, constraints, building)
        (building / STAMP).write_text(f"{fingerprint}\n{'kit' if with_kit_versions else 'fresh'}\n", encoding="utf-8")
        ready = _ready(final, fingerprint)  # another build of the same inputs may have finished meanwhile
        if ready is not None:
            shutil.rmtree(building, ignore_errors=True)
            return ready
        shutil.rmtree(final, ignore_errors=True)  # an unfinished build, or one of other inputs
        try:
            building.rename(final)
        except OSError:  # another build finished first: use that one
            shutil.rmtree(building, ignore_errors=True)
            ready = _ready(final, fingerprint)
            if ready is None:
                raise
            return ready
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    python = final / "venv" / "bin" / "python"
    return CleanEnvironment(final, python, final / "host-layer", installed_packages(python), seconds, with_kit_versions)


def _ready(root: Path, fingerprint: str) -> CleanEnvironment | None:
    """The environment at `root`, if one built from the same fingerprint is complete there."""
    stamp = root / STAMP
    python = root / "venv" / "bin" / "python"
    if not (stamp.is_file() and python.exists()):
        return None
    recorded = stamp.read_text(encoding="utf-8").splitlines()
    if len(recorded) < 2 or recorded[0] != fingerprint:
        return None
    return CleanEnvironment(root, python, root / "host-layer", installed_packages(python), 0.0, recorded[1] == "kit")


def _build(requirements: Path, constraints: str, root: Path) -> tuple[float, bool]:
    """Install into `root`; returns (seconds, whether the kit's versions could be kept)."""
    started = time.monotonic()
    venv, layer = root / "venv", root / "host-layer"
    python = venv / "bin" / "python"
    constraints_file = root / "kit-versions.txt"
    constraints_file.write_text(constraints, encoding="utf-8")
    uv = uv_command()
    _run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], "Creating the venv (uv venv)")
    # No --compile-bytecode: compiling every installed module costs more than compiling, on first import, the
    # ones the app uses (boot.py keeps those .pyc files in the environment's own cache folder).
    base = [*uv, "pip", "install", "--quiet", "--python", str(python), "--link-mode", "hardlink"]
    install = [*base, "-r", str(requirements)]
    with_kit_versions = True
    try:
        _install([*install, "-c", str(constraints_file)], "Installing requirements.txt")
    except EnvironmentBuildError as pinned_failure:
        try:  # requirements.txt may pin other versions than the kit's: resolve as Azure would
            _install(install, "Installing requirements.txt")
        except EnvironmentBuildError as failure:
            raise failure from pinned_failure
        with_kit_versions = False
    wanted = [name for name in HOST_PACKAGES if os.name != "nt" or name not in WINDOWS_ONLY_MISSING]
    _install(
        [*base, "--target", str(layer), "-c", str(constraints_file), *_kit_pins(tuple(wanted), constraints)],
        "Installing the embedded host's own packages",
    )
    _link_helpers(layer)
    return time.monotonic() - started, with_kit_versions


def _link_helpers(layer: Path) -> None:
    """Make the kit's `helpers` package (the embedded host's code) importable from the host layer, and only it."""
    target = layer / "helpers"
    try:
        target.symlink_to(REPO_ROOT / "helpers", target_is_directory=True)
    except OSError:  # no symbolic links (some Windows set-ups): a copy does too
        shutil.copytree(REPO_ROOT / "helpers", target, ignore=shutil.ignore_patterns("__pycache__"))


def installed_packages(python: Path) -> dict[str, str]:
    """`name -> version` of what is installed for `python`."""
    listing = _run([*uv_command(), "pip", "freeze", "--python", str(python)], "uv pip freeze")
    packages = {}
    for line in listing.splitlines():
        name, separator, version = line.partition("==")
        if separator:
            packages[name.strip()] = version.strip()
    return packages

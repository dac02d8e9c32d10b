"""The deployment package: the files of the app folder that Azure receives, as a zip, and why the others stay out.

What decides which files ship:

- `.funcignore` in the app folder, read with git's pattern rules (`pathspec`, as azd documents it: "standard
  gitignore syntax"). Azure Functions Core Tools (`func azure functionapp publish`) reads the same file with a
  matcher of its own that anchors every pattern at the folder's top, so `*.pyc` there leaves out top-level files
  only; patterns that name top-level files and folders (`tests`, `local.settings.json`, `models/`) mean the same
  to both.
- What Core Tools never publishes, whatever `.funcignore` says: `.git` and `.vscode` folders, and files named
  `.funcignore`, `.gitignore`, `local.settings.json` and `project.lock.json`, at any depth. The package leaves
  them out too, so a `local.settings.json` with your keys never reaches Azure.
- `.python_packages`: a remote build (Flex Consumption always builds Python apps remotely) installs
  `requirements.txt` into that folder itself, so a local copy is left out.

The zip is the deployment: `az functionapp deployment source config-zip --src <zip> --build-remote true`
uploads it unchanged, and the remote build adds the packages of `requirements.txt`. The rehearsal runs the app
from the zip's unpacked contents, so a file the package lacks is missing there too.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

FUNCIGNORE = ".funcignore"
# What Core Tools' publish leaves out of every package (its FileSystemHelpers.GetLocalFiles), compared without case.
NEVER_PUBLISHED_FOLDERS = (".git", ".vscode")
NEVER_PUBLISHED_FILES = (".funcignore", ".gitignore", "local.settings.json", "project.lock.json")
NEVER_FOLDER = "never published (.git and .vscode folders stay on your machine)"
REMOTE_BUILD_FOLDER = ".python_packages"
# The files an Azure Functions Python app (v2 programming model) cannot run without, at the package's root.
REQUIRED_FILES = ("function_app.py", "host.json", "requirements.txt")
# A fixed timestamp for every zip entry: the same files give the same zip, byte for byte.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PackagedFile:
    """One file of the app folder: its path (relative, with `/`), its size, and why it stays out (None: ships)."""

    path: str
    size: int
    left_out_because: str | None = None

    @property
    def ships(self) -> bool:
        return self.left_out_because is None


@dataclass
class Package:
    """The package built from `app_dir`: the zip, its unpacked contents (`root`), and every file's fate."""

    app_dir: Path
    root: Path
    zip_path: Path
    files: list[PackagedFile] = field(default_factory=list)

    @property
    def shipped(self) -> list[PackagedFile]:
        return [f for f in self.files if f.ships]

    @property
    def left_out(self) -> list[PackagedFile]:
        return [f for f in self.files if not f.ships]

    def why_left_out(self, path: str) -> str | None:
        """Why `path` (relative to the app folder) is not in the package; None if it ships or does not exist."""
        for packaged in self.files:
            if packaged.path == path:
                return packaged.left_out_because
        return None

    def missing_required(self) -> list[str]:
        """One sentence per required file the package lacks, saying why."""
        problems = []
        for name in REQUIRED_FILES:
            if (self.root / name).is_file():
                continue
            reason = self.why_left_out(name)
            problems.append(
                f"{name} is not in the package: {reason}" if reason else f"{name} is missing from {self.app_dir}"
            )
        return problems

    @property
    def zip_bytes(self) -> int:
        return self.zip_path.stat().st_size


def read_funcignore(app_dir: Path) -> list[str]:
    path = Path(app_dir) / FUNCIGNORE
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def decide(relative: str, size: int, spec: pathspec.GitIgnoreSpec, lines: list[str]) -> PackagedFile:
    """Whether one file ships, and if not, why (the rule or the `.funcignore` line that keeps it out)."""
    parts = relative.split("/")
    folders, name = [part.lower() for part in parts[:-1]], parts[-1].lower()
    if any(folder in NEVER_PUBLISHED_FOLDERS for folder in folders):
        return PackagedFile(relative, size, NEVER_FOLDER)
    if name in NEVER_PUBLISHED_FILES:
        return PackagedFile(relative, size, f"never published ({parts[-1]} stays on your machine)")
    if parts[0] == REMOTE_BUILD_FOLDER:
        return PackagedFile(relative, size, "the remote build installs requirements.txt into .python_packages")
    result = spec.check_file(relative)
    if result.include and result.index is not None:
        return PackagedFile(relative, size, f".funcignore line {result.index + 1}: {lines[result.index].strip()}")
    return PackagedFile(relative, size)


def build_package(app_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Package:
    """Zip the files of `app_dir` that Azure receives into `out_dir/<app>.zip`, and unpack it to `out_dir/wwwroot`.

    `out_dir` is emptied first. Symbolic links are followed, as a zip stores their targets.
    """
    app = Path(app_dir).resolve()
    out = Path(out_dir).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lines = read_funcignore(app)
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    files = []
    for folder, subfolders, names in os.walk(app):
        for never in [s for s in subfolders if s.lower() in NEVER_PUBLISHED_FOLDERS]:
            subfolders.remove(never)  # not even looked into, as Core Tools does; listed once, as a folder
            files.append(PackagedFile((Path(folder) / never).relative_to(app).as_posix() + "/", 0, NEVER_FOLDER))
        subfolders.sort()
        for name in sorted(names):
            path = Path(folder) / name
            files.append(decide(path.relative_to(app).as_posix(), path.stat().st_size, spec, lines))
    zip_path = out / f"{app.name}.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for packaged in files:
            if packaged.ships:
                entry = zipfile.ZipInfo(packaged.path, date_time=ZIP_TIMESTAMP)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, (app / packaged.path).read_bytes())
    root = out / "wwwroot"  # where Azure unpacks it too
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root)
    root.mkdir(exist_ok=True)  # an app whose every file is left out still gets an (empty) package folder
    return Package(app, root, zip_path, files)

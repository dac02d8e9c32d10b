"""Rehearse a deployment to Azure offline: the package Azure receives, run the way Azure runs it, on this machine.

    from helpers.rehearsal import rehearse
    rehearsal = rehearse("functions_app", app_settings)   # app_settings: the settings the app gets in Azure
    print(rehearsal)                                      # one ✓/✗ line per step

A file the package leaves out, a library requirements.txt does not install, or a setting host.json needs and the
app settings lack fails here, with the reason and the fix, instead of after deploying. One module per part:
`package` (the zip, `.funcignore`), `environment` (a clean venv with only requirements.txt), `boot` (the host
inside it), `diagnose` (why an import failed), `client` (run both orchestrations over HTTP), `run` (the steps).
`python -m helpers.rehearsal` rehearses `functions_app/` with the settings lesson 11 deploys it with.
"""

from .client import RunResult, run_orchestrations
from .environment import CleanEnvironment, EnvironmentBuildError, create_environment
from .package import Package, PackagedFile, build_package
from .run import Rehearsal, Step, rehearse, settings_host_json_needs

__all__ = [
    "CleanEnvironment",
    "EnvironmentBuildError",
    "Package",
    "PackagedFile",
    "Rehearsal",
    "RunResult",
    "Step",
    "build_package",
    "create_environment",
    "rehearse",
    "run_orchestrations",
    "settings_host_json_needs",
]

"""The first line of every lesson: on a Python without the kit, stop with one line that says which kernel to pick.

    import kernel_check  # the notebook's first cell

On the kit's kernel, "Python (durable agents kit)" (the `.venv` that `make setup` creates and registers with
Jupyter), this imports the kit and does nothing else. On any other Python -- JupyterLab's default `python3`, an
interpreter VS Code picked -- the lesson's next line, `from helpers import lab`, would fail with a
ModuleNotFoundError and a traceback that names neither the kernel nor the fix. This says both, in one line,
and stops the notebook there.

It must import on any Python 3, so it uses the standard library only. The notebook's folder is the kernel's
working directory, which is how `import kernel_check` finds this file (notebooks/solutions/ links to it).
"""

import sys

KIT_KERNEL = "Python (durable agents kit)"


class WrongKernel(Exception):
    """Shown by IPython as its one-line message: `_render_traceback_` replaces the traceback."""

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


def wrong_kernel_message(python, reason):
    return (
        f"This notebook needs the kit's Python, and this kernel runs {python} ({reason}): pick the kernel "
        f'"{KIT_KERNEL}" (Kernel > Change Kernel...); if it is not listed, run `make setup` in the kit\'s '
        "folder, which registers it."
    )


try:
    import helpers.lab  # noqa: F401  (the kit's notebook toolbox, which the lesson imports next)
except ImportError as error:
    raise WrongKernel(wrong_kernel_message(sys.executable, error)) from None

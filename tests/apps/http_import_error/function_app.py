"""An app whose import fails: the host must refuse to start and say why."""

import azure.functions as func
import module_that_does_not_exist  # noqa: F401

app = func.FunctionApp()

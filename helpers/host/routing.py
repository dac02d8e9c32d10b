"""HTTP trigger routes: ASP.NET Core route templates, matched the way the Functions host matches them.

Supported template syntax (the subset Azure Functions apps use):
  literal segments (case-insensitive)      `singleagent/run`
  parameters                               `status/{instanceId}`
  optional trailing parameters             `hello/{name?}`
  defaults                                 `page/{n=1}`
  constraints, combinable                  `{id:int}`, `{id:int:min(1)}`, `{code:length(3)}`, `{x:regex(^a.*$)}`
  catch-all                                `files/{*path}`

Routes are tried most-specific first (literal segments beat parameters, constrained beat unconstrained,
catch-alls last), which is what ASP.NET's route precedence achieves for these templates.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


class RouteTemplateError(ValueError):
    """A route template cannot be parsed; raised at start-up so a bad route never half-works."""


_PARAMETER = re.compile(r"\{([^{}]+)\}")
_CONSTRAINT = re.compile(r"(\w+)(?:\((.*)\))?$", re.DOTALL)


def _number_check(convert: Callable[[str], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            convert(value)
        except ValueError:
            return False
        return True

    return check


def _bool(value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise ValueError(value)
    return True


_SIMPLE_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**31) <= int(v) < 2**31,
    "long": lambda v: re.fullmatch(r"-?\d+", v) is not None and -(2**63) <= int(v) < 2**63,
    "bool": _number_check(_bool),
    "guid": _number_check(uuid.UUID),
    "alpha": lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "decimal": _number_check(float),
    "double": _number_check(float),
    "float": _number_check(float),
    "datetime": _number_check(datetime.fromisoformat),
    "nonfile": lambda v: "." not in v,
}


def _constraint(spec: str) -> Callable[[str], bool]:
    match = _CONSTRAINT.match(spec)
    if not match:
        raise RouteTemplateError(f"bad route constraint '{spec}'")
    name, argument = match.group(1).lower(), match.group(2)
    if argument is None:
        if name not in _SIMPLE_CONSTRAINTS:
            raise RouteTemplateError(f"unknown route constraint '{spec}'")
        return _SIMPLE_CONSTRAINTS[name]
    if name == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    try:
        numbers = [int(part) for part in argument.split(",")]
    except ValueError:
        raise RouteTemplateError(f"bad route constraint '{spec}'") from None
    is_int = _SIMPLE_CONSTRAINTS["long"]
    bounded: dict[str, Callable[[str], bool]] = {
        "min": lambda v: is_int(v) and int(v) >= numbers[0],
        "max": lambda v: is_int(v) and int(v) <= numbers[0],
        "range": lambda v: is_int(v) and numbers[0] <= int(v) <= numbers[-1],
        "minlength": lambda v: len(v) >= numbers[0],
        "maxlength": lambda v: len(v) <= numbers[0],
        "length": lambda v: (len(v) == numbers[0]) if len(numbers) == 1 else numbers[0] <= len(v) <= numbers[1],
    }
    if name not in bounded:
        raise RouteTemplateError(f"unknown route constraint '{spec}'")
    return bounded[name]


@dataclass(frozen=True)
class _Parameter:
    name: str
    group: str
    optional: bool
    default: str | None
    catch_all: bool
    checks: tuple[Callable[[str], bool], ...]


@dataclass(frozen=True)
class RouteTemplate:
    """One compiled template: `match(path)` returns the route values or None."""

    template: str
    regex: re.Pattern[str]
    parameters: tuple[_Parameter, ...]
    precedence: tuple[int, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        text = template.strip("/")
        pattern, precedence = "", []
        parameters: list[_Parameter] = []
        for index, segment in enumerate(text.split("/") if text else []):
            if not segment:
                raise RouteTemplateError(f"route '{template}' has an empty segment")
            segment_pattern, segment_rank = "", 0
            only_parameter = _PARAMETER.fullmatch(segment)
            position = 0
            for match in _PARAMETER.finditer(segment):
                segment_pattern += cls._literal(segment[position : match.start()], template)
                parameter = cls._parse_parameter(match.group(1), f"p{len(parameters)}", template)
                parameters.append(parameter)
                any_text = ".*" if parameter.catch_all else "[^/]+"
                segment_pattern += f"(?P<{parameter.group}>{any_text})"
                rank = 4 if parameter.catch_all else 3 if parameter.optional else 2 if not parameter.checks else 1
                segment_rank = max(segment_rank, rank)
                position = match.end()
            segment_pattern += cls._literal(segment[position:], template)
            separator = "/" if index else ""
            if only_parameter and (parameters[-1].optional or parameters[-1].catch_all):
                pattern += f"(?:{separator}{segment_pattern})?"
            else:
                pattern += separator + segment_pattern
            precedence.append(segment_rank)
        regex = re.compile(f"^{pattern}/?$", re.IGNORECASE | re.DOTALL)
        return cls(text, regex, tuple(parameters), tuple(precedence) + (5,))

    @staticmethod
    def _literal(text: str, template: str) -> str:
        if "{" in text or "}" in text:
            raise RouteTemplateError(f"route '{template}' has an unbalanced or empty '{{...}}'")
        return re.escape(text)

    @staticmethod
    def _parse_parameter(body: str, group: str, template: str) -> _Parameter:
        catch_all = body.startswith("*")
        body = body.lstrip("*")
        default = None
        if "=" in body:
            body, default = body.split("=", 1)
        optional = body.endswith("?")
        body = body.rstrip("?")
        name, *constraints = body.split(":")
        if not name or not re.fullmatch(r"[\w.-]+", name):
            raise RouteTemplateError(f"route '{template}' has a bad parameter name '{{{body}}}'")
        checks = tuple(_constraint(spec) for spec in constraints)
        return _Parameter(name, group, optional or default is not None, default, catch_all, checks)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path.strip("/"))
        if not found:
            return None
        values: dict[str, str] = {}
        for parameter in self.parameters:
            value = found.group(parameter.group)
            if value is None or value == "":
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                elif not (parameter.optional or parameter.catch_all):
                    return None
                continue
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    target: T | None  # None when the path matched but the method did not
    route_params: dict[str, str]
    allowed_methods: frozenset[str]


class Router(Generic[T]):
    """Maps (method, path) to a target; methods are upper-case, an empty set allows every method."""

    def __init__(self) -> None:
        self._routes: list[tuple[RouteTemplate, frozenset[str], T]] = []

    def add(self, template: str, methods: Iterable[str], target: T) -> None:
        self._routes.append((RouteTemplate.parse(template), frozenset(m.upper() for m in methods), target))
        self._routes.sort(key=lambda route: route[0].precedence)

    def match(self, method: str, path: str) -> RouteMatch[T] | None:
        allowed: set[str] = set()
        for template, methods, target in self._routes:
            values = template.match(path)
            if values is None:
                continue
            if not methods or method.upper() in methods:
                return RouteMatch(target, values, methods)
            allowed |= methods
        if allowed:
            return RouteMatch(None, {}, frozenset(allowed))
        return None

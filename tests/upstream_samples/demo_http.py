"""Read a demo.http file the way VS Code's REST Client does, as far as Agent Framework's samples use it.

- `###` lines separate requests (their text is a comment); `#` and `//` lines in a block are comments, except
  `# @name NAME`, which names the request so later ones can use its answer: `{{NAME.response.body.$.field}}`,
  `{{NAME.response.headers.Header-Name}}`.
- `@name = value` lines define file variables, used as `{{name}}` anywhere (values may use other variables).
- A request is `METHOD URL [HTTP/1.1]`, header lines up to the first blank line, then the body.

Variables are resolved when a request is sent (replay.py), because some of them come from earlier answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
REQUEST_LINE = re.compile(rf"(?P<method>{'|'.join(METHODS)})\s+(?P<url>\S+)(?:\s+HTTP/[\d.]+)?")
FILE_VARIABLE = re.compile(r"@(?P<name>[\w.-]+)\s*=\s*(?P<value>.*)")
REQUEST_NAME = re.compile(r"(?:#|//)\s*@name\s+(?P<name>\w+)")
HEADER = re.compile(r"(?P<name>[\w-]+)\s*:\s*(?P<value>.*)")


@dataclass
class DemoRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    name: str | None = None

    @property
    def text(self) -> str:
        """The request as written; selectors (replay.py) pick a request by a piece of this."""
        headers = "".join(f"{name}: {value}\n" for name, value in self.headers.items())
        return f"{self.method} {self.url}\n{headers}\n{self.body}"

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


@dataclass
class DemoHttp:
    requests: list[DemoRequest]
    variables: dict[str, str]


def read(path: Path) -> DemoHttp:
    return parse(path.read_text(encoding="utf-8"))


def parse(text: str) -> DemoHttp:
    variables: dict[str, str] = {}
    requests: list[DemoRequest] = []
    block: list[str] = []
    for line in [*text.splitlines(), "###"]:
        if line.startswith("###"):
            request = _request(block, variables)
            if request is not None:
                requests.append(request)
            block = []
        else:
            block.append(line)
    return DemoHttp(requests, variables)


def _request(lines: list[str], variables: dict[str, str]) -> DemoRequest | None:
    """The request in one block, if it has one; its file variables go into `variables`."""
    name = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if named := REQUEST_NAME.fullmatch(stripped):
            name = named["name"]
        elif stripped.startswith(("#", "//")):
            continue
        elif variable := FILE_VARIABLE.fullmatch(stripped):
            variables[variable["name"]] = variable["value"].strip()
        elif request_line := REQUEST_LINE.fullmatch(stripped):
            request = DemoRequest(request_line["method"], request_line["url"], name=name)
            rest = lines[index + 1 :]
            while rest and (header := HEADER.fullmatch(rest[0].strip())):
                request.headers[header["name"]] = header["value"].strip()
                rest = rest[1:]
            request.body = "\n".join(rest).strip()
            return request
        else:
            raise ValueError(f"demo.http: a line that is no request, comment or variable: {line!r}")
    return None

"""Route templates match like ASP.NET's: literals first, constraints, optional and catch-all parameters."""

import pytest

from helpers.host.routing import Router, RouteTemplate, RouteTemplateError


@pytest.fixture
def router() -> Router[str]:
    router: Router[str] = Router()
    for template, methods in [
        ("items/{slug}", ["GET"]),
        ("items/new", ["GET"]),
        ("items/{id:int}", ["GET", "DELETE"]),
        ("greet/{name?}", []),
        ("files/{*path}", ["GET"]),
        ("page/{n:int=1}", ["GET"]),
        ("codes/{code:length(3)}", ["GET"]),
    ]:
        router.add(template, methods, template)
    return router


@pytest.mark.parametrize(
    ("path", "template", "values"),
    [
        ("items/new", "items/new", {}),
        ("ITEMS/NEW", "items/new", {}),
        ("items/42", "items/{id:int}", {"id": "42"}),
        ("items/-7", "items/{id:int}", {"id": "-7"}),
        ("items/99999999999", "items/{slug}", {"slug": "99999999999"}),  # beyond int32: not an int
        ("items/shoe", "items/{slug}", {"slug": "shoe"}),
        ("Items/Shoe/", "items/{slug}", {"slug": "Shoe"}),
        ("greet", "greet/{name?}", {}),
        ("greet/Ann", "greet/{name?}", {"name": "Ann"}),
        ("files/a/b/c.txt", "files/{*path}", {"path": "a/b/c.txt"}),
        ("page", "page/{n:int=1}", {"n": "1"}),
        ("page/3", "page/{n:int=1}", {"n": "3"}),
        ("codes/abc", "codes/{code:length(3)}", {"code": "abc"}),
    ],
)
def test_paths_reach_the_most_specific_route(router: Router[str], path: str, template: str, values: dict) -> None:
    match = router.match("GET", path)
    assert match is not None and match.target == template
    assert match.route_params == values


@pytest.mark.parametrize("path", ["items", "items/a/b", "codes/abcd", "page/x", "nothing", "greet/a/b"])
def test_paths_without_a_route_do_not_match(router: Router[str], path: str) -> None:
    assert router.match("GET", path) is None


def test_wrong_method_reports_the_allowed_ones(router: Router[str]) -> None:
    match = router.match("POST", "items/42")
    assert match is not None and match.target is None
    assert match.allowed_methods == {"GET", "DELETE"}
    assert router.match("delete", "items/42").target == "items/{id:int}"  # methods are case-insensitive


def test_route_without_methods_accepts_every_method(router: Router[str]) -> None:
    assert router.match("PATCH", "greet/x").target == "greet/{name?}"


@pytest.mark.parametrize("template", ["a/{id:nosuch}", "a//b", "a/{}", "a/{id:min(x)}"])
def test_bad_templates_are_rejected_up_front(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate.parse(template)

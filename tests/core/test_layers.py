"""What import-linter cannot see: references by string. A dotted path (settings, middleware lists) and a page named
in reverse(), redirect() or {% url %} must point at the same app or at a layer below, as imports must. The layers
are the import-linter contract's, read from pyproject.toml."""

import importlib
import re
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern

from config.urls import pages

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "stocktrace"
CONTRACT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
# The page layout's account corner (home, organization switcher, password, log out) names accounts' pages, and the
# kit's error pages link home: the one place the kit links upwards.
LAYOUT_LINKS = {("web", "home"), ("web", "organization_switch"), ("web", "password_change"), ("web", "logout")}


def _layers() -> list[set[str]]:
    return [{name.strip() for name in re.split(r"[|:]", layer)} for layer in CONTRACT["layers"]]


def _app_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return ".".join(parts[:2]) if parts[0] == "stocktrace" and len(parts) > 1 else parts[0]


def _may_use(user: str, used: str) -> bool:
    """An app may use itself and any app of a lower layer; not one of its own layer (siblings are independent)."""
    if user == used:
        return True
    layers = _layers()
    level = {app: index for index, layer in enumerate(layers) for app in layer}
    if user not in level or used not in level:
        return True  # Django and third-party apps
    return level[used] > level[user]


def _owner_of_page(url_name: str) -> str:
    for pattern in pages:
        if isinstance(pattern, URLPattern) and pattern.name == url_name:
            return _app_of(pattern.callback.__module__)
    raise AssertionError(f"no page is named {url_name!r}")


def _sources():
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix in (".py", ".html", ".txt") and "migrations" not in path.parts:
            yield path, "stocktrace." + path.relative_to(PACKAGE).parts[0]


def test_the_layer_check_reads_the_contract():
    assert _may_use("stocktrace.inventory", "stocktrace.tenancy")
    assert not _may_use("stocktrace.tenancy", "stocktrace.inventory")
    assert not _may_use("stocktrace.webhooks", "stocktrace.imports")  # siblings
    assert _may_use("config", "stocktrace.webhooks")


def test_every_app_has_its_place_in_the_layers():
    """An app missing from the contract would be checked by nothing."""
    named = set().union(*_layers())
    assert [app for app in settings.STOCKTRACE_APPS if app not in named] == []


def test_dotted_paths_in_the_code_point_down():
    found = 0
    for path, app in _sources():
        if path.suffix != ".py":
            continue
        for dotted in re.findall(r"[\"'](stocktrace\.[a-z_]+\.[A-Za-z_.]+)[\"']", path.read_text()):
            found += 1
            assert _may_use(app, _app_of(dotted)), f"{path.relative_to(ROOT)} names {dotted}, above {app}"
    assert found >= 2  # core/wsgi.py's short middleware chain


@pytest.mark.parametrize("name", ["MIDDLEWARE", "TEMPLATES", "AXES_LOCKOUT_CALLABLE", "AXES_CLIENT_IP_CALLABLE",
                                  "LOGGING_CONFIG", "ROOT_URLCONF", "WSGI_APPLICATION"])
def test_dotted_paths_in_settings_exist(name):
    value = getattr(settings, name)
    paths = re.findall(r"(?:stocktrace|config)\.[A-Za-z_.]+", repr(value))
    assert paths
    for dotted in paths:
        module, _, attribute = dotted.rpartition(".")
        try:
            assert hasattr(importlib.import_module(module), attribute), dotted
        except ModuleNotFoundError:
            importlib.import_module(dotted)


def test_pages_named_in_code_and_templates_belong_to_the_same_app_or_below():
    found = 0
    for path, app in _sources():
        text = path.read_text()
        names = re.findall(r"(?:reverse|reverse_lazy|redirect)\(\s*f?[\"'](\w+):(\w+)", text)
        names += re.findall(r"\{%\s*url\s+[\"'](\w+):(\w+)[\"']", text)
        for namespace, url_name in names:
            found += 1
            if namespace != "web" or (app == "stocktrace.web" and (namespace, url_name) in LAYOUT_LINKS):
                continue
            owner = _owner_of_page(url_name)
            assert _may_use(app, owner), f"{path.relative_to(ROOT)} links to {url_name} of {owner}, above {app}"
    assert found > 100

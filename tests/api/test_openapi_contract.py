"""The OpenAPI document is the contract (#11): the document as served at /api/v1/openapi.json is valid
OpenAPI 3.1 (openapi-spec-validator), every operation has an operationId of its own, every `$ref` resolves,
and every component is used by some operation. Clients are generated from this document
(tests/api/test_generated_client.py does it), so each failure here names what is wrong in it."""

import json
from collections import Counter

import pytest
from django.test import Client
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing.exceptions import Unresolvable

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def document(db) -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def operations(document: dict) -> list[tuple[str, dict]]:
    """("GET /api/v1/items", operation) for every operation of the document."""
    return [(f"{method.upper()} {path}", operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


def refs(node, where: str = "#") -> list[tuple[str, str]]:
    """Every `$ref` under node, with the JSON pointer of the object holding it."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append((where, value))
            else:
                found.extend(refs(value, f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(refs(value, f"{where}/{index}"))
    return found


def resolve(document: dict, ref: str):
    """The node a local reference (`#/components/schemas/Item`) points at; KeyError when there is none."""
    if not ref.startswith("#/"):
        raise KeyError(f"not a reference inside the document: {ref}")
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def test_the_served_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1."), f"checked as OpenAPI 3.1, but it says {document['openapi']}"
    problems = []
    try:
        for error in OpenAPIV31SpecValidator(document).iter_errors():
            where = "/".join(str(part) for part in error.absolute_path) or "(document)"
            problems.append(f"{where}: {error.message.splitlines()[0]}")
    except Unresolvable as error:  # the validator stops at a reference to nothing rather than listing it
        problems.append(f"a $ref the validator cannot follow: {error.ref} (see test_every_reference_resolves)")
    except RecursionError:
        # openapi-spec-validator 0.9 collects the property names under an allOf without remembering where it has
        # been, so a schema that contains itself (through `items`, say) and is reached through an allOf loops.
        problems.append("openapi-spec-validator did not finish (RecursionError): a schema that refers to itself is "
                        "reached through an allOf (pydantic's `allOf: [{$ref}]` for a field with a description); "
                        "a plain `$ref` beside the description is valid OpenAPI 3.1 and checks")
    assert not problems, "openapi-spec-validator does not pass the document:\n" + "\n".join(problems)


def test_every_operation_has_an_operation_id_of_its_own(document):
    ops = operations(document)
    assert len(ops) > 50, "fewer operations than expected: is this the whole document?"
    missing = [key for key, operation in ops if not operation.get("operationId")]
    assert not missing, f"operations without an operationId: {missing}"
    counts = Counter(operation["operationId"] for _, operation in ops)
    shared = {op_id: [key for key, operation in ops if operation["operationId"] == op_id]
              for op_id, count in counts.items() if count > 1}
    assert not shared, f"operationIds used by more than one operation: {shared}"


def test_every_reference_resolves(document):
    dangling = []
    for where, ref in refs(document):
        try:
            resolve(document, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            dangling.append(f"{where}: {ref}")
    assert not dangling, "references that point at nothing in the document:\n" + "\n".join(dangling)


def test_every_component_is_used(document):
    """A component no operation reaches (directly, or through other components) is dead weight that
    generators still turn into classes; it usually means the document says something the API does not do."""
    components = document.get("components", {})
    reached: set[str] = set()
    outside = {key: value for key, value in document.items() if key != "components"}
    todo = [ref for _, ref in refs(outside)]
    while todo:
        ref = todo.pop()
        if ref in reached or not ref.startswith("#/components/"):
            continue
        reached.add(ref)
        try:
            todo.extend(r for _, r in refs(resolve(document, ref)))
        except (KeyError, IndexError, ValueError, TypeError):
            pass  # test_every_reference_resolves reports it
    schemes_used = {name for requirement in document.get("security", []) for name in requirement}
    schemes_used |= {name for _, operation in operations(document)
                     for requirement in operation.get("security", []) for name in requirement}
    unused = {}
    for kind, members in components.items():
        if kind == "securitySchemes":
            names = sorted(set(members) - schemes_used)
        else:
            names = sorted(name for name in members if f"#/components/{kind}/{name}" not in reached)
        if names:
            unused[kind] = names
    assert not unused, "components that no operation uses: " + "; ".join(
        f"{kind} ({len(names)}): {', '.join(names)}" for kind, names in unused.items())

"""Checks against openapi.yaml: the documented routes, and JSON validation
of responses against the document's schemas.

- documented_routes(path) -> {(METHOD, template)}: compare with the router's
  table (front/routes.cpp); templates use the router's `{name}` syntax.
- validate(instance, schema_ref) raises ValidationError when `instance` does
  not match the schema at `schema_ref` ("#/components/schemas/TokenResponse",
  or just "TokenResponse"); errors(...) returns the problems as a list.
- response_schema_ref(method, template, status) finds the schema of one
  documented response, so a test can check what the service really sent.

Uses python3-jsonschema when it is installed; otherwise a small validator for
exactly the JSON Schema subset the document uses ($ref, type including type
arrays, properties, required, additionalProperties, items, minItems/maxItems,
enum, const, minimum/maximum, minLength/maxLength, pattern, lenient email/uri
formats, allOf/anyOf/oneOf). That validator refuses keywords it does not
know, so the document cannot start relying on one unnoticed. Needs only
python3-yaml (Debian) besides the standard library.
"""
import functools
import json
import math
import pathlib
import re

import yaml

DEFAULT_DOCUMENT = pathlib.Path(__file__).resolve().parents[2] / "openapi.yaml"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
                "trace")

try:  # pragma: no cover - depends on the machine
    import jsonschema as _jsonschema
except ImportError:  # pragma: no cover
    _jsonschema = None


class ValidationError(AssertionError):
    """An instance does not match a schema; `problems` lists every reason."""

    def __init__(self, schema_ref, problems):
        self.schema_ref = schema_ref
        self.problems = list(problems)
        super().__init__(f"{schema_ref}: " + "; ".join(self.problems))


class UnsupportedSchema(Exception):
    """The document uses a keyword this module's validator does not implement."""


@functools.lru_cache(maxsize=None)
def _load_cached(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load(path=None):
    """The parsed document (cached per path). Treat it as read-only."""
    return _load_cached(str(pathlib.Path(path or DEFAULT_DOCUMENT).resolve()))


def documented_routes(path=None, fold_head=False):
    """Every documented operation as (METHOD, path template).

    With fold_head=True, a HEAD operation is left out when the same path also
    documents GET, since the router answers HEAD on every GET route without a
    separate entry.
    """
    doc = load(path)
    routes = set()
    for template, item in (doc.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                routes.add((method.upper(), template))
    if fold_head:
        routes = {(m, t) for (m, t) in routes
                  if not (m == "HEAD" and ("GET", t) in routes)}
    return routes


def _escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def _resolve_pointer(doc, ref):
    if not ref.startswith("#"):
        raise UnsupportedSchema(f"only local references are supported: {ref}")
    node = doc
    for raw in ref[1:].split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise KeyError(f"unresolvable reference {ref}")
    return node


def _normalize_ref(schema_ref):
    if schema_ref.startswith("#"):
        return schema_ref
    return "#/components/schemas/" + _escape(schema_ref)


def response_schema_ref(method, template, status,
                        media_type="application/json", path=None):
    """The JSON pointer of the schema of a documented response.

    Follows a `$ref` to components/responses. Raises KeyError when the
    operation, status or media type is not documented.
    """
    doc = load(path)
    base = f"#/paths/{_escape(template)}/{method.lower()}/responses/{status}"
    response = _resolve_pointer(doc, base)
    while "$ref" in response:
        base = response["$ref"]
        response = _resolve_pointer(doc, base)
    if media_type not in response.get("content", {}):
        raise KeyError(f"{method} {template} {status}: no {media_type} body")
    return f"{base}/content/{_escape(media_type)}/schema"


# -- the validator -------------------------------------------------------------

# Keywords that only annotate; they never make an instance invalid.
_ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "example", "deprecated",
    "readOnly", "writeOnly", "$comment", "externalDocs", "xml",
})

_ASSERTIONS = frozenset({
    "$ref", "type", "properties", "required", "additionalProperties", "items",
    "minItems", "maxItems", "enum", "const", "minimum", "maximum",
    "minLength", "maxLength", "pattern", "format", "allOf", "anyOf", "oneOf",
})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$")


def _format_ok(fmt, value):
    """Lenient format checks: catch garbage, not every RFC corner."""
    if fmt == "email":
        return bool(_EMAIL.match(value))
    if fmt == "uri":
        return bool(_URI.match(value))
    return True  # unknown formats annotate only (JSON Schema 2020-12 default)


def _type_ok(name, value):
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (
            isinstance(value, float) and math.isfinite(value)
            and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise UnsupportedSchema(f"unknown type {name!r}")


def _json_equal(a, b):
    """JSON equality: true is not 1, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class _Validator:
    def __init__(self, doc):
        self.doc = doc

    def check(self, schema, value, where, out):
        if schema is True or schema == {}:
            return
        if schema is False:
            out.append(f"{where}: no value is allowed here")
            return
        unknown = set(schema) - _ANNOTATIONS - _ASSERTIONS
        unknown = {k for k in unknown if not k.startswith("x-")}
        if unknown:
            raise UnsupportedSchema(
                f"unsupported keyword(s) {sorted(unknown)} at {where}")

        if "$ref" in schema:
            self.check(_resolve_pointer(self.doc, schema["$ref"]), value,
                       where, out)

        if "type" in schema:
            types = schema["type"]
            types = types if isinstance(types, list) else [types]
            if not any(_type_ok(t, value) for t in types):
                out.append(f"{where}: expected {' or '.join(types)}, "
                           f"got {json.dumps(value)[:80]}")
                return  # the other keywords would only repeat the problem

        if "enum" in schema and not any(
                _json_equal(value, e) for e in schema["enum"]):
            out.append(f"{where}: {json.dumps(value)[:80]} is not one of "
                       f"{schema['enum']}")
        if "const" in schema and not _json_equal(value, schema["const"]):
            out.append(f"{where}: expected {json.dumps(schema['const'])}")

        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{where}: {value} < minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{where}: {value} > maximum {schema['maximum']}")

        if isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                out.append(f"{where}: shorter than {schema['minLength']}")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                out.append(f"{where}: longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{where}: {value[:80]!r} does not match "
                           f"{schema['pattern']}")
            if "format" in schema and not _format_ok(schema["format"], value):
                out.append(f"{where}: {value[:80]!r} is not a valid "
                           f"{schema['format']}")

        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                out.append(f"{where}: fewer than {schema['minItems']} items")
            if "maxItems" in schema and len(value) > schema["maxItems"]:
                out.append(f"{where}: more than {schema['maxItems']} items")
            if "items" in schema:
                for i, item in enumerate(value):
                    self.check(schema["items"], item, f"{where}[{i}]", out)

        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{where}: missing required {name!r}")
            for name, item in value.items():
                if name in props:
                    self.check(props[name], item, f"{where}.{name}", out)
                elif "additionalProperties" in schema:
                    extra = schema["additionalProperties"]
                    if extra is False:
                        out.append(f"{where}: unexpected property {name!r}")
                    else:
                        self.check(extra, item, f"{where}.{name}", out)

        for sub in schema.get("allOf", []):
            self.check(sub, value, where, out)
        if "anyOf" in schema:
            if not any(self._passes(s, value, where) for s in schema["anyOf"]):
                out.append(f"{where}: matches none of anyOf")
        if "oneOf" in schema:
            hits = sum(self._passes(s, value, where) for s in schema["oneOf"])
            if hits != 1:
                out.append(f"{where}: matches {hits} of oneOf, not exactly 1")

    def _passes(self, schema, value, where):
        out = []
        self.check(schema, value, where, out)
        return not out


def _jsonschema_errors(doc, ref, instance):  # pragma: no cover - optional
    checker = _jsonschema.FormatChecker(formats=())
    for fmt in ("email", "uri"):
        checker.checks(fmt)(functools.partial(
            lambda f, v: not isinstance(v, str) or _format_ok(f, v), fmt))
    # The whole document is the root resource, so "#/components/..." and
    # "#/paths/..." pointers resolve; OpenAPI's own keys are just unknown
    # keywords to a JSON Schema validator.
    root = dict(doc)
    root["$ref"] = ref
    validator = _jsonschema.Draft202012Validator(root, format_checker=checker)
    return [f"${''.join(f'[{p!r}]' for p in e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(instance)]


def errors(instance, schema_ref, path=None, use_jsonschema=None):
    """Every reason `instance` does not match `schema_ref` ([] when it does).

    use_jsonschema: None = when installed, True/False to force a choice.
    """
    doc = load(path)
    ref = _normalize_ref(schema_ref)
    _resolve_pointer(doc, ref)  # a wrong ref is a KeyError, not "valid"
    if use_jsonschema is None:
        use_jsonschema = _jsonschema is not None
    if use_jsonschema:
        return _jsonschema_errors(doc, ref, instance)
    out = []
    _Validator(doc).check({"$ref": ref}, instance, "$", out)
    return out


def validate(instance, schema_ref, path=None):
    """Raises ValidationError unless `instance` matches the schema."""
    problems = errors(instance, schema_ref, path)
    if problems:
        raise ValidationError(_normalize_ref(schema_ref), problems)


def _schemas_in(node, where="#"):
    """(where, schema) for every schema object in the document, nested ones
    included, so keyword support is checked even where no example reaches."""
    if isinstance(node, dict):
        for key, child in node.items():
            at = f"{where}/{_escape(str(key))}"
            if key == "schema" or (where == "#/components" and key == "schemas"):
                found = [(at, child)] if key == "schema" else [
                    (f"{at}/{_escape(n)}", s) for n, s in child.items()]
                for w, s in found:
                    yield from _subschemas(s, w)
            elif key != "examples" and key != "example":
                yield from _schemas_in(child, at)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _schemas_in(child, f"{where}/{i}")


def _subschemas(schema, where):
    if not isinstance(schema, dict):
        return
    yield where, schema
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _subschemas(schema[key], f"{where}/{key}")
    for name, sub in schema.get("properties", {}).items():
        yield from _subschemas(sub, f"{where}/properties/{_escape(name)}")
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _subschemas(sub, f"{where}/{key}/{i}")


def unsupported_keywords(path=None):
    """[(where, keyword)] for schema keywords the built-in validator lacks."""
    known = _ANNOTATIONS | _ASSERTIONS
    return [(w, k) for w, s in _schemas_in(load(path)) for k in s
            if k not in known and not k.startswith("x-")]


def _documented_examples(doc):
    """(where, schema pointer, example value) for every media-type example."""
    for template, item in doc["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if not op:
                continue
            base = f"#/paths/{_escape(template)}/{method}"
            bodies = []
            if "requestBody" in op:
                bodies.append((f"{base}/requestBody", op["requestBody"]))
            for status, resp in op["responses"].items():
                bodies.append((f"{base}/responses/{status}", resp))
            for where, body in bodies:
                yield from _media_examples(doc, where, body)
    for name, resp in doc["components"].get("responses", {}).items():
        yield from _media_examples(doc, f"#/components/responses/{name}", resp)


def _media_examples(doc, where, body):
    if "$ref" in body:
        return  # checked where the component is defined
    for media, content in body.get("content", {}).items():
        if not (media.startswith("application/json")
                or media == "application/x-www-form-urlencoded"):
            continue
        schema_ptr = f"{where}/content/{_escape(media)}/schema"
        for name, ex in (content.get("examples") or {}).items():
            if "$ref" in ex:
                ex = _resolve_pointer(doc, ex["$ref"])
            yield f"{where} {media} example {name}", schema_ptr, ex["value"]


if __name__ == "__main__":
    doc = load()
    example = _resolve_pointer(doc, "#/components/examples/TokenResponse")
    token = example["value"]
    validate(token, "TokenResponse")
    validate(token, response_schema_ref("POST", "/v1/auth/email/verify-code",
                                        200))

    # The validator must also say no.
    broken = dict(token, token_type="bearer")
    del broken["session_id"]
    for engine in (False, True) if _jsonschema else (False,):
        problems = errors(broken, "TokenResponse", use_jsonschema=engine)
        assert any("session_id" in p for p in problems), problems
        assert any("token_type" in p or "bearer" in p for p in problems), \
            problems
    assert errors(dict(token, extra=1), "TokenResponse",
                  use_jsonschema=False), "additionalProperties: false ignored"
    assert errors({"error": {"code": "nope", "message": "m", "request_id": "r"}},
                  "Error", use_jsonschema=False)

    assert not unsupported_keywords(), unsupported_keywords()

    # Every JSON example in the document matches its schema, with this
    # module's validator (and with jsonschema too when it is installed).
    count = 0
    for where, ptr, value in _documented_examples(doc):
        problems = errors(value, ptr, use_jsonschema=False)
        assert not problems, (where, problems)
        if _jsonschema is not None:
            problems = errors(value, ptr, use_jsonschema=True)
            assert not problems, (where, problems)
        count += 1

    routes = documented_routes()
    assert ("GET", "/v1/me/sessions") in routes
    assert ("HEAD", "/v1/auth/email/link") not in documented_routes(
        fold_head=True)
    print(f"ok: {len(routes)} documented routes, {count} JSON examples valid"
          f" ({'jsonschema and ' if _jsonschema else ''}built-in validator)")

"""Compact JSON Schemas for tools/list.

Hosts put every tool's schema into the model's context on every turn, so bytes
there cost tokens forever. Pydantic's schemas carry artifacts the model does not
need: a ``title`` on every property and ``anyOf`` with ``null`` for optional
fields. This rewrites them to equivalent, shorter JSON Schema 2020-12.

An input whose default is ``null`` is one the model leaves out to mean "none": its
schema says only what a given value must be (``"type": "string"``, not ``["string",
"null"]``). The tool still takes an explicit ``null`` as the same as leaving it out;
the schema just does not spend bytes offering it. Likewise a flag is off unless given:
a boolean input's ``"default": false`` goes without saying, and an id's length (the
server checks it) is not said.
"""

from typing import Any

# Keywords whose value maps names to subschemas (the names themselves are not keywords).
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
# Keywords whose value is a list of subschemas.
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
# Keywords whose value is one subschema.
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def compact(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    """The same schema, shorter.

    For a result's schema (``output``), defaults mean nothing, only the envelope
    keeps ``required``, and enums become strings: the entities inside are always
    sent whole, and their value sets are already in the input schemas, so repeating
    them in every result buys the model nothing.
    """
    result = _compact(schema if output else _omitted_not_null(schema), output=output)
    if not output:
        result = _inline_enums(result)
    if output and "$defs" in result:
        enums = {f"#/$defs/{name}" for name, d in result["$defs"].items() if "enum" in d}
        result = _strings_for(enums, result)
        defs = {n: d for n, d in result.pop("$defs").items() if f"#/$defs/{n}" not in enums}
        if defs:
            result["$defs"] = _without_required(defs)
    return result


def _omitted_not_null(node: Any) -> Any:
    """Every schema whose default is ``null`` without its ``null`` option: ``{"anyOf":
    [X, {"type": "null"}], "default": null}`` -> ``X`` (with the other keywords)."""
    if isinstance(node, list):
        return [_omitted_not_null(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _omitted_not_null(v) for k, v in node.items()}
    options = out.get("anyOf")
    if (
        "default" in out
        and out["default"] is None
        and isinstance(options, list)
        and len(options) == 2
        and {"type": "null"} in options
    ):
        other = options[0] if options[1] == {"type": "null"} else options[1]
        out = {**{k: v for k, v in out.items() if k != "anyOf"}, **other}
    return out


def _strings_for(refs: set[str], node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("$ref") in refs:
            return {"type": "string"}
        return {k: _strings_for(refs, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_strings_for(refs, v) for v in node]
    return node


def _inline_enums(schema: dict[str, Any]) -> dict[str, Any]:
    """An enum used by reference is written in place: ``{"enum": [..., null]}`` instead of
    ``{"anyOf": [{"$ref": ...}, {"type": "null"}]}`` plus a ``$defs`` entry."""
    defs = schema.get("$defs", {})
    enums = {f"#/$defs/{name}": d["enum"] for name, d in defs.items() if "enum" in d}
    if not enums:
        return schema

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            options = node.get("anyOf")
            if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
                other = options[0] if options[1] == {"type": "null"} else options[1]
                if other.get("$ref") in enums:
                    rest = {k: inline(v) for k, v in node.items() if k != "anyOf"}
                    # The type too: some hosts' schema converters require one.
                    values = [*enums[other["$ref"]], None]
                    return {**rest, "type": ["string", "null"], "enum": values}
            if node.get("$ref") in enums:
                rest = {k: inline(v) for k, v in node.items() if k != "$ref"}
                return {**rest, "type": "string", "enum": enums[node["$ref"]]}
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    result: dict[str, Any] = inline({k: v for k, v in schema.items() if k != "$defs"})
    kept = {name: d for name, d in defs.items() if f"#/$defs/{name}" not in enums}
    if kept:
        result["$defs"] = inline(kept)
    return result


def _without_required(defs: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: v for k, v in d.items() if k != "required"} for name, d in defs.items()}


def _compact(schema: dict[str, Any], *, output: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and (output or value in (None, "", []) or value is False):
            continue  # for inputs, not being required already says it may be omitted
        if key == "$defs" and isinstance(value, dict):
            # A model's docstring is for Maestro's readers; the parameter that uses the
            # model carries what the model needs to know.
            out[key] = {
                name: {k: v for k, v in _compact(sub, output=output).items() if k != "description"}
                for name, sub in value.items()
            }
        elif key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _id_unbounded(name, _compact(sub, output=output))
                for name, sub in value.items()
            }
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _compact(sub, output=output) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_compact(sub, output=output) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = _compact(value, output=output)
        else:
            out[key] = value
    return _nullable(out)


def _id_unbounded(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An id property (``taskId``, ``parentId``) says only that it is a string: the model
    passes ids it was given, and their length is the server's to check (it does)."""
    if not name.endswith("Id") or schema.get("type") != "string":
        return schema
    return {k: v for k, v in schema.items() if k not in ("minLength", "maxLength")}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"anyOf": [{"type": T, …}, {"type": "null"}]}`` -> ``{"type": [T, "null"], …}``."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2 or {"type": "null"} not in options:
        return schema
    other = options[0] if options[1] == {"type": "null"} else options[1]
    if not isinstance(other.get("type"), str) or "$ref" in other:
        return schema
    merged = {k: v for k, v in schema.items() if k != "anyOf"}
    merged.update(other)
    merged["type"] = [other["type"], "null"]
    return merged

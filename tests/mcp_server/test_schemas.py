from maestro_mcp.mcp_server.schemas import compact


def test_compact_drops_titles_but_not_properties_named_title() -> None:
    schema = {
        "title": "Args",
        "type": "object",
        "properties": {"title": {"title": "Title", "type": "string"}},
        "required": ["title"],
    }
    assert compact(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": ["title"],
    }


def test_compact_merges_nullable_and_keeps_refs() -> None:
    schema = {
        "properties": {
            "a": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "default": None},
            "b": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]},
        }
    }
    out = compact(schema)
    assert out["properties"]["a"] == {"type": ["string", "null"], "maxLength": 3}
    assert out["properties"]["b"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}


def test_output_schemas_inline_enums_and_keep_only_the_envelope_required() -> None:
    schema = {
        "type": "object",
        "properties": {"task": {"$ref": "#/$defs/Task"}, "seq": {"type": "integer"}},
        "required": ["task", "seq"],
        "$defs": {
            "Status": {"enum": ["a", "b"], "type": "string", "title": "Status"},
            "Task": {
                "type": "object",
                "properties": {"status": {"$ref": "#/$defs/Status", "default": "a"}},
                "required": ["status"],
            },
        },
    }
    assert compact(schema, output=True) == {
        "type": "object",
        "properties": {"task": {"$ref": "#/$defs/Task"}, "seq": {"type": "integer"}},
        "required": ["task", "seq"],
        "$defs": {"Task": {"type": "object", "properties": {"status": {"type": "string"}}}},
    }

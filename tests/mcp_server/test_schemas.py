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
            "a": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]},
            "b": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]},
        }
    }
    out = compact(schema)
    assert out["properties"]["a"] == {"type": ["string", "null"], "maxLength": 3}
    assert out["properties"]["b"] == {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]}


def test_an_input_left_out_for_none_is_not_offered_null() -> None:
    """A default of null means "leave it out": the schema says what a value must be."""
    schema = {
        "properties": {
            "a": {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}], "default": None},
            "b": {
                "anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}],
                "default": None,
                "description": "an X",
            },
            "e": {"anyOf": [{"$ref": "#/$defs/E"}, {"type": "null"}], "default": None},
            "off": {"type": "boolean", "default": False},
            "on": {"type": "boolean", "default": True},
        },
        "$defs": {
            "X": {"type": "object", "properties": {"y": {"type": "integer"}}},
            "E": {"enum": ["p", "q"], "type": "string"},
        },
    }
    out = compact(schema)
    assert out["properties"] == {
        "a": {"type": "string", "maxLength": 3},
        "b": {"description": "an X", "$ref": "#/$defs/X"},
        "e": {"type": "string", "enum": ["p", "q"]},
        "off": {"type": "boolean"},  # a flag left out is off
        "on": {"type": "boolean", "default": True},
    }


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

"""The pure parts of core/dynamo.py: plain values to DynamoDB's attribute values and back, and update expressions."""

from __future__ import annotations

import pytest

from core.dynamo import attribute_value, from_attributes, projection_expression, to_attributes, update_expression
from core.errors import InvalidInputError


def test_plain_values_round_trip():
    item = {"s": "text", "i": 42, "f": 1.25, "t": True, "none": None, "list": [1, "a", [2.5]], "map": {"k": {"n": 3}},
            "strings": {"a", "b"}, "numbers": {1, 2}, "bytes": b"\x00\x01"}
    assert from_attributes(to_attributes(item)) == item


def test_numbers_are_decimal_strings_and_come_back_int_when_whole():
    assert attribute_value(0.1) == {"N": "0.1"}
    assert attribute_value(1712345678.123456) == {"N": "1712345678.123456"}
    assert from_attributes({"n": {"N": "3.0"}, "m": {"N": "3.5"}}) == {"n": 3, "m": 3.5}
    assert isinstance(from_attributes({"n": {"N": "3.0"}})["n"], int)


def test_attribute_values_are_dynamodbs_own():
    assert to_attributes({"k": "v", "b": False, "l": ["x"]}) == {"k": {"S": "v"}, "b": {"BOOL": False},
                                                                  "l": {"L": [{"S": "x"}]}}


def test_update_expression_names_every_attribute():
    expression, names, values = update_expression(set={"status": "x", "spec": "{}"}, remove=["reason"],
                                                  add={"version": 1})
    assert expression == "SET #s0 = :s0, #s1 = :s1 ADD #a0 :a0 REMOVE #r0"
    assert names == {"#s0": "status", "#s1": "spec", "#a0": "version", "#r0": "reason"}
    assert values == {":s0": "x", ":s1": "{}", ":a0": 1}


def test_update_expression_of_nothing_is_refused():
    with pytest.raises(ValueError):
        update_expression()


def test_projection_uses_placeholders_for_reserved_words():
    assert projection_expression(["name", "status"]) == ("#p0, #p1", {"#p0": "name", "#p1": "status"})


@pytest.mark.parametrize("value", [1.7976931348623157e308, 10**40, 1e-200, {"deep": [float("nan")]}, float("inf")],
                         ids=["float-max", "40-digits", "tiny", "nan", "inf"])
def test_a_number_dynamodb_cannot_hold_is_invalid_input(value):
    with pytest.raises(InvalidInputError):
        to_attributes({"preferences": {"x": value}})


def test_numbers_at_dynamodbs_limits_are_stored():
    assert attribute_value(10**37) == {"N": str(10**37)}
    assert attribute_value(9.9e125) == {"N": "9.9E+125"}


def test_nesting_past_dynamodbs_32_levels_is_invalid_input():
    def nested(levels: int):
        value: object = "leaf"
        for _ in range(levels):
            value = {"k": value}
        return value

    to_attributes({"v": nested(31)})  # the attribute's map plus 31 levels: DynamoDB's 32
    with pytest.raises(InvalidInputError):
        to_attributes({"v": nested(40)})


def test_an_empty_key_in_free_form_json_is_invalid_input():
    # DynamoDB refuses an empty attribute name; the emulator stored it and then failed to answer the item (a 500 on
    # every GET /user-preferences after a PUT with {"": 1} among the preferences' free-form keys).
    with pytest.raises(InvalidInputError, match="empty"):
        to_attributes({"preferences": {"theme": "dark", "extra": {"": 1}}})
    to_attributes({"preferences": {"theme": "dark", "extra": {" ": 1}}})

"""What an output serializer makes of an object, without building the serializer on every response.

DRF builds an output serializer's fields afresh for every instance it creates (a deep copy of every declared
field, nested serializers included) and then walks them. For an output serializer made only of plain fields —
text, integers, floats, booleans, decimals, and nested serializers or lists of them, none of them overriding how
it reads or writes a value — the walk is the whole of it: `representation` binds the serializer's fields once per
process and afterwards runs the same steps as `Serializer.to_representation` (each field's value read as DRF's
`get_attribute` reads it — a key of a mapping, else an attribute — with the field's own `get_attribute` wherever
that does more: a dotted source, a missing value, a callable; then the field's own `to_representation`, `None`
kept as `None`, a skipped field left out). Any other serializer (model fields,
dates, method fields, a custom `to_representation`) goes through DRF as before, so the serializer class stays
the one definition of the output either way; tests/api/test_representation.py checks both give the same data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db.models.manager import BaseManager
from rest_framework import fields as drf_fields
from rest_framework import serializers
from rest_framework.fields import SkipField

Plan = Callable[[Any], dict[str, Any]]

# Fields whose reading and writing of a value use nothing but the field's own arguments (no request, no zone).
_PLAIN_FIELDS = (
    drf_fields.CharField,
    drf_fields.IntegerField,
    drf_fields.FloatField,
    drf_fields.BooleanField,
    drf_fields.DecimalField,
)
_UNCOMPILED = object()
_plans: dict[type[serializers.Serializer], Plan | None] = {}


def representation(serializer_class: type[serializers.Serializer], instance: Any, context: dict[str, Any]) -> Any:
    """`serializer_class(instance, context=context).data`, computed by a plan made once per class when it can be."""
    plan = _plans.get(serializer_class, _UNCOMPILED)
    if plan is _UNCOMPILED:
        plan = _plans[serializer_class] = _plan(serializer_class())
    if plan is None or instance is None:
        return serializer_class(instance, context=context).data
    return plan(instance)  # type: ignore[operator]


def _plan(serializer: serializers.Serializer) -> Plan | None:
    """The steps of `serializer.to_representation`, with its fields bound once; None if any field is not plain."""
    if type(serializer).to_representation is not serializers.Serializer.to_representation:
        return None
    steps: list[tuple[str, str | None, Callable[[Any], Any], Callable[[Any], Any]]] = []
    for field in serializer._readable_fields:
        if type(field).get_attribute is not drf_fields.Field.get_attribute:
            return None
        write = _writer(field)
        if write is None:
            return None
        attrs = field.source_attrs
        steps.append((str(field.field_name), attrs[0] if len(attrs) == 1 else None, field.get_attribute, write))

    def run(instance: Any) -> dict[str, Any]:
        mapping = isinstance(instance, Mapping)  # what DRF's get_attribute asks for every field
        ret: dict[str, Any] = {}
        for name, attr, read, write in steps:
            try:
                if attr is None:
                    attribute = read(instance)  # a dotted source or "*": the field's own reading
                else:
                    try:
                        attribute = instance[attr] if mapping else getattr(instance, attr)
                    except Exception:
                        attribute = read(instance)  # missing: the field's own rules (default, null, skip, error)
                    else:
                        if callable(attribute):
                            attribute = read(instance)  # DRF calls a no-argument callable: its own reading
            except SkipField:
                continue
            ret[name] = None if attribute is None else write(attribute)
        return ret

    return run


def _writer(field: drf_fields.Field) -> Callable[[Any], Any] | None:
    if type(field) in _PLAIN_FIELDS:
        return field.to_representation
    if isinstance(field, serializers.ListSerializer):
        if type(field).to_representation is not serializers.ListSerializer.to_representation:
            return None
        if not isinstance(field.child, serializers.Serializer):
            return None
        child = _plan(field.child)
        if child is None:
            return None
        return lambda data: [child(item) for item in (data.all() if isinstance(data, BaseManager) else data)]
    if isinstance(field, serializers.Serializer):
        return _plan(field)
    return None

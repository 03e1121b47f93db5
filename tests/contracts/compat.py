"""Is a consumer's narrow model compatible with a producer's published JSON schema?

:func:`incompatibilities` walks the consumer model's JSON schema and looks up each field in the
producer's: every field the consumer requires must exist under the same name, with JSON types
the consumer accepts (and the same ``format`` / allowed values where the consumer insists on
them); an optional consumer field the producer sends must have a compatible type too, and in a
strict pair (an exact event type, not "any event on the topic") it must exist unless the pair
names it in ``may_be_absent``. :func:`example_problems` parses the producer's examples, sent
through the real Kafka binding, with the consumer's model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from city_shared.envelope import from_kafka

__all__ = ["example_problems", "incompatibilities", "parse_record"]

Schema = dict[str, Any]


def _resolve(schema: Schema, root: Schema) -> Schema:
    """``schema`` with ``$ref`` (to ``#/$defs/...`` or ``#/components/schemas/...``) followed
    and a single-entry ``allOf`` unwrapped."""
    while True:
        if "$ref" in schema:
            path = schema["$ref"].removeprefix("#/").split("/")
            target: Any = root
            for part in path:
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **rest}
        else:
            return schema


def _variants(schema: Schema, root: Schema) -> list[Schema]:
    """The alternatives of ``schema`` (``anyOf`` / ``oneOf`` flattened), each resolved."""
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [v for option in schema[key] for v in _variants(option, root)]
    return [schema]


def _types(schema: Schema) -> set[str]:
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds) if isinstance(kinds, list) else {kinds}
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else []
    return {_json_type(v) for v in values} or {"any"}


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            type(None): "null", list: "array", dict: "object"}.get(type(value), "any")


def _allowed(schema: Schema) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _accepts(consumer_types: set[str], producer_type: str) -> bool:
    return ("any" in consumer_types or producer_type in consumer_types
            or (producer_type == "integer" and "number" in consumer_types))


def _check(path: str, consumer: Schema, c_root: Schema, producer: Schema, p_root: Schema,
           strict: bool, may_be_absent: frozenset[str], needs: frozenset[str],
           problems: list[str]) -> None:
    c_variants = _variants(consumer, c_root)
    p_variants = _variants(producer, p_root)
    c_types = set().union(*(_types(v) for v in c_variants))
    for p_variant in p_variants:
        for p_type in _types(p_variant):
            if p_type == "any":
                continue
            if not _accepts(c_types, p_type):
                problems.append(f"{path or '<data>'}: producer sends {p_type}, consumer "
                                f"accepts {sorted(c_types)}")
                continue
            c_matching = [v for v in c_variants if _accepts(_types(v), p_type)]
            c_formats = {v.get("format") for v in c_matching}
            if None not in c_formats and p_variant.get("format") not in c_formats:
                problems.append(f"{path}: producer format {p_variant.get('format')}, "
                                f"consumer needs {sorted(str(f) for f in c_formats)}")
            c_allowed = [_allowed(v) for v in c_matching]
            if all(a is not None for a in c_allowed):
                accepted = [x for a in c_allowed if a is not None for x in a]
                sent = _allowed(p_variant)
                if sent is None or any(x not in accepted for x in sent):
                    problems.append(f"{path}: producer may send values outside {accepted}")
            if p_type == "object":
                for c_variant in c_matching:
                    _check_object(path, c_variant, c_root, p_variant, p_root, strict,
                                  may_be_absent, needs, problems)
            if p_type == "array":
                for c_variant in c_matching:
                    if "items" in c_variant and "items" in p_variant:
                        _check(f"{path}[]", c_variant["items"], c_root, p_variant["items"],
                               p_root, strict, may_be_absent, needs, problems)


def _check_object(path: str, consumer: Schema, c_root: Schema, producer: Schema,
                  p_root: Schema, strict: bool, may_be_absent: frozenset[str],
                  needs: frozenset[str], problems: list[str]) -> None:
    c_props: dict[str, Schema] = consumer.get("properties", {})
    p_props: dict[str, Schema] = producer.get("properties", {})
    required = set(consumer.get("required", []))
    for name, c_schema in c_props.items():
        where = f"{path}.{name}" if path else name
        if name not in p_props:
            if name in required or where in needs:
                problems.append(f"{where}: required by the consumer, missing in the producer's "
                                "schema")
            elif strict and where not in may_be_absent:
                problems.append(f"{where}: read by the consumer, missing in the producer's "
                                "schema (name it in may_be_absent if that is intended)")
            continue
        if where in needs and where not in producer.get("required", []):
            problems.append(f"{where}: needed by the consumer, optional in the producer's schema")
        _check(where, c_schema, c_root, p_props[name], p_root, strict, may_be_absent, needs,
               problems)


def incompatibilities(consumer: type[BaseModel], producer_schema: Schema,
                      producer_root: Schema | None = None, *, strict: bool = True,
                      may_be_absent: frozenset[str] = frozenset(),
                      needs: frozenset[str] = frozenset()) -> list[str]:
    """What the producer's schema fails to give the consumer's model (empty: compatible).

    ``producer_root``: the document the schema's ``$ref`` point into (default: the schema).
    ``needs``: dotted paths the consumer's model makes optional but this pair relies on (they
    count as required)."""
    root = producer_schema if producer_root is None else producer_root
    c_schema = consumer.model_json_schema(mode="validation")
    problems: list[str] = []
    _check_object("", _resolve(c_schema, c_schema), c_schema, _resolve(producer_schema, root),
                  root, strict, may_be_absent, needs, problems)
    return problems


def parse_record(consumer: type[BaseModel], headers: dict[str, str], key: str,
                 value: bytes) -> BaseModel:
    """The record read as the consumer's worker reads it: the CloudEvents binding, then the
    handler's narrow model."""
    event = from_kafka([(k, v.encode()) for k, v in headers.items()], key.encode(), value)
    return event.parse(consumer)


def example_problems(consumer: type[BaseModel], records: list[tuple[dict[str, str], str, bytes]],
                     needs: frozenset[str] = frozenset()) -> list[str]:
    """Why the consumer's model rejects any of the records, or reads a ``needs`` path of one
    as missing (empty: it reads them all)."""
    problems = []
    for headers, key, value in records:
        try:
            parsed = parse_record(consumer, headers, key, value)
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            problems.append(f"{headers.get('ce_type')}: rejected {', '.join(fields)}")
            continue
        for path in sorted(needs):
            value_at: Any = parsed
            for name in path.split("."):
                value_at = getattr(value_at, name, None)
            if value_at is None:
                problems.append(f"{headers.get('ce_type')}: {path} read as missing")
    return problems

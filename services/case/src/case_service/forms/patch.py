"""RFC 7396 JSON Merge Patch, the format in which drafts are saved piece by piece."""

from __future__ import annotations

from collections.abc import Mapping


def merge_patch(target: Mapping[str, object], patch: Mapping[str, object]) -> dict[str, object]:
    """``target`` with ``patch`` applied per RFC 7396: ``null`` deletes a member, an object
    merges member by member, anything else replaces.

    Pure: ``target`` and ``patch`` are not modified. Objects on patched paths are copied;
    untouched parts and non-object patch values are shared with the inputs. Iterative, so a
    deeply nested patch cannot exhaust the stack.
    """
    result: dict[str, object] = dict(target)
    stack: list[tuple[dict[str, object], Mapping[str, object]]] = [(result, patch)]
    while stack:
        destination, changes = stack.pop()
        for key, value in changes.items():
            if value is None:
                destination.pop(key, None)
            elif isinstance(value, Mapping):
                current = destination.get(key)
                # A patch object replaces a non-object; its nulls then delete nothing.
                merged: dict[str, object] = dict(current) if isinstance(current, Mapping) else {}
                destination[key] = merged
                stack.append((merged, value))
            else:
                destination[key] = value
    return result

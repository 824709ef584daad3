"""Keras 3's config form of small objects (regularizers, constraints): serialize to
{"module", "class_name", "config", "registered_name"} and back, and `get` from any of the forms
an argument may take; one implementation for each family's `serialize`/`deserialize`/`get`."""

from __future__ import annotations

import inspect


def serialize(obj, base, classes, module, what):
    """`obj` in Keras 3's form; None for None. Built-in `classes` name their `module`; others
    are registered under their class name."""
    if obj is None:
        return None
    if not isinstance(obj, base):
        raise ValueError(f"cannot serialize the {what} {obj!r}: only {base.__name__} "
                         "instances (with get_config) can be saved in a model config")
    builtin = type(obj) in classes
    return {"module": module if builtin else None,
            "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None if builtin else type(obj).__name__}


def deserialize(config, by_name, classes, what, custom_objects=None):
    """The object a Keras 3 config dict describes, its class found in `custom_objects` first,
    then among the family's names."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"cannot interpret {config!r} as a {what} config")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or by_name.get(name)
    if cls is None:
        raise ValueError(f"unknown {what} {name!r}; choose one of "
                         f"{sorted(c.__name__ for c in classes)} or pass it in custom_objects")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier, base, by_name, deserialize, what, aliases=None):
    """The object of family `base` that `identifier` names: None; a name (or one of `aliases`,
    name -> factory); a config dict; a class; an instance or a callable (returned as is)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if aliases and identifier in aliases:
            return aliases[identifier]()
        if identifier not in by_name:
            raise ValueError(f"unknown {what} {identifier!r}; choose one of {sorted(by_name)}")
        return by_name[identifier]()
    if inspect.isclass(identifier) and issubclass(identifier, base):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as a {what}")

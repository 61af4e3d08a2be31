"""Load YAML configuration files, merge them in order over the packaged defaults and validate the result.

Order, each layer deep-merged over the previous one (mappings merge key by key; lists and scalars replace):
the defaults (``src/loyalist/config/defaults/*.yaml``), the industry preset (``--preset`` or a ``preset:`` key
in a file), the user's files in order, then overrides. Every validation problem is reported at once, in one
:class:`~loyalist.errors.ConfigError` naming the files, each key and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from loyalist.config.merge import deep_merge
from loyalist.config.models import LoyalistConfig
from loyalist.config.shipped import defaults, preset_path
from loyalist.errors import ConfigError

__all__ = ["deep_merge", "read_yaml", "load_config", "config_from_dict", "config_to_dict", "merge_and_validate",
           "resolve_layers", "resolve_user_layers", "validate_config"]


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, first_line: int, line: int):
        super().__init__(f"duplicate key {key!r}")
        self.key, self.first_line, self.line = key, first_line, line


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error: the plain loader keeps the
    last value silently, so one of the user's two settings would be ignored without a word."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if first != key_node.start_mark.line:
                raise _DuplicateKey(key, first + 1, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict[str, Any]:
    """Read one YAML mapping; an empty file is an empty mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file '{path}' does not exist; pass an existing YAML file.")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Config file '{path}' is not UTF-8 text (byte {exc.start} cannot be decoded); save it as UTF-8 "
            "(YAML files must be UTF-8)."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Config file '{path}' cannot be read ({exc.strerror or exc}); check its permissions.") from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as exc:
        raise ConfigError(
            f"Config file '{path}' sets the key {exc.key!r} twice in the same block (lines {exc.first_line} and "
            f"{exc.line}); keep only one of them."
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file '{path}' is not valid YAML: {exc}".replace("\n", " ")) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file '{path}' must hold a mapping at the top level, got {type(data).__name__}.")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ConfigError(f"Config file '{path}' has a top-level key that is not text ({bad[0]!r}); quote it.")
    return data


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The config model that holds the key at ``loc`` (to suggest the closest valid key)."""
    import types
    import typing

    def optional(tp: Any) -> Any:  # X | None -> X
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            return args[0] if len(args) == 1 else None
        return tp

    model: Any = LoyalistConfig
    for part in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            model = optional(field.annotation) if field is not None else None
        elif typing.get_origin(model) is dict:
            model = optional(typing.get_args(model)[1])
        elif typing.get_origin(model) is list:
            model = optional(typing.get_args(model)[0])
        else:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


#: Keys whose range error needs the fix spelt out (key path -> how to fix it).
_FIXES: dict[tuple[str, ...], str] = {
    ("scoring_job", "control_group", "share"): (
        "the share of each action's customers held out as the control group must be strictly between 0 and 1, "
        "e.g. 0.1 (1 would contact no one; to contact everyone set scoring_job.control_group.enabled: false)"),
}


def _format_errors(exc: ValidationError, origin: str) -> str:
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        name = ".".join(str(p) for p in loc) or "<root>"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            model = _model_at(loc)
            known = sorted(model.model_fields) if model is not None else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            msg = (f"unknown key; did you mean {close[0]!r}?" if close
                   else f"unknown key; the keys here are {', '.join(known)}" if known
                   else "unknown key (check the spelling)")
        elif "input" in err and err["type"] not in ("missing", "value_error", "assertion_error"):
            got = err["input"]
            if not isinstance(got, (dict, list)):
                msg = f"{msg} (got {got!r})"
        fix = _FIXES.get(tuple(str(p) for p in loc))
        if fix and err["type"] not in ("extra_forbidden", "missing"):
            msg = f"{msg}; {fix}"
        parts.append(f"'{name}': {msg}")
    text = "; ".join(parts)
    return f"Invalid configuration ({origin}): " + text + ("" if text.endswith(("?", ".")) else ".")


def config_from_dict(data: Mapping[str, Any], origin: str = "<dict>") -> LoyalistConfig:
    """Deep-merge a plain mapping (a user layer) over the defaults and validate it into a
    :class:`LoyalistConfig`, reporting every problem at once."""
    return merge_and_validate(defaults(), data, origin)


#: The scaling methods that read ``cap`` (:class:`~loyalist.config.models.ScalingConfig`).
_CAP_METHODS = ("cap", "inverse")


def _scalings(data: Any) -> dict[str, Mapping[str, Any]]:
    """Indicator name -> its ``scaling`` mapping in a plain config mapping (only the indicators that have one)."""
    scoring = data.get("scoring") if isinstance(data, Mapping) else None
    indicators = scoring.get("indicators") if isinstance(scoring, Mapping) else None
    if not isinstance(indicators, Mapping):
        return {}
    return {str(name): spec["scaling"] for name, spec in indicators.items()
            if isinstance(spec, Mapping) and isinstance(spec.get("scaling"), Mapping)}


def merge_and_validate(base: Mapping[str, Any], layers: Mapping[str, Any], origin: str,
                       user: Mapping[str, Any] | None = None) -> LoyalistConfig:
    """``layers`` (the preset, the user's files and overrides, already merged) deep-merged over ``base`` (the
    defaults, or a prepared config) and validated, with one check the models alone cannot make: a ``cap`` the
    user's layers ``user`` (default: ``layers``; without the preset) set on an indicator whose scaling method reads
    none (``ratio``, ``nps``, ``percentile``) is an error, since it would be ignored without a word (e.g.
    ``purchase_frequency: {scaling: {cap: 24}}`` over the wholesale preset, whose frequency is a percentile). A cap
    the user did not set (the defaults' 12 or the retail preset's 24 under a percentile method the user chose) is
    dropped from the result, not an error, since nothing reads it."""
    merged = deep_merge(base, layers)
    set_caps = {name for name, scaling in _scalings(layers if user is None else user).items()
                if scaling.get("cap") is not None}
    unused = {name: {"scaling": {"cap": None}} for name, scaling in _scalings(merged).items()
              if name not in set_caps and scaling.get("cap") is not None
              and scaling.get("method", "ratio") not in _CAP_METHODS}
    if unused:
        merged = deep_merge(merged, {"scoring": {"indicators": unused}})
    config = validate_config(merged, origin)
    unread = [(name, config.scoring.indicators[name].scaling) for name in sorted(set_caps)
              if name in config.scoring.indicators
              and config.scoring.indicators[name].scaling.method not in _CAP_METHODS]
    if unread:
        raise ConfigError(f"Invalid configuration ({origin}): " + "; ".join(
            f"'scoring.indicators.{name}.scaling.cap' is {scaling.cap:g}, but {name} is scaled by method "
            f"{scaling.method!r}, which reads no cap, so it would be ignored; to give full marks at {scaling.cap:g} "
            f"set 'method: cap' beside it (an absolute scale), or remove 'cap' to keep {scaling.method!r}"
            for name, scaling in unread) + ".")
    return config


def validate_config(data: Mapping[str, Any], origin: str = "<dict>") -> LoyalistConfig:
    """Validate a plain mapping as it is (missing keys take their defaults, nothing is merged); use it to read
    back a resolved config."""
    try:
        return LoyalistConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, origin)) from exc


def resolve_layers(
    paths: Iterable[Path | str] = (), preset: str | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The user's layers merged (without the defaults) and the names of the layers, in order.

    The preset is ``preset`` when given, else the last ``preset:`` key of the files / overrides; its file goes
    first, under the user's files. Relative ``path`` entries of data sources are resolved against the folder of
    the file that names them.
    """
    merged, names, _ = resolve_user_layers(paths, preset=preset, overrides=overrides)
    return merged, names


def resolve_user_layers(
    paths: Iterable[Path | str] = (), preset: str | None = None, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """:func:`resolve_layers`, and the user's files and overrides merged without the preset (what the user set)."""
    merged: dict[str, Any] = {}
    names: list[str] = []
    for p in paths:
        p = Path(p)
        data = read_yaml(p)
        _resolve_source_paths(data, p.parent)
        merged = deep_merge(merged, data)
        names.append(str(p))
    if overrides:
        merged = deep_merge(merged, overrides)
        names.append("overrides")
    user = merged
    chosen = preset if preset is not None else merged.get("preset")
    if chosen is not None:
        if not isinstance(chosen, str):
            raise ConfigError(f"The 'preset' key must be a preset name such as 'retail'; got {chosen!r}.")
        path = preset_path(chosen)
        preset_data = read_yaml(path)
        preset_data.pop("preset", None)
        merged = deep_merge(deep_merge(preset_data, merged), {"preset": chosen})
        names.insert(0, f"preset {chosen}")
    return merged, names, user


def load_config(
    paths: Iterable[Path | str] = (), overrides: Mapping[str, Any] | None = None, preset: str | None = None
) -> LoyalistConfig:
    """Merge the defaults, the preset, the YAML files in ``paths`` (in order) and ``overrides``; validate."""
    merged, names, user = resolve_user_layers(paths, preset=preset, overrides=overrides)
    return merge_and_validate(defaults(), merged, ", ".join(names) or "defaults", user=user)


def _resolve_source_paths(data: dict[str, Any], folder: Path) -> None:
    sources = data.get("data")
    if not isinstance(sources, dict):
        return
    for table in ("orders", "customers", "tickets", "surveys"):
        src = sources.get(table)
        if isinstance(src, dict) and isinstance(src.get("path"), str):
            path = Path(src["path"]).expanduser()
            if not path.is_absolute():
                src["path"] = str((folder / path).resolve())


def config_to_dict(config: LoyalistConfig) -> dict[str, Any]:
    """The resolved config as plain JSON-able data (for logging to MLflow and reports)."""
    return config.model_dump(mode="json")

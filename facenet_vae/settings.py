"""Settings declared once: one dataclass field carries a setting's default, help, allowed values and group.

A command's config is a dataclass whose fields are made with ``setting(...)``. Its absl flags are
generated from those fields (``define_flags``), its values come back with ``from_flags`` and
``check_choices`` validates the allowed values. Nothing else repeats a default, a help text or a
list of choices. This module imports neither TensorFlow nor Keras, so flags are checked before
TensorFlow loads.
"""
import dataclasses
import math
import sys
import textwrap
import typing

from absl import app, flags

RUN_FLAGS_FILE = "flags.txt"   # the flagfile (flag_lines) a training run keeps in its folder; a resume reads it
GROUPS = ("data", "model", "objective", "optimisation", "generation", "evaluation", "run", "distribution", "output")


def setting(default, help, *, choices=None, group="run", minimum=None, finite=False, alias=None):  # noqa: A002
    """Return a dataclass field for one setting (``help`` is absl's name for the text).

    ``choices``: the allowed values (pass the owning module's constant, never a copied literal);
    ``minimum``: the smallest allowed number (None: any); ``finite``: refuse NaN and infinities;
    ``group``: the ``--help`` section (one of GROUPS); ``alias``: another flag name that sets it
    (facenet's own name where ours differs, so facenet's command lines and older run folders still parse).
    """
    if group not in GROUPS:
        raise ValueError(f"unknown settings group {group!r}; choose one of {GROUPS}")
    metadata = {"help": help, "choices": tuple(choices) if choices is not None else None, "group": group,
                "minimum": minimum, "finite": finite, "alias": alias}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _base_type(annotation):
    """Return the plain type of an annotation, unwrapping Optional[...]."""
    if typing.get_origin(annotation) is typing.Union:
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    origin = typing.get_origin(annotation)
    return origin or annotation


def settings_of(config_class):
    """Return ``[(field, plain type)]`` of a settings dataclass, in declaration order."""
    hints = typing.get_type_hints(config_class)
    return [(field, _base_type(hints[field.name])) for field in dataclasses.fields(config_class)
            if "help" in field.metadata]


def _default(field):
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def define_flags(config_class, flag_values=flags.FLAGS, module_name=None):
    """Define one absl flag per setting of ``config_class`` (name, default, help and enum choices from the field).

    Flags are registered under ``<module_name>.<group>``, and ``--help`` (``-?``, ``--helpshort``)
    then lists them by group (see ``GroupedHelpFlag``).
    """
    _install_grouped_help(config_class, flag_values)
    for field, kind in settings_of(config_class):
        meta, default = field.metadata, _default(field)
        key = {"module_name": f"{module_name or config_class.__module__}.{meta['group']}", "flag_values": flag_values}
        if kind is bool:
            flags.DEFINE_bool(field.name, default, meta["help"], **key)
        elif kind is int:
            flags.DEFINE_integer(field.name, default, meta["help"], **key)
        elif kind is float:
            flags.DEFINE_float(field.name, default, meta["help"], **key)
        elif kind is list:
            flags.DEFINE_list(field.name, default, meta["help"], **key)
        elif meta["choices"] is not None:
            flags.DEFINE_enum(field.name, default, [str(choice) for choice in meta["choices"]], meta["help"], **key)
        else:
            flags.DEFINE_string(field.name, default, meta["help"], **key)
        if meta.get("alias"):
            flags.DEFINE_alias(meta["alias"], field.name, **key)


def from_flags(config_class, flag_values=flags.FLAGS, **overrides):
    """Return ``config_class`` filled from the parsed flags of its settings (plus ``overrides``)."""
    values = {field.name: flag_values[field.name].value for field, _ in settings_of(config_class)
              if field.name in flag_values}
    values.update(overrides)
    return config_class(**values)


def check_choices(config):
    """Raise ValueError naming the flag for any setting outside its choices, below its minimum or not finite."""
    for field, kind in settings_of(type(config)):
        value, meta = getattr(config, field.name), field.metadata
        if value is None:
            continue
        if meta["choices"] is not None and value not in meta["choices"]:
            raise ValueError(f"--{field.name} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
        if kind in (int, float) and meta["finite"] and not math.isfinite(value):
            raise ValueError(f"--{field.name} must be a finite number, got {value!r}")
        if kind in (int, float) and meta["minimum"] is not None and not value >= meta["minimum"]:
            raise ValueError(f"--{field.name} must be at least {meta['minimum']}, got {value!r}")
    return config


def flag_lines(config, leave_out=()):
    """Return ``--name=value`` lines (an absl flagfile) that set every setting of ``config`` to its value.

    Settings whose value is None (their default stands in) and those named in ``leave_out`` are omitted.
    """
    lines = []
    for field, kind in settings_of(type(config)):
        value = getattr(config, field.name)
        if value is None or field.name in leave_out:
            continue
        if kind is bool:
            lines.append(f"--{'' if value else 'no'}{field.name}")
        elif kind is list:
            lines.append(f"--{field.name}={','.join(map(str, value))}")
        else:
            lines.append(f"--{field.name}={value}")
    return lines


def _help_line(flag):
    """Return ``  --name: help [default: value]`` wrapped to 100 columns (absl puts an enum's choices first)."""
    default = "" if flag.default is None else f" [default: {flag.default_as_str.strip(chr(39))}]"
    return textwrap.fill(f"--{flag.name}: {' '.join(flag.help.split())}{default}", width=100,
                         initial_indent="  ", subsequent_indent="      ")


def help_text(config_classes, flag_values=flags.FLAGS, usage=None):
    """Return the ``--help`` text: ``usage``, then each setting of ``config_classes`` under its group.

    Every tool's ``--help`` is this text: absl tools through ``GroupedHelpFlag``, the console
    tools through ``grouped_help`` before TensorFlow loads.
    """
    sections = {group: [] for group in GROUPS}
    for config_class in config_classes:
        for field, _ in settings_of(config_class):
            if field.name in flag_values:
                sections[field.metadata["group"]].append(flag_values[field.name])
    text = [usage.strip() + "\n" if usage else f"USAGE: {sys.argv[0]} [flags]\n"]
    for group, group_flags in sections.items():
        if not group_flags:
            continue
        text.append(f"{group}:")
        text.extend(_help_line(flag) for flag in group_flags)
    text.append("\nAny flag may also come from a file: --flagfile=FILE (one --flag=value per line); "
                "--helpfull lists absl's own flags too.")
    return "\n".join(text) + "\n"


class GroupedHelpFlag(app.HelpFlag):
    """``--help`` that prints the tool's settings grouped (data, model, objective, ...) and exits 0.

    absl's own ``--help`` shows only flags registered by the main module, and these are registered
    per group; this flag replaces it (absl's documented ``allow_override``), for every tool.
    """

    def __init__(self, name, short_name, config_classes, flag_values):
        flags.BooleanFlag.__init__(self, name, False, "show the settings by group", short_name=short_name,
                                   allow_override=True)
        self.config_classes = config_classes
        self.flag_values = flag_values

    def parse(self, arg):
        if self._parse(arg):
            main = sys.modules.get("__main__")
            print(help_text(self.config_classes, self.flag_values, getattr(main, "__doc__", None)), end="")
            sys.exit(0)


_HELP_CONFIGS = {}


def grouped_help(flag_values, usage):
    """Return ``help_text`` for every config class whose flags ``define_flags`` put on ``flag_values``."""
    return help_text(_HELP_CONFIGS.get(id(flag_values), ()), flag_values, usage)


def _install_grouped_help(config_class, flag_values):
    """Make ``--help``/``--helpshort`` of ``flag_values`` print every config class defined on it, grouped."""
    configs = _HELP_CONFIGS.setdefault(id(flag_values), [])
    configs.append(config_class)
    if flag_values is flags.FLAGS:
        app.define_help_flags()   # absl's (idempotent), so that app.run will not define them over ours
    for name, short_name in (("help", "?"), ("helpshort", None)):
        if name in flag_values and isinstance(flag_values[name], GroupedHelpFlag):
            continue
        flags.DEFINE_flag(GroupedHelpFlag(name, short_name, configs, flag_values), flag_values)

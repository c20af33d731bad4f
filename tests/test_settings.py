"""settings: flags generated from dataclass fields, grouped --help for any tool that uses define_flags."""
import dataclasses
import os
import pathlib
import subprocess
import sys
import textwrap
from typing import Optional

import pytest
from absl import flags

from facenet_vae import settings
from facenet_vae.training.choices import REDUCTIONS

ROOT = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class ToolConfig:
    data_dir: Optional[str] = settings.setting(None, "Where the faces are.", group="data")
    steps: int = settings.setting(10, "How many steps.", group="optimisation", minimum=1)
    reduction: str = settings.setting("sum", "Loss reduction.", choices=REDUCTIONS, group="objective")
    mirror: bool = settings.setting(True, "Mirror the faces.", group="data")
    replicas: int = settings.setting(0, "Replicas.", group="distribution", minimum=0)


def test_flag_lines_round_trip_through_the_flags():
    flag_values = flags.FlagValues()
    settings.define_flags(ToolConfig, flag_values, "tool")
    config = ToolConfig(data_dir="/faces", steps=3, reduction="mean", mirror=False)
    flag_values(["tool", *settings.flag_lines(config)])
    assert settings.from_flags(ToolConfig, flag_values) == config
    assert "--nomirror" in settings.flag_lines(config)
    assert settings.flag_lines(ToolConfig()) == ["--steps=10", "--reduction=sum", "--mirror", "--replicas=0"]


def test_check_choices_names_the_flag():
    with pytest.raises(ValueError, match="--reduction must be one of sum, mean"):
        settings.check_choices(ToolConfig(reduction="median"))
    with pytest.raises(ValueError, match="--steps must be at least 1"):
        settings.check_choices(ToolConfig(steps=0))


def test_any_absl_tool_using_define_flags_gets_grouped_help(tmp_path):
    """The path every tool takes (absl app.run, flags defined per group), in a subprocess."""
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent(f'''
        """A tool.

        Its usage line."""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from absl import app, flags
        from facenet_vae import settings
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        from test_settings import ToolConfig
        settings.define_flags(ToolConfig, flags.FLAGS, "tool")
        app.run(lambda argv: 0)
    '''))
    for flag in ("--help", "--helpshort", "-?"):
        result = subprocess.run([sys.executable, str(script), flag], capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "A tool." and "Its usage line." in result.stdout
        headings = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
        assert headings == ["data:", "objective:", "optimisation:", "distribution:"]
        data = lines.index("data:")
        assert lines[data + 1].startswith("  --data_dir: Where the faces are.")
        assert any(line.startswith("  --mirror:") for line in lines[data:lines.index("objective:")])
        assert "<sum|mean>" in result.stdout

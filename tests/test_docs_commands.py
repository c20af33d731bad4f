"""Every command in README.md and docs/*.md runs as written, and every link in them leads somewhere.

How the Markdown marks its commands (an HTML comment on the line right before the fence):

- no mark: the fence runs, as written, in a copy of the repository root (each top-level entry
  linked) beside a link named ``shared`` to the shared data, so ``../shared/...`` resolves and what
  the commands write stays in a temporary folder. In a ```bash fence each line is a command (lines
  ending in ``\\`` are joined, comments dropped); a ```python fence is one script. Each must exit 0.
- ``<!-- slow -->``: too long for the tests (training, benchmarks, a full evaluation, a server) or
  changing the machine (an install: an unmarked ``pip install`` fails the test, never runs). Not
  run; each command's tool must define every ``--flag`` it gives (its ``--help`` lists it), and
  every repository or shared-data path it names must exist.
- ``<!-- example -->``: placeholders (``RUN``, ``FACES``, ``me.jpg``) stand for the reader's own
  files. Not run; the flags are checked as for slow fences, the paths are not.

Python fences that are not run are compiled. Only the commands of quick, unmarked fences cost
time: a handful of TensorFlow start-ups on the shipped model.
"""
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# As tests/conftest.py resolves it (importing conftest by name is ambiguous: tests/explore has one too).
SHARED = pathlib.Path(os.environ.get("FACENET_VAE_SHARED", ROOT.parent / "shared")).expanduser()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKS = ("slow", "example")
# Docs linked before they are written (none now); a link to a missing page otherwise fails.
PENDING_DOCS = set()
README_MAX_LINES = 160
RUN_TIMEOUT_S = 300
SEPARATORS = {"&&", "||", ";", "|"}
# The first words of a command -> the same tool asked for its --help.
PYTHON = ("python", "python3")
# Paths under these are checked (others are outputs, or the reader's own files).
REPOSITORY_FOLDERS = {"bench", "tests", "docs", "facenet_vae", "notebooks", "checkpoints"}
# Never run by the tests (they would change the environment the tests run in).
INSTALLERS = {"pip", "pip3", "apt-get", "sudo"}
UNCHECKED_TOOLS = {"pip", "tensorboard", "test", "apt-get", "sudo", "cp", "tfds"}


def fences(path):
    """Return ``(language, mark, body, line)`` for each fenced block of ``path`` (mark: None, "slow" or "example")."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = re.match(r"^```(\w*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        previous = lines[index - 1].strip() if index else ""
        mark = next((name for name in MARKS if previous == f"<!-- {name} -->"), None)
        found.append((opening.group(1), mark, "\n".join(lines[index + 1:end]), index + 1))
        index = end + 1
    return found


def commands(body):
    """Return the commands of a bash fence: continuation lines joined, comment lines and comments dropped."""
    joined, current = [], ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        text = " ".join(shlex.split(current, comments=True))
        if text:
            joined.append(current.strip())
        current = ""
    return joined


def all_fences():
    """Every fence of README.md and docs/*.md, as pytest params named ``<file>:<line>``."""
    params = []
    for path in DOCS:
        for language, mark, body, line in fences(path):
            params.append(pytest.param(path, language, mark, body, id=f"{path.relative_to(ROOT)}:{line}:{mark or 'run'}"))
    return params


def segments(command):
    """Split a command line into its simple commands (at ``&&``, ``||``, ``;``, ``|``), leading ``VAR=value`` dropped."""
    words = shlex.split(command, comments=True)
    parts, current = [], []
    for word in words + [";"]:
        if word in SEPARATORS:
            while current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", current[0]):
                current.pop(0)
            if current:
                parts.append(current)
            current = []
        else:
            current.append(word)
    return parts


def help_command(words):
    """Return ``(argv asking the tool for --help, index of the first argument)``, or None for a tool not checked."""
    if words[0].startswith("facenet-vae-"):
        return [words[0], "--help"], 1
    if words[0] in PYTHON and len(words) > 1:
        if words[1] == "-m" and words[2] != "pytest":
            if len(words) > 3 and re.fullmatch(r"[a-z]+", words[3]):   # a sub-command (keras_bridge export)
                return [sys.executable, "-m", words[2], words[3], "--help"], 4
            return [sys.executable, "-m", words[2], "--help"], 3
        if words[1].endswith(".py"):
            return [sys.executable, words[1], "--help"], 2
        return None
    assert words[0] in UNCHECKED_TOOLS, f"unknown tool {words[0]!r}: teach test_docs_commands.py how to check it"
    return None


_HELP = {}


def defined_flags(argv):
    """The flag names the tool's --help lists (absl's ``--[no]name`` and argparse's ``--name`` alike)."""
    key = tuple(argv)
    if key not in _HELP:
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                                env=_environment())
        text = result.stdout + result.stderr
        names = set(re.findall(r"--(?:\[no\])?([A-Za-z][A-Za-z0-9_]*)", text)) - {"help", "helpfull", "flagfile"}
        # absl's own --help exits with 1; a tool that failed to start lists no flags.
        assert result.returncode in (0, 1) and names, f"{' '.join(argv)} failed: {text[-2000:]}"
        _HELP[key] = names | {"flagfile", "help"}
    return _HELP[key]


def check_flags(words):
    """Assert every ``--flag`` of one simple command is defined by its tool."""
    found = help_command(words)
    if found is None:
        return
    argv, first = found
    if not any(word.startswith("--") for word in words[first:]):
        return
    known = defined_flags(argv)
    for word in words[first:]:
        if not word.startswith("--"):
            continue
        name = word[2:].split("=", 1)[0]
        negated = name.startswith("no") and name[2:] in known
        assert name in known or negated, f"{' '.join(words[:first])}: --{name} is not a flag it defines"


def check_paths(words):
    """Assert every path under the repository's own folders or ``../shared`` that a command names exists."""
    for word in words:
        value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        for path in value.split(","):
            if path.startswith("../shared/"):
                assert (SHARED / path[len("../shared/"):]).exists(), f"{path} does not exist in {SHARED}"
            elif path.split("/")[0] in REPOSITORY_FOLDERS and "/" in path:
                assert (ROOT / path).exists(), f"{path} does not exist in the repository"


def _environment():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("CUDA_VISIBLE_DEVICES", "")
    return env


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A copy of the repository root made of links, beside a ``shared`` link, so commands write into a temporary folder."""
    base = tmp_path_factory.mktemp("docs")
    repo = base / "repo"
    repo.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {"generated", "eval", "eval_quick", "exported", ".git"}:
            (repo / entry.name).symlink_to(entry)
    (base / "shared").symlink_to(SHARED)
    return repo


@pytest.mark.parametrize("path, language, mark, body", all_fences())
def test_fenced_commands_run_as_written(path, language, mark, body, workdir):
    if language == "python":
        compile(body, str(path), "exec")
        if mark is None:
            script = workdir.parent / "snippet.py"
            script.write_text(body, encoding="utf-8")
            result = subprocess.run([sys.executable, str(script)], cwd=workdir, capture_output=True, text=True,
                                    timeout=RUN_TIMEOUT_S, env=_environment())
            assert result.returncode == 0, f"{path.name}: the Python fence failed:\n{result.stderr[-3000:]}"
        return
    if language != "bash":
        return
    lines = commands(body)
    assert lines, f"{path.name}: an empty bash fence"
    for line in lines:
        if line == ci_command():
            continue  # shell plumbing, not a tool; test_the_readme_... holds it equal to .ci/run
        for words in segments(line):
            check_flags(words)
            if mark != "example":
                check_paths(words)
        if mark is None:
            installs = [words for words in segments(line) if words[0] in INSTALLERS or words[1:3] == ["-m", "pip"]]
            assert not installs, f"{path.name}: `{line}` installs; mark its fence <!-- slow -->"
            result = subprocess.run(["bash", "-c", line], cwd=workdir, capture_output=True, text=True,
                                    timeout=RUN_TIMEOUT_S, env=_environment())
            assert result.returncode == 0, f"{path.name}: `{line}` exited {result.returncode}:\n{result.stderr[-3000:]}"


def ci_command():
    """The last command line of ``.ci/run``: the README's test command."""
    return [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")][-1]


def test_the_readme_is_short_and_its_test_command_is_the_ci_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    readme_commands = [line for _, _, body, _ in fences(ROOT / "README.md") for line in commands(body)]
    assert ci_command() in readme_commands, "the README's test command differs from .ci/run's"
    assert any(line.startswith("pip install -e . && python train_vae.py") for line in readme_commands), \
        "the README lost its offline main job"


def _slug(heading):
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_links_lead_somewhere(path):
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    for target in targets:
        if "://" in target:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        relative = os.path.relpath(linked, ROOT)
        if relative in PENDING_DOCS and not linked.exists():
            continue
        assert linked.exists(), f"{path.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), flags=re.MULTILINE)
            assert anchor in {_slug(heading) for heading in headings}, f"{path.name}: no heading #{anchor} in {target}"


@pytest.mark.parametrize("path", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_user_docs_carry_no_issue_numbers(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\bissues? \d+|\(#\d+\)|\bPR \d+", text, flags=re.IGNORECASE), \
        f"{path.name} mentions an issue number; history belongs in commit messages"

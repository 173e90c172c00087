"""The documentation is checked against the code, so nothing the tool can show a user goes undocumented.

1. Every command and every flag of every command's ``--help`` appears in docs/configuration.md; a flag
   that only one command has (or that a command redefines) appears in that command's own section.
2. Every message the tool can print as an error or notice appears in docs/troubleshooting.md. The
   messages are found in the source, not listed by hand: every construction of a subclass of
   :class:`~mfa_process.errors.MfaProcessError` (raised or returned), every ``_stderr(...)`` of the CLI,
   every ``notify``/``notice``/``error`` call and value assigned to a ``notice`` (the notices), and
   every string literal that starts with ``mfa-process: ``. From each, the first long
   literal fragment is taken (an f-string's leading text, else its longest literal part); a message
   with no such fragment must match, as a template, a whole line of troubleshooting.md (a loose check:
   ``{name} dialog {status}`` is satisfied by any documented line with " dialog " in it).
3. Every relative link in docs/*.md, README.md, CONTRIBUTING.md and CHANGELOG.md points at a file that
   exists, and every ``#anchor`` at a heading of the target (GitHub's slug rules).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mfa_process import errors
from mfa_process.cli import COMMANDS, command_module
from mfa_process.parsing import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "mfa_process"
CONFIGURATION = DOCS / "configuration.md"
TROUBLESHOOTING = DOCS / "troubleshooting.md"

#: A literal fragment shorter than this (once stripped) is too common to identify a message.
MIN_FRAGMENT = 15
#: A template with fewer literal characters than this carries no text of its own (a pass-through).
MIN_TEMPLATE_TEXT = 4
#: Code that can never reach a user, by qualified name (none at the moment).
NOT_USER_FACING: frozenset[str] = frozenset()


# -- 1. commands and flags -------------------------------------------------------------------------


def parsers() -> dict[str | None, object]:
    """The argparse parser of the credential_process mode (None) and of every command."""
    out: dict[str | None, object] = {None: build_parser(None)}
    for command in COMMANDS:
        out[command] = build_parser(command, command_module(command))
    return out


def flags_of(parser: object) -> dict[str, str | None]:
    """Every option string of *parser* with the help text of its action."""
    return {flag: action.help for action in parser._actions for flag in action.option_strings}  # type: ignore[attr-defined]


def mentions_flag(text: str, flag: str) -> bool:
    """Whether *flag* appears in *text* as a flag, not inside a longer word (``-p`` is not in ``mfa-process``)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def heading_sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` of every heading, the body running to the next heading of the same or a higher level."""
    lines = text.splitlines()
    heads = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := re.match(r"(#+)\s+(.*)", line))]
    out = []
    for n, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[n + 1 :] if lv <= level), len(lines))
        out.append((title, "\n".join(lines[i + 1 : end])))
    return out


def command_section(text: str, command: str | None) -> str:
    """The section of configuration.md about *command* (None: the credential_process mode)."""
    wanted = "`mfa-process --profile SOURCE`" if command is None else f"`mfa-process {command}`"
    found = [body for title, body in heading_sections(text) if wanted in title]
    assert found, f"docs/configuration.md has no heading with {wanted}"
    return found[0]


def test_every_command_and_flag_is_in_configuration_md():
    text = CONFIGURATION.read_text(encoding="utf-8")
    all_parsers = parsers()
    session = flags_of(all_parsers[None])
    missing = []
    for command, parser in all_parsers.items():
        section = command_section(text, command)
        for flag, help_text in flags_of(parser).items():
            if not mentions_flag(text, flag):
                missing.append(f"{command or '(credential_process mode)'}: {flag} is not in configuration.md")
            own = command is None or session.get(flag, "\0") != help_text
            if own and flag not in ("-h", "--help") and not mentions_flag(section, flag):
                missing.append(f"{command or '(credential_process mode)'}: {flag} is not in its section")
    assert not missing, "\n".join(missing)


def test_flag_check_sees_flags_and_not_words():
    assert mentions_flag("use `-p NAME`", "-p")
    assert not mentions_flag("mfa-process", "-p")
    assert not mentions_flag("--profile-x", "--profile")


# -- 2. messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message the code can show, as found in the source."""

    where: str  # path:line (qualified name)
    source: str  # the expression, for the failure report
    parts: tuple[str | None, ...]  # literal text, None for a placeholder

    def fragment(self) -> str | None:
        """The literal text that identifies the message, or None when it has none long enough."""
        first = self.parts[0] if self.parts else None
        if first is not None and len(first.strip()) >= MIN_FRAGMENT:
            return first.strip()
        longest = max((p.strip() for p in self.parts if p is not None), key=len, default="")
        return longest if len(longest) >= MIN_FRAGMENT else None

    def template(self) -> re.Pattern[str] | None:
        """A pattern for a whole line showing the message (placeholders match anything)."""
        text = "".join(p for p in self.parts if p is not None)
        if len(text.replace(" ", "")) < MIN_TEMPLATE_TEXT:
            return None
        body = "".join(".*?" if p is None else re.escape(p) for p in self.parts)
        return re.compile(rf"(?:mfa-process: )?{body}")


def module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a string or an integer, as text."""
    out = {}
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, (str, int))
            and not isinstance(value.value, bool)
        ):
            for target in targets:
                if isinstance(target, ast.Name):
                    out[target.id] = str(value.value)
    return out


def literal_parts(node: ast.expr, constants: dict[str, str]) -> list[str | None]:
    """The text of a message expression: literals (module constants inlined) and None for the rest."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.JoinedStr):
        out: list[str | None] = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                inner = value.value
                plain = value.conversion == -1 and value.format_spec is None
                out.append(
                    constants[inner.id] if plain and isinstance(inner, ast.Name) and inner.id in constants else None
                )
            else:
                out.extend(literal_parts(value, constants))
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return literal_parts(node.left, constants) + literal_parts(node.right, constants)
    return [None]


def merged(parts: list[str | None]) -> tuple[str | None, ...]:
    """Adjacent literals joined, adjacent placeholders collapsed."""
    out: list[str | None] = []
    for part in parts:
        if out and part is not None and out[-1] is not None:
            out[-1] = str(out[-1]) + part
        elif not (out and part is None and out[-1] is None):
            out.append(part)
    return tuple(out)


def error_names() -> frozenset[str]:
    """Names of every class in the project's exception tree."""
    return frozenset(
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.MfaProcessError)
    )


def callee(node: ast.Call) -> str | None:
    """The called name: ``f`` of ``f(...)`` and of ``x.f(...)``."""
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def qualified_names(tree: ast.Module) -> dict[int, str]:
    """For each node id, the qualified name of the innermost class or function around it."""
    out: dict[int, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
            out[id(child)] = inner
            visit(child, inner)

    visit(tree, "")
    return out


def bodies(tree: ast.Module) -> Iterator[list[ast.stmt]]:
    """The statement lists that may open with a docstring: the module's, each class's and function's."""
    yield tree.body
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.body


def docstring_node(body: list[ast.stmt]) -> bool:
    """Whether *body* opens with a docstring."""
    first = body[0] if body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


#: The functions that write a line to the user (cli._stderr, mfa_process.voice, the refresh context's notify).
VOICE_CALLS = frozenset({"_stderr", "error", "notice", "notify"})


def messages() -> Iterator[Message]:
    """Every user-facing message of the package (see the module docstring)."""
    names = error_names()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = module_constants(tree)
        scopes = qualified_names(tree)
        docstrings = {id(body[0].value) for body in bodies(tree) if docstring_node(body)}
        seen = set()
        for node in ast.walk(tree):
            if id(node) in docstrings:
                continue
            where = f"{relative}:{getattr(node, 'lineno', 0)} ({scopes.get(id(node), '')})"
            if f"{relative}:{scopes.get(id(node), '')}" in NOT_USER_FACING:
                continue
            expr: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args and callee(node) in names | VOICE_CALLS:
                expr = node.args[0]
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "notice" for t in node.targets):
                expr = node.value
            elif isinstance(node, (ast.Constant, ast.JoinedStr)):
                parts = literal_parts(node, constants)
                if parts and isinstance(parts[0], str) and parts[0].startswith("mfa-process: "):
                    expr = node
            if expr is None:
                continue
            parts = merged(literal_parts(expr, constants))
            if parts and parts[0] is not None and parts[0].startswith("mfa-process: "):
                parts = (parts[0][len("mfa-process: ") :], *parts[1:])
            if (where, parts) not in seen:
                seen.add((where, parts))
                yield Message(where, ast.unparse(expr)[:160], parts)


def squeeze(text: str) -> str:
    """*text* with every run of white space made one space (Markdown may wrap prose anywhere)."""
    return re.sub(r"\s+", " ", text)


def documented(message: Message, text: str) -> bool:
    """Whether *text* (troubleshooting.md) shows *message* (see the module docstring)."""
    fragment = message.fragment()
    if fragment is not None:
        return squeeze(fragment) in squeeze(text)
    template = message.template()
    if template is None:
        return True  # a pass-through of another message, checked where that one is made
    return any(template.fullmatch(line.strip()) for line in text.splitlines())


def test_messages_are_found_in_the_source():
    found = list(messages())
    assert len(found) > 60
    sources = " ".join(m.source for m in found)
    for expected in ("no MFA device for profile", "waiting for another mfa-process", "'cancelled'", "role chaining"):
        assert expected in sources, expected


def test_every_message_is_in_troubleshooting_md():
    text = TROUBLESHOOTING.read_text(encoding="utf-8")
    missing = [f"{m.where}: {m.fragment() or m.source}" for m in messages() if not documented(m, text)]
    assert not missing, "messages missing from docs/troubleshooting.md:\n" + "\n".join(missing)


def test_fragments_and_templates():
    constants = {"LIMIT": "3"}
    tree = ast.parse('f"AWS rejected {LIMIT} codes for {serial}; check the device clock"').body[0]
    parts = merged(literal_parts(tree.value, constants))  # type: ignore[attr-defined]
    message = Message("x", "x", parts)
    assert message.fragment() == "AWS rejected 3 codes for"
    short = Message("y", "y", merged(literal_parts(ast.parse('f"{a} dialog {b}"').body[0].value, {})))  # type: ignore[attr-defined]
    assert short.fragment() is None
    assert short.template() is not None
    assert documented(short, "text\nmfa-process: zenity dialog exited with code 1\n")
    assert not documented(short, "a line with nothing of it\n")


# -- 3. links ---------------------------------------------------------------------------------------


def link_sources() -> list[Path]:
    """The Markdown files whose links are checked."""
    files = sorted(DOCS.glob("*.md"))
    files += [p for p in (ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md") if p.exists()]
    return files


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts by its text
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file (duplicate headings get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if in_fence or not match:
            continue
        slug = github_slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def links(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, target)`` of every Markdown link outside code."""
    in_fence = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        prose = re.sub(r"`[^`]*`", "", line)
        for match in re.finditer(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose):
            yield number, match.group(1)
        for match in re.finditer(r"^\s*\[[^\]]+\]:\s*(\S+)", prose):
            yield number, match.group(1)


def broken_links(path: Path) -> list[str]:
    """What is wrong with the links of one file."""
    problems = []
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        relative = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(resolved)
        if not resolved.exists():
            problems.append(f"{path.name}:{number}: {target}: no such file ({relative})")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{path.name}:{number}: {target}: no heading with anchor #{anchor}")
    return problems


@pytest.mark.parametrize("path", link_sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_resolve(path):
    assert not broken_links(path)


def test_slugs_follow_github():
    assert github_slug("Keyrings on headless Linux (servers, CI, WSL)") == "keyrings-on-headless-linux-servers-ci-wsl"
    assert github_slug("`mfa-process login`") == "mfa-process-login"
    assert github_slug("What `--allow-insecure-keyring` does") == "what---allow-insecure-keyring-does"

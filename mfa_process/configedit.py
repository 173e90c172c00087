r"""Safe, comment-preserving edits of ``~/.aws/config`` and ``~/.aws/credentials``.

Only the lines of the keys being changed are rewritten: comments, blank lines, spacing, key order,
other sections and the file's line endings (LF, CRLF or CR) stay byte for byte. The text is parsed
with the same rules as the :class:`configparser.RawConfigParser` that botocore reads these files
with (indented continuation lines, ``=`` or ``:``, case-insensitive keys, nested values such as
``s3 =`` followed by indented ``key = value`` lines), and every edit is checked by re-parsing the
result with :mod:`configparser` itself: if anything but the intended keys would change, nothing is
written. A file botocore would refuse is refused here too, naming the line, and is never rewritten.

Why not ``configupdater``: it round-trips these files well, but lines it inserts always end in
``\n`` (a CRLF file ends up with mixed line endings), ``ConfigUpdater.read()`` opens files in text
mode and drops CRLF altogether, new keys land after a section's trailing comments and blank lines
(glued to the next header), and a new section gets no blank line before it. Working around all of
that costs more than these few hundred lines of standard library code, and it would add a runtime
dependency.

Pure text-in/text-out functions do the editing; :func:`read_text` and :func:`write_atomic` do the
I/O (binary, so line endings survive; atomic rename; permissions kept).
"""

from __future__ import annotations

import configparser
import contextlib
import difflib
import io
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NoReturn

from mfa_process.errors import ConfigError, UsageError
from mfa_process.sections import config_header, profile_of, split_words

__all__ = [
    "CREDENTIAL_KEYS",
    "get_section",
    "parse_check",
    "profile_section",
    "read_text",
    "remove_keys",
    "set_section",
    "unified_diff",
    "update_keys",
    "write_atomic",
]

#: The keys of a long-term (or session) credential in a ``~/.aws/credentials`` profile.
CREDENTIAL_KEYS: Final = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")

#: Keys whose values :func:`unified_diff` never shows.
_SECRET_KEYS: Final = frozenset({"aws_secret_access_key", "aws_session_token", "aws_security_token"})
#: What an unparsable-file message ends with.
_REFUSAL: Final = "fix the file by hand; mfa-process will not rewrite it"
#: configparser's special section: its keys are defaults for every other section.
_CP_DEFAULT: Final = "DEFAULT"
#: Placeholder for configparser's default section, so ``[DEFAULT]`` reads as a plain section.
_NO_DEFAULT: Final = "\x00mfa-process: no default section\x00"
#: Marks a last line without a line ending in :func:`unified_diff`.
_NO_EOL: Final = "\\ No newline at end of file"

_EOL_RE: Final = re.compile(r"\r\n|\r|\n")
# The running interpreter's own patterns: they differ between Python versions (3.9 refuses "]" in names).
_SECTION_RE: Final = configparser.RawConfigParser.SECTCRE
_OPTION_RE: Final = configparser.RawConfigParser.OPTCRE
_NONSPACE_RE: Final = configparser.RawConfigParser.NONSPACECRE
_COMMENT_PREFIXES: Final = ("#", ";")


@dataclass
class _Line:
    text: str  # without its line ending
    eol: str  # "\n", "\r\n", "\r", or "" for a last line without one


@dataclass
class _Option:
    key: str  # lower-cased, as configparser does
    start: int  # index of the ``key = value`` line
    end: int  # index after its last continuation line


@dataclass
class _Section:
    name: str
    header: int  # index of the ``[name]`` line
    options: list[_Option] = field(default_factory=list)


@dataclass
class _Doc:
    lines: list[_Line]
    sections: list[_Section]


class _Unparsable(Exception):
    """A line botocore's parser would reject."""

    def __init__(self, lineno: int, reason: str) -> None:
        super().__init__(lineno, reason)
        self.lineno = lineno
        self.reason = reason


def profile_section(name: str, *, credentials_file: bool) -> str:
    """Return the section of profile ``name``: ``profile NAME`` in config (``default`` stays), ``NAME`` in credentials.

    A name with spaces or quotes is shell-quoted in the config file, the way botocore splits it.
    """
    if not name or name != name.strip() or not name.isprintable():
        raise UsageError(f"cannot use {name!r} as a profile name")
    section = name if credentials_file else config_header(name)
    _check_section_name(section)
    return section


def parse_check(text: str, path: str) -> None:
    """Raise :class:`ConfigError` naming the first line botocore could not parse (``path`` names the file)."""
    _load(text, path)


def get_section(text: str, section: str) -> dict[str, str] | None:
    r"""Return the keys (lower-cased) and values of ``section``, or ``None`` if there is no such section.

    A multi-line (nested) value is returned as configparser joins it: ``"\nkey = value\n..."``.
    """
    _check_section_name(section)
    doc = _load(text, "the file")
    target = _find(doc, section)
    if target is None:
        return None
    return dict(_snapshot(text)[target.name])


def set_section(text: str, section: str, values: Mapping[str, str]) -> str:
    """Make ``values`` the only keys of ``section``, creating it at the end of the text if missing.

    Keys already there keep their place and spelling (only their value is replaced), the other keys
    are removed, new keys go after the section's last key. Comments are kept.
    """
    return _edit(text, section, values, drop_others=True)


def update_keys(text: str, section: str, values: Mapping[str, str]) -> str:
    """Set ``values`` in ``section`` and keep its other keys, creating the section if missing."""
    return _edit(text, section, values, drop_others=False)


def remove_keys(text: str, section: str, keys: Iterable[str]) -> str:
    """Remove ``keys`` (with their continuation lines) from ``section``; comments and other keys stay.

    A missing section or key is not an error.
    """
    return _edit(text, section, {}, drop_others=False, remove={key.lower() for key in keys})


def unified_diff(old: str, new: str, path: str) -> str:
    """Return a unified diff of two versions of a file (``""`` when equal), with secret values redacted."""
    diff = difflib.unified_diff(_diff_lines(old), _diff_lines(new), fromfile=path, tofile=f"{path} (new)", lineterm="")
    out = []
    for index, line in enumerate(diff):
        if index < 2 or line.startswith("@@"):  # file and hunk headers
            out.append(line)
        else:
            out.append(line[0] + _redact(line[1:]))
    return "".join(f"{line}\n" for line in out)


def read_text(path: Path) -> str:
    """Return the file's text exactly as stored (line endings kept), ``""`` if it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read {_display(path)}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = len(_EOL_RE.findall(data[: exc.start].decode("utf-8", "replace"))) + 1
        raise ConfigError(f"{_display(path)} line {lineno}: not valid UTF-8 — {_REFUSAL}") from None


def write_atomic(
    path: Path, text: str, *, backup: bool = False, expect: str | None = None, private: bool = False
) -> Path | None:
    """Replace the file's content with ``text`` atomically; return the backup's path, if one was made.

    The new content goes to a temporary file (mode 0600) in the same directory, is flushed to disk
    and renamed over the file, which keeps its permission bits (0600 for a new file, in a directory
    created 0700 if missing). A symlink is written through: its target is replaced and the link stays.
    ``backup`` first copies the old content to ``<name>.<timestamp>.bak`` (mode 0600) beside ``path``.
    ``expect`` is the content the caller read: if the file changed since, nothing is written. The file is
    checked again (size, modification time, inode and a SHA-256 of its content) right before the rename,
    so an edit another program makes while the backup and the new file are written is never overwritten.
    ``private`` makes the file 0600 whatever its mode was (it holds a secret that was just written).
    """
    display = _display(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        st = _stat_or_none(target)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"cannot write {display}: not a regular file")
        old = target.read_bytes() if st is not None else None
        if expect is not None and (old or b"") != expect.encode("utf-8"):
            _refuse_changed(display)
        if st is None and not path.is_symlink():
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        saved = _write_backup(path, old) if backup and old is not None else None
        try:
            _replace(
                target,
                text.encode("utf-8"),
                st,
                check=lambda: _check_same(target, st, old, display),
                private=private,
            )
        except ConfigError:
            if saved is not None:
                with contextlib.suppress(OSError):
                    saved.unlink()  # nothing was written: a backup of the unchanged file only leaves a copy
            raise
    except OSError as exc:
        raise ConfigError(f"cannot write {display}: {exc.strerror or exc}; it was not changed") from None
    return saved


def _refuse_changed(display: str) -> NoReturn:
    raise ConfigError(f"{display} changed while mfa-process was editing it; run the command again")


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _check_same(target: Path, before: os.stat_result | None, content: bytes | None, display: str) -> None:
    """Refuse unless ``target`` is still the file that was read: same size, mtime, inode and content hash."""
    import hashlib

    now = _stat_or_none(target)
    if before is None or now is None or content is None:
        if before is None and now is None:
            return
        _refuse_changed(display)
    same_stat = (now.st_size, now.st_mtime_ns, now.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    if not same_stat or hashlib.sha256(target.read_bytes()).digest() != hashlib.sha256(content).digest():
        _refuse_changed(display)


# --- parsing -------------------------------------------------------------------------------------


def _split_lines(text: str) -> list[_Line]:
    lines = []
    pos = 0
    for match in _EOL_RE.finditer(text):
        lines.append(_Line(text[pos : match.start()], match.group()))
        pos = match.end()
    if pos < len(text):
        lines.append(_Line(text[pos:], ""))
    return lines


def _parse(text: str) -> _Doc:
    """Mirror ``RawConfigParser._read`` (strict, no inline comments) and botocore's nested values."""
    lines = _split_lines(text)
    sections: list[_Section] = []
    section: _Section | None = None
    option: _Option | None = None
    nested = False  # the current option's value started empty: botocore parses it as nested
    indent_level = 0
    seen: dict[object, int] = {}  # section names and (section, key) pairs -> line number
    in_default: list[tuple[str, _Unparsable]] = []  # bad nested values in [DEFAULT] count only where used
    for index, line in enumerate(lines):
        lineno = index + 1
        value = line.text.strip()
        if not value or value.startswith(_COMMENT_PREFIXES):
            continue
        indent = _indent(line.text)
        if section is not None and option is not None and indent > indent_level:
            option.end = index + 1
            if nested and any(part.strip() and "=" not in part for part in value.splitlines()):
                nested = False
                problem = _Unparsable(lineno, f"a line of the nested value of {option.key!r} has no '='")
                in_default.append((option.key, problem))
                if section.name != _CP_DEFAULT:
                    raise problem
            continue
        indent_level = indent
        header = _SECTION_RE.match(value)
        if header:
            name = header.group("header")
            if name in seen:
                raise _Unparsable(lineno, f"section [{name}] appears again (first at line {seen[name]})")
            if name != _CP_DEFAULT:
                seen[name] = lineno
            section = _Section(name, index)
            sections.append(section)
            option = None
            continue
        if section is None:
            raise _Unparsable(lineno, _line_problem(value, "a line before the first [section] header"))
        key, nested = _option_line(value, lineno)
        if (section.name, key) in seen:
            first = seen[section.name, key]
            raise _Unparsable(lineno, f"key {key!r} appears again in [{section.name}] (first at line {first})")
        seen[section.name, key] = lineno
        option = _Option(key, index, index + 1)
        section.options.append(option)
    _check_defaults(sections, in_default)
    return _Doc(lines, sections)


def _check_defaults(sections: list[_Section], problems: list[tuple[str, _Unparsable]]) -> None:
    """Raise the first bad nested ``[DEFAULT]`` value that botocore reads (through a section lacking the key)."""
    for key, problem in problems:
        if any(s.name != _CP_DEFAULT and key not in {o.key for o in s.options} for s in sections):
            raise problem


def _option_line(value: str, lineno: int) -> tuple[str, bool]:
    """Return the key of a ``key = value`` line and whether its value is empty (then read as nested)."""
    match = _OPTION_RE.match(value)
    if match is None:
        raise _Unparsable(
            lineno, _line_problem(value, "not a [section] header, key = value line, comment or continuation")
        )
    if not match.group("option"):
        raise _Unparsable(lineno, "a value without a key")
    return match.group("option").rstrip().lower(), match.group("value").strip() == ""


def _line_problem(value: str, default: str) -> str:
    return "a section header without ']'" if value.startswith("[") and "]" not in value else default


def _indent(text: str) -> int:
    match = _NONSPACE_RE.search(text)
    return match.start() if match else 0


def _load(text: str, path: str) -> _Doc:
    """Parse ``text``; refuse it (naming the line, never its content) if botocore could not read it."""
    try:
        doc = _parse(text)
    except _Unparsable as exc:
        raise ConfigError(f"{path} line {exc.lineno}: {exc.reason} — {_REFUSAL}") from None
    # The parser botocore uses must agree; this only fires if the mirror above missed a case.
    try:
        configparser.RawConfigParser().read_file(io.StringIO(text, newline=None), source=path)
    except configparser.Error as exc:
        errors = getattr(exc, "errors", None)
        lineno = getattr(exc, "lineno", None) or (errors[0][0] if errors else "?")
        raise ConfigError(f"{path} line {lineno}: configparser refuses it — {_REFUSAL}") from None
    return doc


def _snapshot(text: str) -> dict[str, dict[str, str]]:
    """Every section's keys and values as configparser reads them (``[DEFAULT]`` as a plain section)."""
    parser = configparser.RawConfigParser(default_section=_NO_DEFAULT)
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error:  # e.g. [DEFAULT] twice, which botocore accepts
        raise ConfigError("the file cannot be edited safely; edit it by hand") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def _section_id(name: str) -> tuple[str, str] | None:
    """Return what botocore makes of a section name (``build_profile_map``): ``("profile", "x")`` etc."""
    profile = profile_of(name)
    if profile is not None:
        return ("profile", profile)
    for prefix in ("sso-session", "services"):
        if name.startswith(prefix):
            parts = split_words(name)
            return (prefix, parts[1]) if parts is not None and len(parts) == 2 else None
    return None if name.startswith("profile") else ("", name)


def _find(doc: _Doc, section: str) -> _Section | None:
    """Find the section named ``section``, also under another spelling botocore reads the same way."""
    wanted = _section_id(section)
    found = [s for s in doc.sections if s.name == section or (wanted is not None and _section_id(s.name) == wanted)]
    if len(found) > 1:
        lines = " and ".join(f"[{s.name}] (line {s.header + 1})" for s in found)
        raise ConfigError(f"{lines} both define [{section}]; remove one by hand, then run the command again")
    return found[0] if found else None


# --- editing -------------------------------------------------------------------------------------


def _check_section_name(section: str) -> None:
    header = _SECTION_RE.match(f"[{section}]")
    if not section or section == _CP_DEFAULT or not section.isprintable() or not header or header["header"] != section:
        raise UsageError(f"cannot use [{section}] as a section of an AWS config file")


def _check_entry(key: str, value: str) -> None:
    """Refuse a key or value that would not read back as itself (the value is never shown)."""
    line = f"{key} = {value}"
    match = _OPTION_RE.match(line)
    if (
        "\r" in line
        or "\n" in line
        or not key
        or key != key.strip()
        or key.startswith(_COMMENT_PREFIXES)
        or _SECTION_RE.match(line) is not None
        or match is None
        or match.group("option") != key
        or match.group("value").rstrip() != value
    ):
        raise UsageError(f"cannot write key {key!r} (or its value) to an AWS config file")


def _edit(
    text: str,
    section: str,
    values: Mapping[str, str],
    *,
    drop_others: bool,
    remove: set[str] | None = None,
) -> str:
    _check_section_name(section)
    wanted: dict[str, tuple[str, str]] = {}  # lower-cased key -> (key as given, value)
    for key, value in values.items():
        _check_entry(key, value)
        if key.lower() in wanted:
            raise UsageError(f"key {key!r} given twice")
        wanted[key.lower()] = (key, value)
    remove = remove or set()
    doc = _load(text, "the file")
    target = _find(doc, section)
    if target is None and not wanted and not drop_others:
        return text
    lines = [_Line(line.text, line.eol) for line in doc.lines]
    eol = _dominant_eol(lines)
    if target is None:
        _append_section(lines, section, list(wanted.values()), eol)
    else:
        _edit_section(lines, target, wanted, eol, drop_others=drop_others, remove=remove)
    new_text = "".join(line.text + line.eol for line in lines)
    values = {lower: value for lower, (_, value) in wanted.items()}
    _verify(text, new_text, target.name if target else section, values, drop_others=drop_others, remove=remove)
    return new_text


def _append_section(lines: list[_Line], section: str, entries: list[tuple[str, str]], eol: str) -> None:
    """Add ``[section]`` and its keys at the end, after one blank line."""
    if lines and not lines[-1].eol:
        lines[-1].eol = eol
    if lines and lines[-1].text.strip():
        lines.append(_Line("", eol))
    lines.append(_Line(f"[{section}]", eol))
    lines.extend(_Line(f"{key} = {value}", eol) for key, value in entries)


def _edit_section(
    lines: list[_Line],
    target: _Section,
    wanted: Mapping[str, tuple[str, str]],
    eol: str,
    *,
    drop_others: bool,
    remove: set[str],
) -> None:
    """Rewrite, remove and add keys of ``target`` in place; new keys go after its last key."""
    present = {option.key for option in target.options}
    added = [entry for lower, entry in wanted.items() if lower not in present]
    last = target.options[-1] if target.options else None
    at = last.end if last else target.header + 1
    if added and not lines[at - 1].eol:
        lines[at - 1].eol = eol
    edits: list[tuple[int, int, list[_Line]]] = []  # (start, end, replacement)
    for option in target.options:
        if option.key in wanted:
            new = _rewrite_option(lines, option, wanted[option.key][1])
            if new is not None:
                edits.append((option.start, option.end, [new]))
        elif drop_others or option.key in remove:
            edits.append((option.start, option.end, []))
    if added:
        indent = _leading(lines[last.start].text) if last else ""
        edits.append((at, at, [_Line(f"{indent}{key} = {value}", eol) for key, value in added]))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[start:end] = replacement


def _rewrite_option(lines: list[_Line], option: _Option, value: str) -> _Line | None:
    """Return the option's line with ``value``, keeping its spelling and spacing; ``None`` if unchanged."""
    first = lines[option.start]
    stripped = first.text.strip()
    match = _OPTION_RE.match(stripped)
    if match is None:  # pragma: no cover - the parser made it an option
        raise AssertionError(stripped)
    if option.end == option.start + 1 and match.group("value").strip() == value:
        return None
    if match.group("value").strip():
        prefix = stripped[: match.start("value")]
    else:  # ``key =`` (maybe of a nested value): no spacing to copy
        prefix = f"{match.group('option')} {match.group('vi')} "
    new_text = _leading(first.text) + prefix + value
    return _Line(new_text if value else new_text.rstrip(), lines[option.end - 1].eol)


def _verify(
    old: str, new: str, section: str, values: Mapping[str, str], *, drop_others: bool, remove: set[str]
) -> None:
    """Check with configparser that exactly the intended keys changed, or refuse the edit."""
    expected = _snapshot(old)
    kept = {} if drop_others else expected.get(section, {})
    expected[section] = {**{key: value for key, value in kept.items() if key not in remove}, **values}
    try:
        _parse(new)
        actual = _snapshot(new)
    except (ConfigError, _Unparsable):
        actual = None
    if actual != expected or list(actual or ()) != list(expected):
        raise ConfigError(f"the file cannot be edited safely around [{section}]; edit it by hand")


def _dominant_eol(lines: list[_Line]) -> str:
    counts: dict[str, int] = {}
    for line in lines:
        if line.eol:
            counts[line.eol] = counts.get(line.eol, 0) + 1
    return max(counts, key=lambda eol: counts[eol]) if counts else "\n"


def _leading(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


# --- diff and I/O --------------------------------------------------------------------------------


def _diff_lines(text: str) -> list[str]:
    lines = _split_lines(text)
    out = [line.text for line in lines]
    if lines and not lines[-1].eol:
        out.append(_NO_EOL)
    return out


def _redact(text: str) -> str:
    stripped = text.strip()
    match = _OPTION_RE.match(stripped)
    if stripped.startswith(_COMMENT_PREFIXES) or match is None:
        return text
    if match.group("option").rstrip().lower() not in _SECRET_KEYS or not match.group("value").strip():
        return text
    return _leading(text) + stripped[: match.start("value")] + "<redacted>"


def _display(path: Path) -> str:
    """``path`` with the home directory shown as ``~``."""
    with contextlib.suppress(RuntimeError, ValueError):
        return str(Path("~") / path.relative_to(Path.home()))
    return str(path)


def _write_backup(path: Path, data: bytes) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        suffix = f"-{attempt}" if attempt else ""
        backup = path.with_name(f"{path.name}.{stamp}{suffix}.bak")
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return backup
    raise FileExistsError(f"too many backups of {path.name} this second")


def _replace(
    target: Path, data: bytes, st: os.stat_result | None, *, check: Callable[[], None], private: bool = False
) -> None:
    """Write ``data`` to a temporary file beside ``target``, run ``check`` (it raises to refuse), then rename."""
    mode = stat.S_IMODE(st.st_mode) if st is not None and not private else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if st is not None and hasattr(os, "fchown"):
                with contextlib.suppress(OSError):  # keep the owner when run as root; else ours
                    os.fchown(handle.fileno(), st.st_uid, st.st_gid)
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        check()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

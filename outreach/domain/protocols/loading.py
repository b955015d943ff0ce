"""Loading profiles: read `config/protocols/*.toml`, and say which file and line is wrong.

A profile that does not hold stops the application at start-up, so its error names the
file, the line of the offending key and the reason.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from outreach.domain.protocols.profile import Profile
from outreach.domain.protocols.sections import read_profile
from outreach.domain.protocols.toml_values import Invalid, KeyPath


class ProfileError(ValueError):
    """A protocol profile is malformed; the message names the file, line and reason."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.reason = file, line, reason


def load_profile(path: Path) -> Profile:
    """Read and check one profile file; raise ProfileError naming file, line and reason."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ProfileError(path.name, line, f"not valid TOML: {exc}") from None
    try:
        return read_profile(path.stem, data)
    except Invalid as exc:
        raise ProfileError(path.name, _KeyLines(text).line_of(exc.path), exc.reason) from None


def load_profiles(directory: Path) -> dict[str, Profile]:
    """Read every profile in a directory, keyed by file stem."""
    return {path.stem: load_profile(path) for path in sorted(directory.glob("*.toml"))}


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


class _KeyLines:
    """Finds the line of a key path in TOML text, for error messages.

    A heuristic, not a parser: it tracks [table] and [[array]] headers and `key =`
    lines, which is how every shipped profile is written. An unknown path falls back
    to its nearest known parent.
    """

    HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    KEY = re.compile(r'^\s*([A-Za-z0-9_."-]+)\s*=')
    INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.lines: dict[KeyPath, int] = {}
        table: KeyPath = ()
        counts: dict[KeyPath, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            header = self.HEADER.match(line)
            if header:
                table = self._header(header, counts)
                self.lines.setdefault(table, number)
                self.lines.setdefault(table[:-1] if header.group(1) == "[[" else table, number)
                continue
            self._keys(line, table, number)

    def _header(self, match: re.Match[str], counts: dict[KeyPath, int]) -> KeyPath:
        path: KeyPath = tuple(part.strip().strip('"') for part in match.group(2).split("."))
        if match.group(1) == "[[":
            counts[path] = counts.get(path, -1) + 1
            path = (*path, counts[path])
        return path

    def _keys(self, line: str, table: KeyPath, number: int) -> None:
        key = self.KEY.match(line)
        if not key:
            return
        path = (*table, *(k.strip('"') for k in key.group(1).split(".")))
        self.lines.setdefault(path, number)
        for inline in self.INLINE_KEY.finditer(line):
            self.lines.setdefault((*path, inline.group(1)), number)

    def line_of(self, path: KeyPath) -> int | None:
        """Answer the line of `path`, or of its nearest parent that has one."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

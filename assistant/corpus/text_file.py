"""Reading a text file of the corpus or of a team's own documents: UTF-8 or a CorpusError naming the file and the
line (and column) of the first byte that is not, never a guess at another encoding."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import CorpusError


def read_utf8(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(str(path), None, f"cannot read file: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CorpusError(
            str(path), line, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at column {column} ({exc.reason})",
            hint="Save the file as UTF-8, then run `assistant index`.",
        ) from exc  # fmt: skip

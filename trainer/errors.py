"""One exception type for mistakes a user can fix (bad flag, bad path, bad file).

Every command line catches `UserInputError`, prints its message as a single
line on stderr and exits with code 2.  Anything else is a bug and keeps its
traceback.  Keeping this in its own tiny module lets `sweeps` and the CLIs
import it without pulling in torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn


class UserInputError(ValueError):
    """A problem in the user's input: config value, flag, path or file.

    The message must be one line that names the culprit (field, file or flag)
    and, where it helps, the allowed values.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse whose flag errors are one `UserInputError` line, not a usage block and exit.

    The CLIs catch `UserInputError` and exit 2, so a mistyped flag reads like any
    other bad input: one line naming the flag, with a pointer to --help.
    """

    def error(self, message: str) -> NoReturn:
        raise UserInputError(f"{self.prog}: {message} (see --help)")


def cli_main(run: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """RUN(argv) (sys.argv[1:] by default), with a `UserInputError` turned into one stderr line and exit code 2."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

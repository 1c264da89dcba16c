"""The body of ``python -m ferrotype``: install ferrotype, then run the program.

    python -m ferrotype script.py [args]     as `python script.py [args]`
    python -m ferrotype -m module [args]     as `python -m module [args]`
    python -m ferrotype stubgen header.h -l z   a .pyi for the header (see _stubgen.py)

``sys.argv`` is what the program would see run directly (``script.py`` or the module's
file first), and ``sys.path[0]`` is the script's directory (for ``-m``, the current one,
which ``python -m ferrotype`` already put there), unless ``-P``/``PYTHONSAFEPATH`` asked
for none. Errors finding the program are reported as Python reports them, with the
same exit status.
"""

import os
import runpy
import sys

from . import install

USAGE = (
    "usage: python -m ferrotype [-m module | script] [args...]\n"
    "       python -m ferrotype stubgen header.h [-l lib] [-o out.pyi]"
)


def _fail(message, status):
    print(message, file=sys.stderr)
    raise SystemExit(status)


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        _fail(USAGE, 0 if args else 2)
    if args[0] == "stubgen":
        # A subcommand, not a program (a script named `stubgen` runs as ./stubgen).
        from ._stubgen import main as stubgen_main

        raise SystemExit(stubgen_main(args[1:]))
    install()
    program = sys.orig_argv[0] if sys.orig_argv else "python"
    if args[0] == "-m":
        if len(args) < 2:
            _fail("Argument expected for the -m option\n" + USAGE, 2)
        # What the interpreter itself calls for `python -m module`: it finds the module
        # (a package's __main__), reports a failure to find it as Python does, sets
        # sys.argv[0] to the module's file and runs it as __main__.
        sys.argv = ["-m", *args[2:]]
        runpy._run_module_as_main(args[1], alter_argv=True)
        return
    path = args[0]
    if path.startswith("-"):
        _fail(f"unknown option {path!r}\n" + USAGE, 2)
    if not os.path.exists(path):
        try:
            open(path, "rb").close()
        except OSError as exc:
            _fail(
                f"{program}: can't open file {os.path.abspath(path)!r}: "
                f"[Errno {exc.errno}] {exc.strerror}",
                2,
            )
    sys.argv = [path, *args[1:]]
    if not sys.flags.safe_path and sys.path:
        if os.path.isdir(path) or not path.endswith((".py", ".pyc", ".pyw")) and _is_zip(path):
            # A directory or zip file with a __main__.py: runpy puts it first itself.
            del sys.path[0]
        else:
            sys.path[0] = os.path.dirname(os.path.realpath(path))
    runpy.run_path(path, run_name="__main__")


def _is_zip(path):
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False

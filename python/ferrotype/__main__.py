"""``python -m ferrotype script.py [args]`` and ``python -m ferrotype -m module [args]``:
run a program with ``ferrotype.install()`` done first, so that its ``import ctypes`` (and
its libraries') gives ferrotype.

``python -m ferrotype stubgen header.h -l z [-o out.pyi]`` writes a type stub of the
header bound with ``ferrotype.include`` (``ferrotype.stubgen``).

The program runs as Python would run it (``sys.argv``, ``sys.path[0]``, exit status);
see ``ferrotype/_launch.py``. No name is bound here: with ``-m``, the module runs in this
module's namespace, as ``python -m`` runs it in ``__main__``'s.
"""

if __name__ == "__main__":
    __import__("ferrotype._launch")._launch.main()

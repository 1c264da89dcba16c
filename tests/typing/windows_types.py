"""ctypes.wintypes: the Windows types, usable for shared declarations on every platform."""

import ctypes
from ctypes import wintypes


class PROCESS_INFO(ctypes.Structure):
    _fields_ = [
        ("hProcess", wintypes.HANDLE),
        ("dwProcessId", wintypes.DWORD),
        ("bInherit", wintypes.BOOL),
        ("szName", wintypes.WCHAR * wintypes.MAX_PATH),
    ]


def main() -> None:
    info = PROCESS_INFO()
    info.dwProcessId = 42
    assert info.dwProcessId == 42
    rect = wintypes.RECT(0, 0, 640, 480)
    width: int = rect.right - rect.left
    assert width == 640
    pt = wintypes.POINT(1, 2)
    assert pt.x == 1
    ft = wintypes.FILETIME()
    assert ft.dwLowDateTime == 0
    color = wintypes.RGB(255, 0, 0)
    assert color == 255
    word = wintypes.WORD(65535)
    assert word.value == 65535
    pdw = wintypes.LPDWORD(wintypes.DWORD(5))
    assert pdw.contents.value == 5
    assert ctypes.sizeof(wintypes.DWORD) == ctypes.sizeof(ctypes.c_ulong)


if __name__ == "__main__":
    main()

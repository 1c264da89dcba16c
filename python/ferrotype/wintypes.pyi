"""The Windows data types of ``ctypes.wintypes``, as aliases of ferrotype's types.

The module imports on every platform, so code declaring Windows structures can be shared.
"""

import sys
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar

from . import (
    Array,
    Structure,
    _Pointer,
    _SimpleCData,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_long,
    c_longlong,
    c_short,
    c_uint,
    c_ulong,
    c_ulonglong,
    c_ushort,
    c_void_p,
    c_wchar,
    c_wchar_p,
)
from ._ctypes import _CArgObject, _CField

if sys.version_info >= (3, 12):
    from . import c_ubyte

    BYTE = c_ubyte
else:
    from . import c_byte

    BYTE = c_byte

WORD = c_ushort
USHORT = c_ushort
DWORD = c_ulong
ULONG = c_ulong
SHORT = c_short
LONG = c_long
BOOL = c_long
INT = c_int
UINT = c_uint
CHAR = c_char
WCHAR = c_wchar
FLOAT = c_float
DOUBLE = c_double
BOOLEAN = BYTE
ATOM = WORD
LANGID = WORD
COLORREF = DWORD
LCID = DWORD
LCTYPE = DWORD
LGRPID = DWORD
LARGE_INTEGER = c_longlong
_LARGE_INTEGER = c_longlong
ULARGE_INTEGER = c_ulonglong
_ULARGE_INTEGER = c_ulonglong
LPSTR = c_char_p
LPCSTR = c_char_p
LPWSTR = c_wchar_p
LPCWSTR = c_wchar_p
OLESTR = c_wchar_p
LPOLESTR = c_wchar_p
LPCOLESTR = c_wchar_p
LPVOID = c_void_p
LPCVOID = c_void_p

# Pointer-sized unsigned and signed integers: aliases of c_ulong/c_long or
# c_ulonglong/c_longlong, depending on the platform.
class WPARAM(_SimpleCData[int]): ...
class LPARAM(_SimpleCData[int]): ...

class VARIANT_BOOL(_SimpleCData[bool]):
    """OLE's 16-bit boolean: 0 is false, -1 (``VARIANT_TRUE``) is true."""

HANDLE = c_void_p
HACCEL = HANDLE
HBITMAP = HANDLE
HBRUSH = HANDLE
HCOLORSPACE = HANDLE
HDC = HANDLE
HDESK = HANDLE
HDWP = HANDLE
HENHMETAFILE = HANDLE
HFONT = HANDLE
HGDIOBJ = HANDLE
HGLOBAL = HANDLE
HHOOK = HANDLE
HICON = HANDLE
HINSTANCE = HANDLE
HKEY = HANDLE
HKL = HANDLE
HLOCAL = HANDLE
HMENU = HANDLE
HMETAFILE = HANDLE
HMODULE = HANDLE
HMONITOR = HANDLE
HPALETTE = HANDLE
HPEN = HANDLE
HRGN = HANDLE
HRSRC = HANDLE
HSTR = HANDLE
HTASK = HANDLE
HWINSTA = HANDLE
HWND = HANDLE
SC_HANDLE = HANDLE
SERVICE_STATUS_HANDLE = HANDLE

if sys.version_info >= (3, 14):
    HCONV = HANDLE
    HCONVLIST = HANDLE
    HCURSOR = HANDLE
    HDDEDATA = HANDLE
    HDROP = HANDLE
    HSZ = HANDLE
    HFILE = INT
    HRESULT = LONG

MAX_PATH: Final = 260

_IntT = TypeVar("_IntT", bound=_SimpleCData[int])
# A field of an integer type: reads an int, takes an int or an instance.
_IntField = _CField[_IntT, int, _IntT | int]

class RECT(Structure):
    left: _IntField[LONG]
    top: _IntField[LONG]
    right: _IntField[LONG]
    bottom: _IntField[LONG]

tagRECT = RECT
RECTL = RECT
_RECTL = RECT

class _SMALL_RECT(Structure):
    Left: _IntField[SHORT]
    Top: _IntField[SHORT]
    Right: _IntField[SHORT]
    Bottom: _IntField[SHORT]

SMALL_RECT = _SMALL_RECT

class _COORD(Structure):
    X: _IntField[SHORT]
    Y: _IntField[SHORT]

class POINT(Structure):
    x: _IntField[LONG]
    y: _IntField[LONG]

tagPOINT = POINT
POINTL = POINT
_POINTL = POINT

class SIZE(Structure):
    cx: _IntField[LONG]
    cy: _IntField[LONG]

tagSIZE = SIZE
SIZEL = SIZE

class FILETIME(Structure):
    dwLowDateTime: _IntField[DWORD]
    dwHighDateTime: _IntField[DWORD]

_FILETIME = FILETIME

class MSG(Structure):
    hWnd: _CField[HWND, int | None, HWND | int | None]
    message: _IntField[UINT]
    wParam: _IntField[WPARAM]
    lParam: _IntField[LPARAM]
    time: _IntField[DWORD]
    pt: _CField[POINT, POINT, POINT]

tagMSG = MSG

class WIN32_FIND_DATAA(Structure):
    dwFileAttributes: _IntField[DWORD]
    ftCreationTime: _CField[FILETIME, FILETIME, FILETIME]
    ftLastAccessTime: _CField[FILETIME, FILETIME, FILETIME]
    ftLastWriteTime: _CField[FILETIME, FILETIME, FILETIME]
    nFileSizeHigh: _IntField[DWORD]
    nFileSizeLow: _IntField[DWORD]
    dwReserved0: _IntField[DWORD]
    dwReserved1: _IntField[DWORD]
    cFileName: _CField[Array[CHAR], bytes, bytes]
    cAlternateFileName: _CField[Array[CHAR], bytes, bytes]

class WIN32_FIND_DATAW(Structure):
    dwFileAttributes: _IntField[DWORD]
    ftCreationTime: _CField[FILETIME, FILETIME, FILETIME]
    ftLastAccessTime: _CField[FILETIME, FILETIME, FILETIME]
    ftLastWriteTime: _CField[FILETIME, FILETIME, FILETIME]
    nFileSizeHigh: _IntField[DWORD]
    nFileSizeLow: _IntField[DWORD]
    dwReserved0: _IntField[DWORD]
    dwReserved1: _IntField[DWORD]
    cFileName: _CField[Array[WCHAR], str, str]
    cAlternateFileName: _CField[Array[WCHAR], str, str]

def RGB(red: int, green: int, blue: int) -> int:
    """A COLORREF from its three 8-bit components."""

# The pointer types, made by POINTER() (named LP_<target> at runtime, and shared by the
# names whose targets are the same class).
class PBYTE(_Pointer[BYTE]): ...

LPBYTE = PBYTE
PBOOLEAN = PBYTE

class PCHAR(_Pointer[CHAR]):
    # As ctypes: converts arguments as c_char_p does (bytes accepted).
    from_param: ClassVar[Callable[[Any], c_char_p | _CArgObject]]

class PDWORD(_Pointer[DWORD]): ...

LPDWORD = PDWORD
LPCOLORREF = PDWORD
PLCID = PDWORD
PULONG = PDWORD

class PFILETIME(_Pointer[FILETIME]): ...

LPFILETIME = PFILETIME

class PFLOAT(_Pointer[FLOAT]): ...
class PHANDLE(_Pointer[HANDLE]): ...

LPHANDLE = PHANDLE
PHKEY = PHANDLE
LPHKL = PHANDLE
LPSC_HANDLE = PHANDLE

class PINT(_Pointer[INT]): ...

LPINT = PINT

class PLARGE_INTEGER(_Pointer[LARGE_INTEGER]): ...
class PMSG(_Pointer[MSG]): ...

LPMSG = PMSG

class PPOINT(_Pointer[POINT]): ...

LPPOINT = PPOINT
PPOINTL = PPOINT

class PRECT(_Pointer[RECT]): ...

LPRECT = PRECT
LPRECTL = PRECT
PRECTL = PRECT

class PSHORT(_Pointer[SHORT]): ...
class PSIZE(_Pointer[SIZE]): ...

LPSIZE = PSIZE
LPSIZEL = PSIZE
PSIZEL = PSIZE

class PSMALL_RECT(_Pointer[SMALL_RECT]): ...
class PUINT(_Pointer[UINT]): ...

LPUINT = PUINT

class PULARGE_INTEGER(_Pointer[ULARGE_INTEGER]): ...
class PUSHORT(_Pointer[USHORT]): ...

PWORD = PUSHORT
LPWORD = PUSHORT

class PWCHAR(_Pointer[WCHAR]):
    # As ctypes: converts arguments as c_wchar_p does (str accepted).
    from_param: ClassVar[Callable[[Any], c_wchar_p | _CArgObject]]

class PWIN32_FIND_DATAA(_Pointer[WIN32_FIND_DATAA]): ...

LPWIN32_FIND_DATAA = PWIN32_FIND_DATAA

class PWIN32_FIND_DATAW(_Pointer[WIN32_FIND_DATAW]): ...

LPWIN32_FIND_DATAW = PWIN32_FIND_DATAW

class PLONG(_Pointer[LONG]): ...

LPLONG = PLONG
PBOOL = PLONG
LPBOOL = PLONG

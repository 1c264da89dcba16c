"""The Windows data types of ``ctypes.wintypes``, as aliases of ferrotype's types.

The names and their C definitions are those of the Windows API ("Windows Data Types" in
Microsoft's documentation); as in ``ctypes``, the module imports on every platform, so
code that declares Windows structures can be shared. Most names are aliases of the
``c_*`` types (``DWORD is c_ulong``), handles are ``c_void_p``, and the few structures are
real ``Structure`` classes.
"""

# ctypes' module does `import ctypes` and uses `ctypes.<name>`, so its one name beyond
# the Windows types is `ctypes` (here, this package); the public names imported below
# are deleted at the end.
import ferrotype as ctypes

from . import (
    POINTER,
    Structure,
    _SimpleCData,
    _version,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_long,
    c_longlong,
    c_short,
    c_ubyte,
    c_uint,
    c_ulong,
    c_ulonglong,
    c_ushort,
    c_void_p,
    c_wchar,
    c_wchar_p,
    sizeof,
)
from . import c_byte as _c_byte

# ---- integers, characters, strings ---------------------------------------------------------

BYTE = c_ubyte if _version.WINTYPES_BYTE_UNSIGNED else _c_byte
WORD = USHORT = c_ushort
DWORD = ULONG = c_ulong
SHORT = c_short
LONG = BOOL = c_long
INT = c_int
UINT = c_uint
CHAR = c_char
WCHAR = c_wchar
FLOAT = c_float
DOUBLE = c_double
BOOLEAN = BYTE
ATOM = LANGID = WORD
COLORREF = LCID = LCTYPE = LGRPID = DWORD
# Structures (unions of two halves) in the headers; one 64-bit integer is what code uses.
LARGE_INTEGER = _LARGE_INTEGER = c_longlong
ULARGE_INTEGER = _ULARGE_INTEGER = c_ulonglong

LPSTR = LPCSTR = c_char_p
LPWSTR = LPCWSTR = OLESTR = LPOLESTR = LPCOLESTR = c_wchar_p
LPVOID = LPCVOID = c_void_p

# WPARAM is UINT_PTR and LPARAM is LONG_PTR: pointer-sized, unsigned and signed.
if sizeof(c_long) == sizeof(c_void_p):
    WPARAM, LPARAM = c_ulong, c_long
else:
    WPARAM, LPARAM = c_ulonglong, c_longlong


class VARIANT_BOOL(_SimpleCData):
    """OLE's 16-bit boolean: 0 is false, -1 (``VARIANT_TRUE``) is true."""

    _type_ = "v"


# ---- handles (``void *`` in the headers) ---------------------------------------------------

HANDLE = c_void_p
_HANDLES = (
    "HACCEL HBITMAP HBRUSH HCOLORSPACE HDC HDESK HDWP HENHMETAFILE HFONT HGDIOBJ HGLOBAL "
    "HHOOK HICON HINSTANCE HKEY HKL HLOCAL HMENU HMETAFILE HMODULE HMONITOR HPALETTE HPEN "
    "HRGN HRSRC HSTR HTASK HWINSTA HWND SC_HANDLE SERVICE_STATUS_HANDLE"
)
if _version.WINTYPES_MORE_HANDLES:
    _HANDLES += " HCONV HCONVLIST HCURSOR HDDEDATA HDROP HSZ"
    HFILE = INT
    HRESULT = LONG
globals().update(dict.fromkeys(_HANDLES.split(), HANDLE))
HKEY = HWND = SC_HANDLE = HANDLE  # named here too, for readers and linters

# ---- structures --------------------------------------------------------------------------

MAX_PATH = 260


def _struct(name, *fields):
    base = ctypes.Structure
    return type(base)(name, (base,), {"_fields_": list(fields), "__module__": __name__})


RECT = tagRECT = RECTL = _RECTL = _struct(
    "RECT", ("left", LONG), ("top", LONG), ("right", LONG), ("bottom", LONG)
)
SMALL_RECT = _SMALL_RECT = _struct(
    "_SMALL_RECT", ("Left", SHORT), ("Top", SHORT), ("Right", SHORT), ("Bottom", SHORT)
)
_COORD = _struct("_COORD", ("X", SHORT), ("Y", SHORT))
POINT = tagPOINT = POINTL = _POINTL = _struct("POINT", ("x", LONG), ("y", LONG))
SIZE = tagSIZE = SIZEL = _struct("SIZE", ("cx", LONG), ("cy", LONG))
FILETIME = _FILETIME = _struct("FILETIME", ("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD))
MSG = tagMSG = _struct(
    "MSG",
    ("hWnd", HWND),
    ("message", UINT),
    ("wParam", WPARAM),
    ("lParam", LPARAM),
    ("time", DWORD),
    ("pt", POINT),
)


def _find_data(name, char):
    return _struct(
        name,
        ("dwFileAttributes", DWORD),
        ("ftCreationTime", FILETIME),
        ("ftLastAccessTime", FILETIME),
        ("ftLastWriteTime", FILETIME),
        ("nFileSizeHigh", DWORD),
        ("nFileSizeLow", DWORD),
        ("dwReserved0", DWORD),
        ("dwReserved1", DWORD),
        ("cFileName", char * MAX_PATH),
        ("cAlternateFileName", char * 14),
    )


WIN32_FIND_DATAA = _find_data("WIN32_FIND_DATAA", CHAR)
WIN32_FIND_DATAW = _find_data("WIN32_FIND_DATAW", WCHAR)


def RGB(red, green, blue):
    """A COLORREF from its three 8-bit components."""
    return red | green << 8 | blue << 16


# ---- pointer types: P<name>, and LP<name> for most ------------------------------------------

LPBOOL = PBOOL = POINTER(BOOL)
PBOOLEAN = POINTER(BOOLEAN)
LPBYTE = PBYTE = POINTER(BYTE)
PCHAR = POINTER(CHAR)
LPCOLORREF = POINTER(COLORREF)
LPDWORD = PDWORD = POINTER(DWORD)
LPFILETIME = PFILETIME = POINTER(FILETIME)
PFLOAT = POINTER(FLOAT)
LPHANDLE = PHANDLE = POINTER(HANDLE)
PHKEY = POINTER(HKEY)
LPHKL = POINTER(HANDLE)
LPINT = PINT = POINTER(INT)
PLARGE_INTEGER = POINTER(LARGE_INTEGER)
PLCID = POINTER(LCID)
LPLONG = PLONG = POINTER(LONG)
LPMSG = PMSG = POINTER(MSG)
LPPOINT = PPOINT = PPOINTL = POINTER(POINT)
LPRECT = PRECT = LPRECTL = PRECTL = POINTER(RECT)
LPSC_HANDLE = POINTER(SC_HANDLE)
PSHORT = POINTER(SHORT)
LPSIZE = PSIZE = LPSIZEL = PSIZEL = POINTER(SIZE)
PSMALL_RECT = POINTER(SMALL_RECT)
LPUINT = PUINT = POINTER(UINT)
PULARGE_INTEGER = POINTER(ULARGE_INTEGER)
PULONG = POINTER(ULONG)
PUSHORT = POINTER(USHORT)
PWCHAR = POINTER(WCHAR)
LPWIN32_FIND_DATAA = PWIN32_FIND_DATAA = POINTER(WIN32_FIND_DATAA)
LPWIN32_FIND_DATAW = PWIN32_FIND_DATAW = POINTER(WIN32_FIND_DATAW)
LPWORD = PWORD = POINTER(WORD)

del _HANDLES, _c_byte, _version
del POINTER, Structure, _SimpleCData, sizeof
del c_char, c_char_p, c_double, c_float, c_int, c_long, c_longlong, c_short, c_ubyte
del c_uint, c_ulong, c_ulonglong, c_ushort, c_void_p, c_wchar, c_wchar_p

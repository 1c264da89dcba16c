import ctypes, warnings
from ctypes import *
warnings.simplefilter("always")
def tryit(f):
    try: return f()
    except Exception as e: return f"{type(e).__name__}: {e}"
t = POINTER(c_int)
print(tryit(lambda: t.set_type(c_float)), t._type_, POINTER(c_int) is t, ctypes._pointer_type_cache.get(c_float) if isinstance(ctypes._pointer_type_cache, dict) else '')
t.set_type(c_int)
lp = POINTER("cell")
print(type(lp), lp.__module__, getattr(lp, '_type_', 'no _type_'))
print(tryit(lambda: lp()))
class cell(Structure): _fields_ = [("n", lp)]
print(tryit(lambda: SetPointerType(lp, cell)), POINTER(cell) is lp)
print(tryit(lambda: SetPointerType(lp, cell)))
lp2 = POINTER("cell2")
print(tryit(lambda: SetPointerType(lp2, cell)))
print(tryit(lambda: SetPointerType(POINTER(c_int), c_int)))
class Q(Structure): pass
print(tryit(lambda: POINTER(int)))
print(tryit(lambda: c_int.__pointer_type__))
print(tryit(lambda: POINTER(c_int).set_type(int)))
class P(ctypes._Pointer): pass
print(tryit(lambda: P.set_type(c_int)), P._type_, tryit(lambda: c_int.__pointer_type__ is P))
print(tryit(lambda: P.set_type(c_double)), P._type_, tryit(lambda: c_double.__pointer_type__ is P))
print(tryit(lambda: POINTER(c_double) is P))
print(tryit(lambda: ctypes._pointer_type_cache.__module__ ))
if not isinstance(ctypes._pointer_type_cache, dict):
  print(tryit(lambda: len(ctypes._pointer_type_cache)), tryit(lambda: list(ctypes._pointer_type_cache)), tryit(lambda: ctypes._pointer_type_cache.clear()))
  print(tryit(lambda: ctypes._pointer_type_cache.__contains__("x")))
  print(tryit(lambda: "cell" in ctypes._pointer_type_cache))
  print(tryit(lambda: ctypes._pointer_type_cache["cell"]))
  print(tryit(lambda: ctypes._pointer_type_cache[cell]))
  print(repr(ctypes._pointer_type_cache)[:40])
  print(tryit(lambda: del_(ctypes._pointer_type_cache, c_int)))
  print(ctypes._pointer_type_cache_fallback)

"""ctypes' private errno: get_errno/set_errno and libraries loaded with use_errno=True.

ctypes keeps a private, thread-local copy of errno. For a function of a ``use_errno=True``
library it swaps the private copy with the real errno right before the call and swaps back right
after, so C sees the value set with ``set_errno`` and ``get_errno`` returns what C left in errno.
Other libraries never touch the private copy.
"""

import errno
import threading

import pytest


@pytest.fixture
def errno_lib(ct, fixture_path):
    return ct.CDLL(fixture_path, use_errno=True)


@pytest.fixture(autouse=True)
def _reset_private_errno(ct):
    ct.set_errno(0)
    yield
    ct.set_errno(0)


def test_set_errno_returns_the_old_value(ct):
    assert ct.get_errno() == 0
    assert ct.set_errno(5) == 0
    assert ct.set_errno(7) == 5
    assert ct.get_errno() == 7
    assert ct.set_errno(-3) == 7
    assert ct.get_errno() == -3


def test_set_errno_errors(ct):
    with pytest.raises(TypeError):
        ct.set_errno("x")
    with pytest.raises(OverflowError):
        ct.set_errno(2**40)
    assert ct.get_errno() == 0


def test_use_errno_captures_errno(ct, errno_lib):
    assert errno_lib.set_errno_to(errno.EINVAL) == -1
    assert ct.get_errno() == errno.EINVAL
    errno_lib.set_errno_to(errno.ERANGE)
    assert ct.get_errno() == errno.ERANGE


def test_use_errno_passes_the_private_value_in(ct, errno_lib):
    ct.set_errno(55)
    assert errno_lib.get_errno_value() == 55
    ct.set_errno(0)
    assert errno_lib.get_errno_value() == 0


def test_use_errno_with_declared_function(ct, errno_lib):
    f = errno_lib.set_errno_to
    f.argtypes = [ct.c_int]
    f.restype = ct.c_int
    f.errcheck = lambda result, func, args: (result, ct.get_errno())
    assert f(errno.ENOENT) == (-1, errno.ENOENT)


def test_without_use_errno_private_errno_is_untouched(ct, lib):
    ct.set_errno(7)
    assert lib.set_errno_to(44) == -1
    assert ct.get_errno() == 7


def test_without_use_errno_private_value_is_not_passed_in(ct, lib):
    lib.set_errno_to(99)  # the real errno of this thread
    ct.set_errno(55)
    assert lib.get_errno_value() != 55


def test_item_access_functions_use_errno_too(ct, errno_lib):
    # lib["name"] builds the function from the same _FuncPtr class, with the same flags
    errno_lib["set_errno_to"](errno.EPERM)
    assert ct.get_errno() == errno.EPERM


def test_private_errno_is_per_thread(ct, errno_lib):
    ct.set_errno(3)
    seen = {}

    def worker():
        seen["initial"] = ct.get_errno()
        errno_lib.set_errno_to(11)
        seen["after_call"] = ct.get_errno()
        ct.set_errno(12)
        seen["after_set"] = ct.get_errno()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == {"initial": 0, "after_call": 11, "after_set": 12}
    assert ct.get_errno() == 3


def test_threads_capture_their_own_errno(ct, errno_lib):
    barrier = threading.Barrier(4)
    results = {}

    def worker(value):
        barrier.wait()
        for _ in range(200):
            errno_lib.set_errno_to(value)
            if ct.get_errno() != value:
                results[value] = ct.get_errno()
                return
        results[value] = value

    threads = [threading.Thread(target=worker, args=(v,)) for v in (21, 22, 23, 24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {21: 21, 22: 22, 23: 23, 24: 24}

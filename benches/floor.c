/* floor.c: the C-extension floor of `make bench` (benches/bench.py, contender "cext").
 *
 * A hand-written CPython extension module that calls the functions of benchlib.c
 * (compiled beside it as its own translation unit, so each is a real call). It is what a
 * binding written in C costs: METH_FASTCALL entry, the argument conversions of the C API,
 * the call and the result object, and nothing else. It keeps the GIL during calls (as
 * ferrotype's `release_gil = False` does); a Point is a tuple of two floats.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

int add(int a, int b);
double scale(double a, double b);
double mixed6(int8_t a, uint16_t b, int32_t c, int64_t d, float e, double f);
int64_t sum_i64(const int64_t *p, int n);
void noop(void);
typedef struct {
    double x, y;
} Point;
Point pt_add(Point a, Point b);
int fill_buf(char *p, int n);

static int check_nargs(Py_ssize_t nargs, Py_ssize_t want) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "expected %zd arguments, got %zd", want, nargs);
        return -1;
    }
    return 0;
}

static PyObject *py_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 2) < 0)
        return NULL;
    long a = PyLong_AsLong(args[0]);
    long b = PyLong_AsLong(args[1]);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(add((int)a, (int)b));
}

static PyObject *py_scale(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 2) < 0)
        return NULL;
    double a = PyFloat_AsDouble(args[0]);
    double b = PyFloat_AsDouble(args[1]);
    if (PyErr_Occurred())
        return NULL;
    return PyFloat_FromDouble(scale(a, b));
}

static PyObject *py_mixed6(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 6) < 0)
        return NULL;
    long a = PyLong_AsLong(args[0]);
    long b = PyLong_AsLong(args[1]);
    long c = PyLong_AsLong(args[2]);
    long long d = PyLong_AsLongLong(args[3]);
    double e = PyFloat_AsDouble(args[4]);
    double f = PyFloat_AsDouble(args[5]);
    if (PyErr_Occurred())
        return NULL;
    return PyFloat_FromDouble(mixed6((int8_t)a, (uint16_t)b, (int32_t)c, (int64_t)d, (float)e, f));
}

static PyObject *py_noop(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 0) < 0)
        return NULL;
    noop();
    Py_RETURN_NONE;
}

static int as_point(PyObject *o, Point *p) {
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) != 2) {
        PyErr_SetString(PyExc_TypeError, "a Point is a tuple of two floats");
        return -1;
    }
    p->x = PyFloat_AsDouble(PyTuple_GET_ITEM(o, 0));
    p->y = PyFloat_AsDouble(PyTuple_GET_ITEM(o, 1));
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *py_pt_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    Point a, b;
    if (check_nargs(nargs, 2) < 0 || as_point(args[0], &a) < 0 || as_point(args[1], &b) < 0)
        return NULL;
    Point r = pt_add(a, b);
    PyObject *x = PyFloat_FromDouble(r.x);
    PyObject *y = x ? PyFloat_FromDouble(r.y) : NULL;
    if (y == NULL) {
        Py_XDECREF(x);
        return NULL;
    }
    PyObject *t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(x);
        Py_DECREF(y);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, x);
    PyTuple_SET_ITEM(t, 1, y);
    return t;
}

/* sum_i64(buffer, n): any buffer of at least n int64 values (an array.array('q'), a
 * ctypes array, a NumPy array). */
static PyObject *py_sum_i64(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 2) < 0)
        return NULL;
    long n = PyLong_AsLong(args[1]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (n < 0 || view.len < n * (Py_ssize_t)sizeof(int64_t)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "buffer too small");
        return NULL;
    }
    int64_t s = sum_i64((const int64_t *)view.buf, (int)n);
    PyBuffer_Release(&view);
    return PyLong_FromLongLong(s);
}

/* strbuf_fill(n): a fresh n-byte buffer filled by fill_buf, returned up to its NUL. */
static PyObject *py_strbuf_fill(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (check_nargs(nargs, 1) < 0)
        return NULL;
    long n = PyLong_AsLong(args[0]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n <= 0 || n > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "size out of range");
        return NULL;
    }
    char buf[1 << 12];
    char *p = n <= (long)sizeof buf ? buf : PyMem_Malloc((size_t)n);
    if (p == NULL)
        return PyErr_NoMemory();
    int len = fill_buf(p, (int)n);
    PyObject *r = PyBytes_FromStringAndSize(p, len);
    if (p != buf)
        PyMem_Free(p);
    return r;
}

static PyMethodDef methods[] = {
    {"add", (PyCFunction)(void (*)(void))py_add, METH_FASTCALL, NULL},
    {"scale", (PyCFunction)(void (*)(void))py_scale, METH_FASTCALL, NULL},
    {"mixed6", (PyCFunction)(void (*)(void))py_mixed6, METH_FASTCALL, NULL},
    {"noop", (PyCFunction)(void (*)(void))py_noop, METH_FASTCALL, NULL},
    {"pt_add", (PyCFunction)(void (*)(void))py_pt_add, METH_FASTCALL, NULL},
    {"sum_i64", (PyCFunction)(void (*)(void))py_sum_i64, METH_FASTCALL, NULL},
    {"strbuf_fill", (PyCFunction)(void (*)(void))py_strbuf_fill, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ferrotype_bench_floor", "make bench's C-extension floor", -1, methods,
};

PyMODINIT_FUNC PyInit__ferrotype_bench_floor(void) { return PyModule_Create(&module); }

/* benchlib.c: the C side of `make bench` (benches/bench.py).
 *
 * The functions do almost nothing, so that the time measured is the cost of getting
 * from Python into C and back: argument conversion, the call, result conversion.
 * bench.py compiles this file with `cc -shared -fPIC -O2` into benches/_build/.
 */
#include <stdint.h>

int add(int a, int b) { return a + b; }

double scale(double a, double b) { return a * b; }

/* One argument of each width and kind the call path must convert. */
double mixed6(int8_t a, uint16_t b, int32_t c, int64_t d, float e, double f) {
    return (double)a + (double)b + (double)c + (double)d + (double)e + f;
}

int64_t sum_i64(const int64_t *p, int n) {
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

void noop(void) {}

/* A small structure by value: two doubles travel in two vector registers each way. */
typedef struct {
    double x, y;
} Point;

Point pt_add(Point a, Point b) {
    Point r = {a.x + b.x, a.y + b.y};
    return r;
}

/* Writes n - 1 bytes of 'x' and a NUL, as a C function filling a caller's buffer. */
int fill_buf(char *p, int n) {
    for (int i = 0; i < n - 1; i++)
        p[i] = 'x';
    p[n - 1] = 0;
    return n - 1;
}

/* Fills a with 0..n-1 in an order fixed by seed (Fisher-Yates with an LCG), so every
 * contender sorts the same input. */
void shuffle_i32(int *a, int n, unsigned seed) {
    for (int i = 0; i < n; i++)
        a[i] = i;
    for (int i = n - 1; i > 0; i--) {
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 8) % (unsigned)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ffibench's w4 signature: int, double, a pointer, int64, float and a string. */
double mixed6p(int a, double b, const void *p, int64_t c, float d, const char *s) {
    return (double)a + b + (p != 0 ? 1.0 : 0.0) + (double)c + (double)d +
           (s != 0 ? (double)(unsigned char)s[0] : 0.0);
}

/* The C side of benches/calls_bench.py: struct results of each size, integer and
 * floating-point arguments on either side of the argument registers, and callbacks
 * from threads Python did not create. */
#include <pthread.h>
#include <stdint.h>

typedef struct { int64_t v[1]; } S8;
typedef struct { int64_t v[2]; } S16;
typedef struct { int64_t v[3]; } S24;
typedef struct { int64_t v[4]; } S32;
typedef struct { int64_t v[8]; } S64;
typedef struct { int64_t v[16]; } S128;

#define RET(N)                                          \
    S##N cb_ret##N(int64_t a) {                         \
        S##N s;                                         \
        for (unsigned i = 0; i < sizeof s.v / 8; ++i)   \
            s.v[i] = a + i;                             \
        return s;                                       \
    }
RET(8)
RET(16)
RET(24)
RET(32)
RET(64)
RET(128)

typedef int64_t L;
L cb_i0(void) { return 0; }
L cb_i1(L a) { return a; }
L cb_i2(L a, L b) { return a + b; }
L cb_i3(L a, L b, L c) { return a + b + c; }
L cb_i4(L a, L b, L c, L d) { return a + b + c + d; }
L cb_i5(L a, L b, L c, L d, L e) { return a + b + c + d + e; }
L cb_i6(L a, L b, L c, L d, L e, L f) { return a + b + c + d + e + f; }
L cb_i7(L a, L b, L c, L d, L e, L f, L g) { return a + b + c + d + e + f + g; }
L cb_i8(L a, L b, L c, L d, L e, L f, L g, L h) { return a + b + c + d + e + f + g + h; }
L cb_i10(L a, L b, L c, L d, L e, L f, L g, L h, L i, L j) {
    return a + b + c + d + e + f + g + h + i + j;
}
L cb_i12(L a, L b, L c, L d, L e, L f, L g, L h, L i, L j, L k, L l) {
    return a + b + c + d + e + f + g + h + i + j + k + l;
}

typedef double D;
D cb_d8(D a, D b, D c, D d, D e, D f, D g, D h) { return a + b + c + d + e + f + g + h; }
D cb_d9(D a, D b, D c, D d, D e, D f, D g, D h, D i) {
    return a + b + c + d + e + f + g + h + i;
}
D cb_d10(D a, D b, D c, D d, D e, D f, D g, D h, D i, D j) {
    return a + b + c + d + e + f + g + h + i + j;
}

typedef struct {
    int (*cb)(int);
    int calls;
    long long sum;
} job_t;

static void *thread_main(void *arg) {
    job_t *job = (job_t *)arg;
    long long s = 0;
    for (int i = 0; i < job->calls; ++i) s += job->cb(i);
    job->sum = s;
    return NULL;
}

/* Starts n (<= 64) threads each calling cb(i) for i < calls; returns the sum of the
 * results, or -1 if a thread could not be started. */
long long cb_threads(int (*cb)(int), int n, int calls) {
    pthread_t tids[64];
    job_t jobs[64];
    int started = 0;
    if (n > 64) n = 64;
    for (int t = 0; t < n; ++t) {
        jobs[t].cb = cb;
        jobs[t].calls = calls;
        jobs[t].sum = 0;
        if (pthread_create(&tids[t], NULL, thread_main, &jobs[t]) != 0) break;
        ++started;
    }
    long long total = 0;
    for (int t = 0; t < started; ++t) {
        pthread_join(tids[t], NULL);
        total += jobs[t].sum;
    }
    return started == n ? total : -1;
}

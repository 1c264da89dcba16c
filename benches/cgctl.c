/* cgctl.c: callgrind client requests for benches/callgrind.py (`make bench-callgrind`).
 *
 * The child process runs under `valgrind --tool=callgrind --instr-atstart=no`: start-up and
 * set-up run uninstrumented, then cg_start() switches instrumentation on, and around each
 * measured loop cg_zero() resets the counters and cg_dump() writes them to a numbered file.
 * Outside valgrind the requests are no-ops. The header comes with Debian's valgrind package.
 */
#include <valgrind/callgrind.h>

void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }

void cg_zero(void) { CALLGRIND_ZERO_STATS; }

void cg_dump(void) { CALLGRIND_DUMP_STATS; }

/*
 * futex_pair [spins] [round trips]: round trips between two OS processes
 * through one shared page, a request word and a reply word, each waited on
 * with up to `spins` pause instructions, then a futex. The floor of an
 * isolated call's transport (issue: isolated mode at per-request speed).
 * Run by wake.sh.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long spin_max;
/* w[1] counts sleepers on w[0]: a waker makes the system call only then. */
static void fwait(atomic_uint *w, unsigned old)
{
    for (long k = 0; k < spin_max; k++) {
        if (atomic_load_explicit(w, memory_order_acquire) != old) return;
        __builtin_ia32_pause();
    }
    atomic_fetch_add(&w[1], 1);
    while (atomic_load_explicit(w, memory_order_seq_cst) == old)
        syscall(SYS_futex, w, FUTEX_WAIT, old, NULL, NULL, 0);
    atomic_fetch_sub(&w[1], 1);
}
static void fwake(atomic_uint *w)
{
    if (atomic_load_explicit(&w[1], memory_order_seq_cst)) syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    spin_max = argc > 1 ? atol(argv[1]) : 0;
    int n = argc > 2 ? atoi(argv[2]) : 20000;
    atomic_uint *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    atomic_uint *req = &w[0], *rep = &w[16];
    if (fork() == 0) {
        for (unsigned i = 0; i < (unsigned)n; i++) {
            fwait(req, i);
            atomic_store_explicit(rep, i + 1, memory_order_seq_cst);
            fwake(rep);
        }
        _exit(0);
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned i = 0; i < (unsigned)n; i++) {
        atomic_store_explicit(req, i + 1, memory_order_seq_cst);
        fwake(req);
        fwait(rep, i);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    wait(NULL);
    printf("two processes, spin %ld: %.2f us per round trip\n", spin_max, ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1e3);
    return 0;
}

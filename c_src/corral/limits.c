/*
 * limits.c: how much memory the VM can get, checked before the allocations
 * that abort the VM when they fail (enif_alloc_resource, enif_make_new_binary
 * and big scratch chunks): a request that cannot succeed raises instead.
 *
 * Three limits apply to a Linux process, and the machine's memory is only
 * one of them: its cgroup's memory limit (containers, systemd units;
 * memory.max in cgroup v2, memory.limit_in_bytes in v1) and its
 * address-space limit (ulimit -v, RLIMIT_AS). For each, what the process
 * could ever have (the limit) and what it can have now (the limit less what
 * is in use):
 *   - a request above some limit is the caller's mistake: ArgumentError;
 *   - a request above what is free now: RuntimeError (out of memory);
 *     what other checks have let through and is not yet in use counts as
 *     taken (Reservations, below).
 * Small requests (below CORRAL__CHECK_VM_FROM) are not checked: reading the limits costs
 * a few system calls, and a small allocation that fails is rare enough.
 * Scratch memory is checked by what the whole call holds, not chunk by
 * chunk (call.c, "Cleanup stack and scratch arena"): many small arrays
 * decoded from one argument add up.
 * Where a limit cannot be read (another OS, no /proc), it is left out.
 */
#include "corral_internal.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/resource.h>
#include <unistd.h>
#endif

typedef struct {
    size_t ever, now; /* bytes */
    const char *name;
} limit;

static void tighten(limit *l, size_t ever, size_t now, const char *name)
{
    if (ever < l->ever) {
        l->ever = ever;
        l->name = name;
    }
    if (now < l->now) l->now = now;
}

#ifdef _WIN32
/* Windows: the physical memory and what of it is available; there is no
 * address-space limit or cgroup to read (a job object's limit is not). */
static size_t machine_bytes(void)
{
    MEMORYSTATUSEX m = {.dwLength = sizeof m};
    return GlobalMemoryStatusEx(&m) ? (size_t)m.ullTotalPhys : 0;
}

static void machine_limit(limit *l)
{
    MEMORYSTATUSEX m = {.dwLength = sizeof m};
    if (GlobalMemoryStatusEx(&m)) tighten(l, (size_t)m.ullTotalPhys, (size_t)m.ullAvailPhys, "the machine's memory");
}

static void address_space_limit(limit *l) { (void)l; }

static void cgroup_limit(limit *l) { (void)l; }
#else
/* The first unsigned number after `key` in a small text file; 0 if absent. */
static uint64_t read_number(const char *path, const char *key, bool *found)
{
    char buf[4096];
    *found = false;
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = key[0] ? strstr(buf, key) : buf;
    if (p == NULL) return 0;
    p += strlen(key);
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "max", 3) == 0) return 0; /* cgroup: no limit */
    char *end;
    uint64_t v = strtoull(p, &end, 10);
    *found = end != p;
    return v;
}

/* The machine's physical memory in bytes, 0 if unknown. */
static size_t machine_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages <= 0 || page <= 0 ? 0 : (size_t)pages * (size_t)page;
}

static void machine_limit(limit *l)
{
    size_t total = machine_bytes(), now = total;
    if (total == 0) return;
    bool a, b;
    uint64_t avail = read_number("/proc/meminfo", "MemAvailable:", &a);
    uint64_t swap = read_number("/proc/meminfo", "SwapFree:", &b);
    if (a) now = (size_t)((avail + (b ? swap : 0)) * 1024);
    tighten(l, total, now, "the machine's memory");
}

static void address_space_limit(limit *l)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return;
    size_t cap = (size_t)r.rlim_cur, used = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long pages;
        if (fscanf(f, "%lu", &pages) == 1) used = (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    tighten(l, cap, used < cap ? cap - used : 0, "its address-space limit (ulimit -v)");
}

/* The limit and usage files of a cgroup and each of its parents, from
 * `path` (the group, as /proc/self/cgroup names it) up to the root. */
static void cgroup_walk(limit *l, const char *root, char *path, const char *max_file, const char *used_file,
                        const char *name)
{
    char file[768];
    for (;;) {
        bool has_max, has_used;
        snprintf(file, sizeof file, "%s%s/%s", root, path, max_file);
        uint64_t max = read_number(file, "", &has_max);
        snprintf(file, sizeof file, "%s%s/%s", root, path, used_file);
        uint64_t used = read_number(file, "", &has_used);
        /* cgroup v1 writes "no limit" as a number near 2^63. */
        if (has_max && max < (UINT64_C(1) << 62))
            tighten(l, (size_t)max, (size_t)(has_used && used < max ? max - used : 0), name);
        char *slash = strrchr(path, '/');
        if (slash == NULL || slash == path) {
            if (slash == NULL || path[1] == '\0') break;
            path[1] = '\0'; /* the root group last */
        } else {
            *slash = '\0';
        }
    }
}

/* Whether the comma-separated `list` holds `name`. */
static bool has_controller(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return true;
        if (end == NULL) return false;
        p = end + 1;
    }
}

/* The process's memory cgroup and its parents: memory.max in cgroup v2
 * (line "0::/path" of /proc/self/cgroup), memory.limit_in_bytes in v1's
 * memory controller (line "N:...memory...:/path", mounted at
 * /sys/fs/cgroup/memory). */
static void cgroup_limit(limit *l)
{
    char line[512];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (path == NULL) continue;
        *path++ = '\0';
        controllers++;
        if (strcmp(line, "0") == 0 && controllers[0] == '\0') {
            cgroup_walk(l, "/sys/fs/cgroup", path, "memory.max", "memory.current", "its cgroup's memory.max");
            continue;
        }
        if (has_controller(controllers, "memory"))
            cgroup_walk(l, "/sys/fs/cgroup/memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes",
                        "its cgroup's memory.limit_in_bytes");
    }
    fclose(f);
}
#endif

/* {======================================================================
 * Reservations
 *
 * Reading the limits is not enough when several calls allocate at once:
 * each reads the same free memory before any of them has touched its own,
 * and all pass (four calls of 700 MB in a 2 GB cgroup, OOM-killed). So a
 * check that passes adds its request to `reserved`, and the request stays
 * there until its memory is in use (then the usage counts it) or freed.
 * The order makes it exact: a check adds its own request first and then
 * reads the usage; every other request is then either still reserved (the
 * sum returned by the add holds it) or was given back after its memory
 * showed in the usage just read. A request counted twice (reserved and
 * already in use) errs on the safe side for a moment.
 *
 * One counter per NIF library: Corral is compiled into each library, and
 * libraries the VM loads do not share symbols.
 * ======================================================================= */

static atomic_size_t reserved;

static void read_limits(limit *l)
{
    machine_limit(l);
    address_space_limit(l);
    cgroup_limit(l);
}

corral__fit corral__reserve(size_t size, size_t whole, corral__limits *out)
{
    limit l = {SIZE_MAX, SIZE_MAX, NULL};
    /* A request above the machine's memory never fits: it is refused
     * without being reserved, so that a bogus size cannot make the checks
     * running beside it fail. */
    size_t machine = machine_bytes();
    bool plausible = machine == 0 || whole <= machine;
    size_t others = plausible ? atomic_fetch_add(&reserved, size) : 0;
    read_limits(&l);
    out->ever = l.ever;
    out->now = l.now > others ? l.now - others : 0;
    out->name = l.name;
    if (plausible && whole <= l.ever && size <= out->now) return CORRAL__FITS;
    if (plausible) atomic_fetch_sub(&reserved, size);
    return whole > l.ever || !plausible ? CORRAL__NEVER_FITS : CORRAL__NOT_NOW;
}

void corral__unreserve(size_t size) { atomic_fetch_sub(&reserved, size); }

static void unreserve_at_end(void *size) { corral__unreserve((size_t)(uintptr_t)size); }

/* }====================================================================== */

void corral__check_vm_size_large(corral_call *c, size_t size, const char *what)
{
    corral__limits l;
    switch (corral__reserve(size, size, &l)) {
    case CORRAL__NEVER_FITS:
        corral_raise_argument(c, "cannot allocate %s of %zu bytes: more than this VM can ever have (%zu bytes, %s)",
                              what, size, l.ever, l.name);
    case CORRAL__NOT_NOW:
        corral_raise(c, "cannot allocate %s of %zu bytes: out of memory (about %zu bytes are free)", what, size, l.now);
    case CORRAL__FITS: break;
    }
    /* Given back when the call ends, whichever way: by then the memory is
     * in use (a resource is zeroed at once, a binary filled by the body) or
     * freed. If registering fails, the release runs at once. */
    corral_defer(c, unreserve_at_end, (void *)(uintptr_t)size);
}

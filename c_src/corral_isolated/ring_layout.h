/*
 * ring_layout.h: the memory both VMs of an isolated module map (ring.c).
 * Also included by the tests' native library, which writes into it as a
 * native process with corrupted memory could.
 */
#ifndef CORRAL_RING_LAYOUT_H
#define CORRAL_RING_LAYOUT_H
#include <stdint.h>

#define RING_MAGIC 0x434f5252414c5232ull /* "CORRALR2" */
#define RING_SLOTS 64
/* A slot holds an encoded request or reply up to this size: 64 KiB of
 * binary plus its encoding fits. */
#define SLOT_BYTES (128 * 1024)
#define SLOT_DATA (SLOT_BYTES - 16)

enum { FREE = 0, REQUEST = 1, TAKEN = 2, REPLY = 3, PIPED = 4, PARKED = 5, WAITING = 6 };

typedef struct {
    uint32_t state;
    uint32_t len;
    uint64_t id;
    uint8_t data[SLOT_DATA];
} Slot;

typedef struct {
    uint64_t magic;
    uint32_t slots, slot_bytes;
    uint32_t seq;      /* futex word: bumped after each request */
    uint32_t sleeping; /* the native thread waits on seq */
    uint32_t polling;  /* the serving process polls: nobody to wake */
    /* Bit i set after slot i got a request: the native side finds them
     * with one load instead of a look at 64 slots, each on its own page. */
    uint64_t requested;
    uint8_t pad[4096 - 40];
    Slot slot[RING_SLOTS];
} Region;

_Static_assert(sizeof(Region) == 4096 + RING_SLOTS * sizeof(Slot), "the region's header is one page");

#endif

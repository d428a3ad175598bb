/* Types shared by the files of the test library. */
#ifndef CORRAL_TEST_H
#define CORRAL_TEST_H

#include <corral.h>

typedef struct {
    corral_rwlock lock;
    corral_mutex mutex;
    int64_t value;
    size_t size;
    unsigned char bytes[];
} Counter;

#endif

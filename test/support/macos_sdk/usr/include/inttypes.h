/* Stand-in for the macOS SDK header (see test/support/macos_sdk/README.md).
 * On macOS int64_t is long long, so the 64-bit formats are "ll". */
#ifndef CORRAL_MACOS_INTTYPES_H
#define CORRAL_MACOS_INTTYPES_H
#include <stdint.h>
#define PRId8 "hhd"
#define PRIu8 "hhu"
#define PRId16 "hd"
#define PRIu16 "hu"
#define PRId32 "d"
#define PRIu32 "u"
#define PRIx32 "x"
#define PRId64 "lld"
#define PRIi64 "lli"
#define PRIu64 "llu"
#define PRIx64 "llx"
#define PRIX64 "llX"
#define PRIdPTR "ld"
#define PRIuPTR "lu"
#define PRIxPTR "lx"
#define PRIdMAX "jd"
#define PRIuMAX "ju"
#define SCNd64 "lld"
#define SCNu64 "llu"
intmax_t strtoimax(const char *restrict, char **restrict, int);
uintmax_t strtoumax(const char *restrict, char **restrict, int);
#endif

/* Stand-in for the macOS SDK header (see test/support/macos_sdk/README.md). */
#ifndef CORRAL_MACOS_STDIO_H
#define CORRAL_MACOS_STDIO_H
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
typedef struct __sFILE FILE;
extern FILE *__stdinp, *__stdoutp, *__stderrp;
#define stdin __stdinp
#define stdout __stdoutp
#define stderr __stderrp
#define EOF (-1)
#define BUFSIZ 1024
FILE *fopen(const char *restrict, const char *restrict);
int fclose(FILE *);
size_t fread(void *restrict, size_t, size_t, FILE *restrict);
size_t fwrite(const void *restrict, size_t, size_t, FILE *restrict);
char *fgets(char *restrict, int, FILE *restrict);
int fflush(FILE *);
int fputs(const char *restrict, FILE *restrict);
int fputc(int, FILE *);
int puts(const char *);
int printf(const char *restrict, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *restrict, const char *restrict, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *restrict, const char *restrict, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *restrict, size_t, const char *restrict, ...) __attribute__((format(printf, 3, 4)));
int vfprintf(FILE *restrict, const char *restrict, va_list) __attribute__((format(printf, 2, 0)));
int vsnprintf(char *restrict, size_t, const char *restrict, va_list) __attribute__((format(printf, 3, 0)));
int fscanf(FILE *restrict, const char *restrict, ...) __attribute__((format(scanf, 2, 3)));
int sscanf(const char *restrict, const char *restrict, ...) __attribute__((format(scanf, 2, 3)));
void perror(const char *);
#endif

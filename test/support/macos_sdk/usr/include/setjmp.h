/* Stand-in for the macOS SDK header (see test/support/macos_sdk/README.md). */
#ifndef CORRAL_MACOS_SETJMP_H
#define CORRAL_MACOS_SETJMP_H
#if defined(__arm64__) || defined(__aarch64__)
#define _JBLEN ((14 + 8 + 2) * 2)
#else
#define _JBLEN ((9 * 2) + 3 + 16)
#endif
typedef int jmp_buf[_JBLEN];
typedef int sigjmp_buf[_JBLEN + 1];
int setjmp(jmp_buf);
_Noreturn void longjmp(jmp_buf, int);
int _setjmp(jmp_buf);
_Noreturn void _longjmp(jmp_buf, int);
int sigsetjmp(sigjmp_buf, int);
_Noreturn void siglongjmp(sigjmp_buf, int);
#endif

/* Stand-in for the macOS SDK header (see test/support/macos_sdk/README.md). */
#ifndef CORRAL_MACOS_UNISTD_H
#define CORRAL_MACOS_UNISTD_H
#include <sys/types.h>
#define _SC_PAGESIZE 29
#define _SC_PAGE_SIZE _SC_PAGESIZE
#define _SC_NPROCESSORS_CONF 57
#define _SC_NPROCESSORS_ONLN 58
#define _SC_PHYS_PAGES 200
#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2
long sysconf(int);
ssize_t read(int, void *, size_t);
ssize_t write(int, const void *, size_t);
int close(int);
int pipe(int[2]);
int dup(int);
int dup2(int, int);
pid_t getpid(void);
pid_t getppid(void);
unsigned int sleep(unsigned int);
int usleep(unsigned int);
int unlink(const char *);
off_t lseek(int, off_t, int);
_Noreturn void _exit(int);
int getpagesize(void);
#endif

/* Stand-in for the macOS SDK header (see test/support/macos_sdk/README.md). */
#ifndef CORRAL_MACOS_MATH_H
#define CORRAL_MACOS_MATH_H
#define HUGE_VAL __builtin_huge_val()
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)
double fabs(double);
double floor(double);
double ceil(double);
double trunc(double);
double round(double);
double sqrt(double);
double pow(double, double);
double exp(double);
double log(double);
double fmod(double, double);
double ldexp(double, int);
double frexp(double, int *);
double modf(double, double *);
double nextafter(double, double);
float fabsf(float);
float sqrtf(float);
#endif

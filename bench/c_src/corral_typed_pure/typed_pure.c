/* add(a, b) as a typed declaration with a pure body: no setjmp frame, the
 * sum checked for overflow (ArithmeticError). Compare with add/2 in
 * c_src/corral_bench (CORRAL_NIF) and c_src/handwritten. */
#include <corral.h>

CORRAL_PURE(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }

CORRAL_MODULE(Bench.CorralTypedPure, CORRAL_EXPORT(add));

/* add(a, b) as a typed declaration whose body has the call context
 * (CORRAL_DEF): the same frame and cleanups as CORRAL_NIF. */
#include <corral.h>

CORRAL_DEF(add, i64, (i64, a), (i64, b)) { return corral_add_i64(c, a, b); }

CORRAL_MODULE(Bench.CorralTypedDef, CORRAL_EXPORT(add));

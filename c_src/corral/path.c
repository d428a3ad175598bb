/*
 * path.c: routes from the arguments to a nested term, and the messages
 * that name them ("argument 1, index 3, key :name: expected ...").
 */
#include "corral_internal.h"

#include <stdio.h>
#include <string.h>

#define ARG(i) {NULL, i, CORRAL__AT_ARG}
const corral__where corral__arg_where[16] = {ARG(0), ARG(1), ARG(2),  ARG(3),  ARG(4),  ARG(5),  ARG(6),  ARG(7),
                                             ARG(8), ARG(9), ARG(10), ARG(11), ARG(12), ARG(13), ARG(14), ARG(15)};
#undef ARG

/* A pinned route and the container it leads to. */
typedef struct {
    corral__where at;
    ERL_NIF_TERM term;
} pinned;

/* A route that is not an argument's: copied to scratch memory, which lives
 * as long as the call, so elements can point at it safely. A list's keeps
 * the list (even with no route: its elements' indexes are counted from it). */
const corral__where *corral__pin_slow(corral_call *c, const corral_term *t, bool list)
{
    static const corral__where none = {NULL, 0, CORRAL__AT_NONE};
    if (!list && t->at.kind == CORRAL__AT_NONE && t->at.parent == NULL) return &none;
    pinned *p = corral_alloc(c, sizeof *p);
    p->at = t->at;
    p->term = t->term;
    return &p->at;
}

/* The index of a CORRAL__AT_CELL element: the cells walked from the start
 * of its list until the rest is the one the element's route holds. The
 * list is an argument (its route is in corral__arg_where) or pinned with
 * corral__pin_list. */
static bool cell_index(corral_call *c, const corral__where *w, size_t *index)
{
    const corral__where *list_at = w->parent;
    ERL_NIF_TERM list, head;
    uintptr_t a = (uintptr_t)list_at, first = (uintptr_t)corral__arg_where;
    if (a >= first && a < first + sizeof corral__arg_where) {
        if (list_at->step >= (uintptr_t)c->argc) return false;
        list = c->argv[list_at->step];
    } else {
        list = ((const pinned *)list_at)->term;
    }
    for (size_t k = 0; enif_get_list_cell(c->env, list, &head, &list); k++) {
        if (list == (ERL_NIF_TERM)w->step) {
            *index = k;
            return true;
        }
    }
    return false;
}

/* Deeper routes print their first steps and "..." for the middle. */
#define ROUTE_MAX 24

static size_t print_step(corral_call *c, const corral__where *w, char *buf, size_t cap)
{
    char key[64];
    int n = 0;
    switch (w->kind) {
    case CORRAL__AT_ARG: n = snprintf(buf, cap, "argument %zu", (size_t)w->step + 1); break;
    case CORRAL__AT_INDEX: n = snprintf(buf, cap, "index %zu", (size_t)w->step); break;
    case CORRAL__AT_ELEMENT: n = snprintf(buf, cap, "element %zu", (size_t)w->step); break;
    case CORRAL__AT_CELL: {
        size_t index;
        n = cell_index(c, w, &index) ? snprintf(buf, cap, "index %zu", index) : snprintf(buf, cap, "an element");
        break;
    }
    case CORRAL__AT_KEY:
        corral__show(c, (ERL_NIF_TERM)w->step, key, sizeof key);
        n = snprintf(buf, cap, "key %s", key);
        break;
    case CORRAL__AT_MAPKEY: n = snprintf(buf, cap, "a key"); break;
    case CORRAL__AT_FIELD: n = snprintf(buf, cap, "field :%s", (const char *)w->step); break;
    default: break;
    }
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t corral__route(corral_call *c, const corral__where *at, char *buf, size_t cap)
{
    const corral__where *steps[ROUTE_MAX];
    size_t depth = 0, total = 0;
    for (const corral__where *w = at; w; w = w->parent) {
        if (w->kind == CORRAL__AT_NONE) continue;
        if (depth < ROUTE_MAX) steps[depth] = w;
        depth++;
    }
    size_t len = 0;
    buf[0] = '\0';
    /* steps[] holds the innermost ROUTE_MAX; print outermost first. */
    size_t shown = depth < ROUTE_MAX ? depth : ROUTE_MAX;
    if (depth > shown) len += (size_t)snprintf(buf, cap, "..., ");
    for (size_t k = shown; k-- > 0 && len + 1 < cap;) {
        if (k + 1 < shown) len += (size_t)snprintf(buf + len, cap - len, ", ");
        if (len + 1 >= cap) break;
        len += print_step(c, steps[k], buf + len, cap - len);
    }
    (void)total;
    return len < cap ? len : cap - 1;
}

void corral__raise_at_v(corral_call *c, ERL_NIF_TERM module, const corral_term *t, const char *expected, va_list ap)
{
    char route[400], what[512], term[CORRAL__SHOWN_MAX];
    /* An optional value (typed (opt, word, name)) may also be nil. */
    size_t lead = 0;
    if ((c->flags & CORRAL__CALL_OPTIONAL) && strncmp(expected, "expected ", 9) == 0)
        lead = (size_t)snprintf(what, sizeof what, "expected nil or ");
    vsnprintf(what + lead, sizeof what - lead, lead ? expected + 9 : expected, ap);
    corral__show(c, t->term, term, sizeof term);
    corral__route(c, &t->at, route, sizeof route);
    if (route[0])
        corral__raisef(c, module, "%s: %s, got: %s", route, what, term);
    else
        corral__raisef(c, module, "%s, got: %s", what, term);
}

void corral__raise_at(corral_call *c, const corral_term *t, const char *expected, ...)
{
    va_list ap;
    va_start(ap, expected);
    corral__raise_at_v(c, corral__atom_argument_error, t, expected, ap);
}

ERL_NIF_TERM corral__raise_at_spread(corral_call *c, CORRAL__SPREAD_PARAMS, const char *expected, ...)
{
    const corral_term t = CORRAL__GATHERED;
    va_list ap;
    va_start(ap, expected);
    corral__raise_at_v(c, corral__atom_argument_error, &t, expected, ap);
}

corral_kind corral_kind_of(corral_call *c, ERL_NIF_TERM term)
{
    switch (enif_term_type(c->env, term)) {
    case ERL_NIF_TERM_TYPE_ATOM: return CORRAL_KIND_ATOM;
    case ERL_NIF_TERM_TYPE_BITSTRING: return CORRAL_KIND_BITSTRING;
    case ERL_NIF_TERM_TYPE_FLOAT: return CORRAL_KIND_FLOAT;
    case ERL_NIF_TERM_TYPE_FUN: return CORRAL_KIND_FUN;
    case ERL_NIF_TERM_TYPE_INTEGER: return CORRAL_KIND_INTEGER;
    case ERL_NIF_TERM_TYPE_LIST: return CORRAL_KIND_LIST;
    case ERL_NIF_TERM_TYPE_MAP: return CORRAL_KIND_MAP;
    case ERL_NIF_TERM_TYPE_PID: return CORRAL_KIND_PID;
    case ERL_NIF_TERM_TYPE_PORT: return CORRAL_KIND_PORT;
    case ERL_NIF_TERM_TYPE_REFERENCE: return CORRAL_KIND_REFERENCE;
    case ERL_NIF_TERM_TYPE_TUPLE: return CORRAL_KIND_TUPLE;
    default: return CORRAL_KIND_ATOM; /* not reached: every term has one of the kinds above */
    }
}

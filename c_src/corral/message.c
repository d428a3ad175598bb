/*
 * message.c: pids and messages. A corral_msg wraps a process-independent
 * environment so that it is freed exactly once: by the send, by
 * corral_msg_free, or (for corral_msg_new_in) by the end of the call.
 */
#include "corral_internal.h"

struct corral_msg {
    ErlNifEnv *env;    /* NULL once sent or freed */
    bool call_owned;   /* the handle lives in a call's arena */
};

void corral__bad_pid(corral_call *c, int i) { corral_raise_arg(c, i, "expected a local pid"); }

ErlNifPid corral_self(corral_call *c)
{
    ErlNifPid pid;
    if (!enif_self(c->env, &pid)) corral_raise(c, "corral_self: the call does not run in a process");
    return pid;
}

bool corral_send(corral_call *c, const ErlNifPid *to, ERL_NIF_TERM msg)
{
    /* From a process-bound env, a NULL msg_env makes the VM copy msg. */
    return enif_send(c->env, to, NULL, msg) != 0;
}

corral_msg *corral_msg_new(void)
{
    corral_msg *m = corral__alloc_fails() ? NULL : enif_alloc(sizeof *m);
    if (m == NULL) return NULL;
    m->env = corral__alloc_fails() ? NULL : enif_alloc_env();
    if (m->env == NULL) {
        enif_free(m);
        return NULL;
    }
    m->call_owned = false;
    return m;
}

static void free_call_msg(void *arg)
{
    corral_msg *m = arg;
    if (m->env) enif_free_env(m->env);
    m->env = NULL;
}

corral_msg *corral_msg_new_in(corral_call *c)
{
    corral_msg *m = corral_alloc(c, sizeof *m);
    m->env = corral__alloc_fails() ? NULL : enif_alloc_env();
    if (m->env == NULL) corral_raise_oom(c, sizeof *m);
    m->call_owned = true;
    corral_defer(c, free_call_msg, m);
    return m;
}

ErlNifEnv *corral_msg_env(corral_msg *m) { return m->env; }

ERL_NIF_TERM corral_msg_copy(corral_msg *m, ERL_NIF_TERM term) { return enif_make_copy(m->env, term); }

static void finish(corral_msg *m)
{
    if (m->env) enif_free_env(m->env);
    m->env = NULL;
    if (!m->call_owned) enif_free(m);
}

bool corral_msg_send(corral_call *c, corral_msg *m, const ErlNifPid *to, ERL_NIF_TERM msg)
{
    int ok = enif_send(c ? c->env : NULL, to, m->env, msg);
    finish(m);
    return ok != 0;
}

void corral_msg_free(corral_msg *m) { finish(m); }

ErlNifPid corral_get_pid(corral_call *c, corral_term t)
{
    ErlNifPid pid;
    if (!enif_get_local_pid(c->env, t.term, &pid)) corral__raise_at(c, &t, "expected a local pid");
    return pid;
}

ERL_NIF_TERM corral_get_ref(corral_call *c, corral_term t)
{
    if (!enif_is_ref(c->env, t.term)) corral__raise_at(c, &t, "expected a reference");
    return t.term;
}

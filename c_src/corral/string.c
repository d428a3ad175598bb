/*
 * string.c: binaries by route, UTF-8 strings, C strings and charlists.
 */
#include "corral_internal.h"

#include <string.h>

size_t corral_utf8_valid_prefix(const void *data, size_t size)
{
    const unsigned char *p = data;
    size_t k = 0;
    while (k < size) {
        /* ASCII runs, 8 bytes at a time. */
        while (k + 8 <= size) {
            uint64_t w;
            memcpy(&w, p + k, 8);
            if (w & 0x8080808080808080ull) break;
            k += 8;
        }
        if (k >= size) break;
        unsigned char b = p[k];
        if (b < 0x80) {
            k++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;      /* overlong */
            if (b == 0xED) hi = 0x9F;      /* surrogates */
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;      /* overlong */
            if (b == 0xF4) hi = 0x8F;      /* beyond U+10FFFF */
        } else {
            return k;
        }
        if (need >= size - k) return k; /* cut short */
        if (p[k + 1] < lo || p[k + 1] > hi) return k;
        for (size_t j = 2; j <= need; j++)
            if ((p[k + j] & 0xC0) != 0x80) return k;
        k += need + 1;
    }
    return size;
}

corral_binary corral_get_binary(corral_call *c, corral_term t)
{
    ErlNifBinary b;
    if (CORRAL__LIKELY(enif_inspect_binary(c->env, t.term, &b))) return (corral_binary){b.data, b.size};
    corral__raise_at(c, &t, "expected a binary");
}

corral_binary corral_get_iodata(corral_call *c, corral_term t)
{
    ErlNifBinary b;
    if (enif_inspect_binary(c->env, t.term, &b) || enif_inspect_iolist_as_binary(c->env, t.term, &b))
        return (corral_binary){b.data, b.size};
    corral__raise_at(c, &t, "expected iodata (a binary, or a list of binaries and bytes)");
}

ERL_NIF_TERM corral_make_sub_binary(corral_call *c, ERL_NIF_TERM bin, size_t pos, size_t size)
{
    ErlNifBinary b;
    if (!enif_inspect_binary(c->env, bin, &b)) corral_raise(c, "corral_make_sub_binary: the term is not a binary");
    if (pos > b.size || size > b.size - pos)
        corral_raise(c, "corral_make_sub_binary: %zu bytes at %zu lie outside a binary of %zu bytes", size, pos, b.size);
    return enif_make_sub_binary(c->env, bin, pos, size);
}

corral_binary corral_get_string(corral_call *c, corral_term t)
{
    ErlNifBinary b;
    if (!enif_inspect_binary(c->env, t.term, &b)) corral__raise_at(c, &t, "expected a UTF-8 string");
    size_t ok = corral_utf8_valid_prefix(b.data, b.size);
    if (CORRAL__UNLIKELY(ok != b.size))
        corral__raise_at(c, &t, "expected a UTF-8 string (byte %zu is not valid UTF-8)", ok);
    return (corral_binary){b.data, b.size};
}

corral_binary corral_arg_string(corral_call *c, int i) { return corral_get_string(c, corral_arg_term(c, i)); }

const char *corral_get_cstring(corral_call *c, corral_term t)
{
    corral_binary s = corral_get_string(c, t);
    const unsigned char *nul = s.size ? memchr(s.data, 0, s.size) : NULL;
    if (nul)
        corral__raise_at(c, &t, "expected a string without NUL bytes (byte %zu is NUL)", (size_t)(nul - s.data));
    char *out = corral_alloc(c, s.size + 1);
    if (s.size) memcpy(out, s.data, s.size);
    out[s.size] = '\0';
    return out;
}

const char *corral_arg_cstring(corral_call *c, int i) { return corral_get_cstring(c, corral_arg_term(c, i)); }

static size_t put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) return o[0] = (unsigned char)cp, 1;
    if (cp < 0x800) return o[0] = (unsigned char)(0xC0 | (cp >> 6)), o[1] = (unsigned char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

corral_binary corral_get_charlist(corral_call *c, corral_term t)
{
    corral_list l = corral_get_list(c, t);
    size_t n = corral_list_length(c, &l);
    if (n > (SIZE_MAX - 1) / 4) corral_raise_oom(c, n);
    unsigned char *out = corral_alloc(c, 4 * n + 1), *o = out;
    corral_term e;
    while (corral_list_next(c, &l, &e)) {
        unsigned cp;
        if (!enif_get_uint(c->env, e.term, &cp) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            corral__raise_at(c, &e, "expected a Unicode code point (an integer in 0..0x10FFFF, not a surrogate)");
        o += put_utf8(o, cp);
    }
    *o = '\0';
    return (corral_binary){out, (size_t)(o - out)};
}

ERL_NIF_TERM corral_make_string(corral_call *c, const char *s) { return corral_make_binary(c, s, strlen(s)); }

ERL_NIF_TERM corral_make_charlist(corral_call *c, const char *utf8, size_t size)
{
    size_t ok = corral_utf8_valid_prefix(utf8, size);
    if (ok != size) corral_raise(c, "corral_make_charlist: byte %zu is not valid UTF-8", ok);
    /* Built back to front: one cons per code point, no intermediate array. */
    ERL_NIF_TERM list = enif_make_list(c->env, 0);
    const unsigned char *p = (const unsigned char *)utf8;
    size_t k = size;
    while (k > 0) {
        size_t start = k - 1;
        while (start > 0 && (p[start] & 0xC0) == 0x80) start--;
        unsigned cp = p[start];
        size_t w = k - start;
        if (w == 2) cp = ((cp & 0x1Fu) << 6) | (p[start + 1] & 0x3Fu);
        else if (w == 3) cp = ((cp & 0x0Fu) << 12) | ((p[start + 1] & 0x3Fu) << 6) | (p[start + 2] & 0x3Fu);
        else if (w == 4)
            cp = ((cp & 0x07u) << 18) | ((p[start + 1] & 0x3Fu) << 12) | ((p[start + 2] & 0x3Fu) << 6) |
                 (p[start + 3] & 0x3Fu);
        list = enif_make_list_cell(c->env, enif_make_uint(c->env, cp), list);
        k = start;
    }
    return list;
}

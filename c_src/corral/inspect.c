/*
 * inspect.c - render any Erlang term the way Elixir 1.14's Kernel.inspect/1
 * (default options) shows it, into a caller-supplied fixed-size buffer.
 *
 * NIFs cannot call back into Elixir, yet error messages and debug output are
 * far more useful when they show terms exactly as an Elixir developer would
 * see them in IEx. This file re-implements the default Inspect rules for all
 * built-in types on top of the NIF API and, where the NIF API has no accessor
 * (bignums, bitstrings, pids, ports, references, funs, non-Latin-1 atoms), on
 * top of the external term format produced by enif_term_to_binary.
 *
 * Design constraints:
 *  - no heap allocation of its own; the only allocations are the
 *    enif_term_to_binary buffers (always released) and map iterators
 *    (always destroyed);
 *  - rendering stops as soon as the buffer is full, so cost is bounded by
 *    the buffer size plus linear scans Elixir also does (keyword checks);
 *  - recursion depth is bounded by Elixir's own :limit rule (every nested
 *    level consumes at least one item of the 50-item budget), plus a hard
 *    guard, so any term is safe.
 *
 * Known, deliberate differences from Elixir are described next to the code
 * that causes them: structs (map key order, no custom Inspect
 * implementations), local funs (no defining function name), pids/ports/refs
 * of other nodes (node name instead of the VM-internal node index), bignums
 * of more than BIG_MAX_BYTES, and the "#Function<... in file:...>" form of
 * funs defined in scripts.
 */
#include <erl_nif.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elixir's default Inspect.Opts: limit: 50, printable_limit: 4096. */
#define INSPECT_LIMIT 50
#define PRINTABLE_LIMIT 4096
/* Never reached in practice (the limit rule stops at depth 51); kept as a
 * guard so a future change of INSPECT_LIMIT cannot make recursion unbounded. */
#define MAX_DEPTH 64
/* 255 code points of at most 4 UTF-8 bytes each. */
#define ATOM_TEXT_MAX 1020
/* Bignums above this many magnitude bytes (~4900 decimal digits) are not
 * converted to decimal: the quadratic conversion would block the scheduler. */
#define BIG_MAX_BYTES 2048
/* Maps with more keys than this are HAMTs; see map iteration below. */
#define FLATMAP_MAX 32

/* External term format tags (erts/emulator/beam/external.h). */
#define EXT_VERSION 131
#define EXT_SMALL_INTEGER 97
#define EXT_INTEGER 98
#define EXT_ATOM 100
#define EXT_REFERENCE 101
#define EXT_PORT 102
#define EXT_PID 103
#define EXT_SMALL_BIG 110
#define EXT_LARGE_BIG 111
#define EXT_NEW_FUN 112
#define EXT_EXPORT 113
#define EXT_NEW_REFERENCE 114
#define EXT_SMALL_ATOM 115
#define EXT_ATOM_UTF8 118
#define EXT_SMALL_ATOM_UTF8 119
#define EXT_V4_PORT 120
#define EXT_BIT_BINARY 77
#define EXT_NEW_PID 88
#define EXT_NEW_PORT 89
#define EXT_NEWER_REFERENCE 90

/* ------------------------------------------------------------------------ */
/* Output buffer                                                             */
/* ------------------------------------------------------------------------ */

typedef struct {
    ErlNifEnv *env;
    char *buf;
    size_t cap; /* > 0; at most cap - 1 bytes of text */
    size_t len;
    int full;   /* something did not fit: stop rendering, finish with "..." */
} Out;

static void out_put(Out *o, const char *s, size_t n)
{
    size_t room;
    if (o->full)
        return;
    room = o->cap - 1 - o->len;
    if (n > room) {
        memcpy(o->buf + o->len, s, room);
        o->len += room;
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void out_str(Out *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static void out_ch(Out *o, char c)
{
    out_put(o, &c, 1);
}

static void out_u64(Out *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(o, tmp + i, sizeof tmp - i);
}

static void out_i64(Out *o, int64_t v)
{
    if (v < 0) {
        out_ch(o, '-');
        /* Negate in unsigned arithmetic so INT64_MIN is fine. */
        out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        out_u64(o, (uint64_t)v);
    }
}

static size_t out_finish(Out *o)
{
    if (o->full) {
        size_t room = o->cap - 1;
        if (room < 3) {
            memset(o->buf, '.', room);
            o->len = room;
        } else {
            size_t n = o->len < room - 3 ? o->len : room - 3;
            /* Never leave half of a UTF-8 sequence before the dots. */
            while (n > 0 && ((unsigned char)o->buf[n] & 0xC0) == 0x80)
                n--;
            memcpy(o->buf + n, "...", 3);
            o->len = n + 3;
        }
    }
    o->buf[o->len] = '\0';
    return o->len;
}

/* ------------------------------------------------------------------------ */
/* Reading the external term format                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *p;
    size_t n;
} Ext;

static int ext_u8(Ext *e, uint32_t *v)
{
    if (e->n < 1)
        return 0;
    *v = e->p[0];
    e->p += 1;
    e->n -= 1;
    return 1;
}

static int ext_u16(Ext *e, uint32_t *v)
{
    if (e->n < 2)
        return 0;
    *v = ((uint32_t)e->p[0] << 8) | e->p[1];
    e->p += 2;
    e->n -= 2;
    return 1;
}

static int ext_u32(Ext *e, uint32_t *v)
{
    if (e->n < 4)
        return 0;
    *v = ((uint32_t)e->p[0] << 24) | ((uint32_t)e->p[1] << 16) |
         ((uint32_t)e->p[2] << 8) | e->p[3];
    e->p += 4;
    e->n -= 4;
    return 1;
}

static int ext_skip(Ext *e, size_t k)
{
    if (e->n < k)
        return 0;
    e->p += k;
    e->n -= k;
    return 1;
}

/* Starts reading an encoded term: checks the version byte, returns the tag. */
static int ext_begin(Ext *e, const ErlNifBinary *b, uint32_t *tag)
{
    uint32_t v;
    e->p = b->data;
    e->n = b->size;
    return ext_u8(e, &v) && v == EXT_VERSION && ext_u8(e, tag);
}

/* Decodes any of the atom encodings into UTF-8 text (NUL-terminated). */
static int ext_atom(Ext *e, char *txt, size_t *len)
{
    uint32_t tag, n, i;
    int latin1;
    if (!ext_u8(e, &tag))
        return 0;
    switch (tag) {
    case EXT_ATOM:
        latin1 = 1;
        if (!ext_u16(e, &n))
            return 0;
        break;
    case EXT_SMALL_ATOM:
        latin1 = 1;
        if (!ext_u8(e, &n))
            return 0;
        break;
    case EXT_ATOM_UTF8:
        latin1 = 0;
        if (!ext_u16(e, &n))
            return 0;
        break;
    case EXT_SMALL_ATOM_UTF8:
        latin1 = 0;
        if (!ext_u8(e, &n))
            return 0;
        break;
    default:
        return 0;
    }
    if (e->n < n)
        return 0;
    *len = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = e->p[i];
        if (latin1 && c >= 0x80) {
            if (*len + 2 > ATOM_TEXT_MAX)
                return 0;
            txt[(*len)++] = (char)(0xC0 | (c >> 6));
            txt[(*len)++] = (char)(0x80 | (c & 0x3F));
        } else {
            if (*len + 1 > ATOM_TEXT_MAX)
                return 0;
            txt[(*len)++] = (char)c;
        }
    }
    txt[*len] = '\0';
    return ext_skip(e, n);
}

/* Reads a small integer term (as used for fun indexes and uniq values). */
static int ext_int(Ext *e, int64_t *v)
{
    uint32_t tag, x, n, sign, i;
    if (!ext_u8(e, &tag))
        return 0;
    switch (tag) {
    case EXT_SMALL_INTEGER:
        if (!ext_u8(e, &x))
            return 0;
        *v = x;
        return 1;
    case EXT_INTEGER:
        if (!ext_u32(e, &x))
            return 0;
        *v = (int32_t)x;
        return 1;
    case EXT_SMALL_BIG:
        if (!ext_u8(e, &n) || !ext_u8(e, &sign) || n > 8 || e->n < n)
            return 0;
        *v = 0;
        for (i = n; i-- > 0;)
            *v = (int64_t)(((uint64_t)*v << 8) | e->p[i]);
        if (sign)
            *v = -*v;
        return ext_skip(e, n);
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------ */
/* Atom text                                                                 */
/* ------------------------------------------------------------------------ */

/* Fetches an atom's name as UTF-8. OTP 25's enif_get_atom only speaks
 * Latin-1, so atoms with other characters go through the external format. */
static int atom_text(ErlNifEnv *env, ERL_NIF_TERM a, char *txt, size_t *len)
{
    char l1[256];
    int n = enif_get_atom(env, a, l1, sizeof l1, ERL_NIF_LATIN1);
    if (n > 0) {
        int i;
        *len = 0;
        for (i = 0; i < n - 1; i++) {
            unsigned char c = (unsigned char)l1[i];
            if (c >= 0x80) {
                txt[(*len)++] = (char)(0xC0 | (c >> 6));
                txt[(*len)++] = (char)(0x80 | (c & 0x3F));
            } else {
                txt[(*len)++] = (char)c;
            }
        }
        txt[*len] = '\0';
        return 1;
    } else {
        ErlNifBinary b;
        Ext e;
        uint32_t tag;
        int ok;
        if (!enif_is_atom(env, a) || !enif_term_to_binary(env, a, &b))
            return 0;
        ok = ext_begin(&e, &b, &tag);
        if (ok) {
            /* Re-read the tag as part of the atom. */
            e.p -= 1;
            e.n += 1;
            ok = ext_atom(&e, txt, len);
        }
        enif_release_binary(&b);
        return ok;
    }
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static int text_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* True for atoms whose name starts with "Elixir.": Elixir never renders
 * those in keyword syntax. Called for every key of keyword lists and maps,
 * so the common Latin-1 case avoids any conversion. */
static int atom_is_elixir_alias(ErlNifEnv *env, ERL_NIF_TERM a)
{
    char l1[256];
    if (enif_get_atom(env, a, l1, sizeof l1, ERL_NIF_LATIN1) > 0)
        return strncmp(l1, "Elixir.", 7) == 0;
    {
        char txt[ATOM_TEXT_MAX + 1];
        size_t len;
        return atom_text(env, a, txt, &len) && starts_with(txt, len, "Elixir.");
    }
}

/* ------------------------------------------------------------------------ */
/* UTF-8 and escaping (Code.Identifier.escape/3)                            */
/* ------------------------------------------------------------------------ */

/* Decodes one character with the same strictness as Erlang's <<c::utf8>>
 * matching: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Returns the byte length, or 0 if the bytes are not a valid character. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t k, i;
    if (n == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        c &= 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || c > 0x10FFFF ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return k;
}

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Code points String.printable?/2 accepts beyond its ASCII list. */
static int printable_unicode(uint32_t c)
{
    return (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

static void out_hex(Out *o, uint32_t v, int digits)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[8];
    int i;
    for (i = digits - 1; i >= 0; i--) {
        tmp[i] = hex[v & 0xF];
        v >>= 4;
    }
    out_put(o, tmp, (size_t)digits);
}

/* One already-decoded character, as Code.Identifier.escape_map/escape_char
 * render it. The quote character and "#{" are handled by the callers. */
static void escape_cp(Out *o, uint32_t c)
{
    char u[4];
    switch (c) {
    case 7: out_str(o, "\\a"); return;
    case 8: out_str(o, "\\b"); return;
    case 127: out_str(o, "\\d"); return;
    case 27: out_str(o, "\\e"); return;
    case 12: out_str(o, "\\f"); return;
    case 10: out_str(o, "\\n"); return;
    case 13: out_str(o, "\\r"); return;
    case 9: out_str(o, "\\t"); return;
    case 11: out_str(o, "\\v"); return;
    case 92: out_str(o, "\\\\"); return;
    case 0: out_str(o, "\\0"); return;
    case 0xFEFF: out_str(o, "\\uFEFF"); return;
    default: break;
    }
    if ((c >= 32 && c <= 126) || printable_unicode(c)) {
        out_put(o, u, utf8_encode(c, u));
    } else if (c < 0x100) {
        out_str(o, "\\x");
        out_hex(o, c, 2);
    } else if (c < 0x10000) {
        out_str(o, "\\x{");
        out_hex(o, c, 4);
        out_ch(o, '}');
    } else {
        out_str(o, "\\x{");
        out_hex(o, c, 6);
        out_ch(o, '}');
    }
}

/* Escapes a byte string inside `quote`. `limit` counts escape units (a
 * character, an invalid byte, or "#{"), -1 meaning no limit. Returns 1 when
 * input was left over because the limit ran out. */
static int escape_bytes(Out *o, const unsigned char *s, size_t n, char quote, long limit)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        size_t k;
        if (o->full)
            return 0;
        if (limit == 0)
            return 1;
        if (s[i] == (unsigned char)quote) {
            out_ch(o, '\\');
            out_ch(o, quote);
            i++;
        } else if (s[i] == '#' && i + 1 < n && s[i + 1] == '{') {
            out_str(o, "\\#{");
            i += 2;
        } else if ((k = utf8_decode(s + i, n - i, &c)) != 0) {
            escape_cp(o, c);
            i += k;
        } else {
            out_str(o, "\\x");
            out_hex(o, s[i], 2);
            i++;
        }
        if (limit > 0)
            limit--;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Atom classification (Macro.inspect_atom/2 and String.Tokenizer)          */
/* ------------------------------------------------------------------------ */

/*
 * Whether an atom prints as :foo or :"foo" depends on Elixir's identifier
 * tokenizer, which accepts Unicode letters from a fixed set of scripts and
 * rejects mixed-script and non-normalized names. The tables below carry the
 * data Elixir 1.14 itself uses (character class and script set per code
 * point range), extracted from its String.Tokenizer module.
 *
 * id_ranges[i][0] = first code point | class << 21
 * id_ranges[i][1] = last code point  | script set index << 21
 * class: 1 start, 2 uppercase start, 3 continue, 4/5 alternating
 * lowercase/uppercase pairs where even (4) or odd (5) code points are upper.
 */
#define SS_ALL 0xFFFFFFFFFFFULL
static const uint64_t id_scriptsets[40] = {
    0x1, 0x2, 0x4, 0x8, 0x40, 0x80, 0x200, 0x400, 0x1000, 0x2000, 0x4000, 0x10010, 0x40000,
    0x180000, 0x400000, 0x900000, 0x980000, 0x1000000, 0x2002000, 0x4020000, 0x4118000,
    0x8000000, 0x10200180, 0x20000000, 0x40004000, 0x80000000, 0x100400000, 0x200000000,
    0x400000000, 0x800000028, 0x1000000002, 0x2080000020, 0x4000000000, 0x4000000800,
    0x8000000000, 0x10000000000, 0x20000000000, 0x40000000000, 0x90000000002, 0xFFFFFFFFFFF,
};
static const uint32_t id_ranges[481][2] = {
    {0x6000B7,0x4E000B7}, {0x4000C0,0xD6}, {0x4000D8,0xDE}, {0x2000DF,0xF6}, {0x2000F8,0xFF},
    {0x800100,0x131}, {0x800134,0x137}, {0xA00138,0x13E}, {0xA00141,0x148}, {0x80014A,0x178},
    {0xA00179,0x17E}, {0x40018F,0x18F}, {0x8001A0,0x1A1}, {0xA001AF,0x1B0}, {0xA001CD,0x1DC},
    {0x8001DE,0x1E3}, {0x8001E6,0x1EF}, {0x2001F0,0x1F0}, {0x8001F4,0x1F5}, {0x8001F8,0x21B},
    {0x80021E,0x21F}, {0x800226,0x233}, {0x200259,0x259}, {0x2002BB,0x4E002BC},
    {0x2002EC,0x4E002EC}, {0x600300,0x4E00304}, {0x600306,0x4E0030C}, {0x60030F,0x4E00311},
    {0x600313,0x4E00314}, {0x60031B,0x4E0031B}, {0x600323,0x4E00328}, {0x60032D,0x4E0032E},
    {0x600330,0x4E00331}, {0x600335,0x4E00335}, {0x600338,0x4E00339}, {0x600342,0x1000342},
    {0x600345,0x1000345}, {0x20037B,0x100037D}, {0x400386,0x1000386}, {0x400388,0x100038A},
    {0x40038C,0x100038C}, {0x40038E,0x100038F}, {0xA00390,0x1000391}, {0x400392,0x10003A1},
    {0x4003A3,0x10003AB}, {0x2003AC,0x10003BB}, {0x2003BC,0x4E003BC}, {0x2003BD,0x10003CE},
    {0xA003FC,0x10003FD}, {0x4003FE,0x10003FF}, {0x400400,0x80042F}, {0x200430,0x80045F},
    {0x80048A,0x8004C0}, {0xA004C1,0x8004CE}, {0x8004CF,0x8004FF}, {0x800510,0x800529},
    {0x80052E,0x80052F}, {0x400531,0x400556}, {0x200559,0x400559}, {0x200561,0x400586},
    {0x6005B4,0x18005B4}, {0x2005D0,0x18005EA}, {0x2005EF,0x18005F2}, {0x200620,0x20063F},
    {0x200641,0x20064A}, {0x60064B,0x3C00655}, {0x600660,0x4C00669}, {0x600670,0x3C00670},
    {0x200671,0x200672}, {0x200674,0x200674}, {0x200679,0x20068D}, {0x20068F,0x2006A0},
    {0x2006A2,0x2006D3}, {0x2006D5,0x2006D5}, {0x2006E5,0x2006E6}, {0x2006EE,0x2006EF},
    {0x6006F0,0x2006F9}, {0x2006FA,0x2006FC}, {0x2006FF,0x2006FF}, {0x200750,0x20077F},
    {0x200780,0x46007A5}, {0x6007A6,0x46007B0}, {0x2007B1,0x46007B1}, {0x200870,0x200887},
    {0x200889,0x20088E}, {0x2008A0,0x2008AC}, {0x2008B2,0x2008B2}, {0x2008B5,0x2008C9},
    {0x600901,0xA00903}, {0x200904,0xA00939}, {0x60093A,0xA0093C}, {0x20093D,0xA0093D},
    {0x60093E,0xA0094D}, {0x60094F,0xA0094F}, {0x200950,0xA00950}, {0x600956,0xA00957},
    {0x200960,0xA00961}, {0x600962,0xA00963}, {0x600966,0x2C0096F}, {0x200971,0xA00977},
    {0x200979,0xA0097F}, {0x600981,0x600983}, {0x200985,0x60098C}, {0x20098F,0x600990},
    {0x200993,0x6009A8}, {0x2009AA,0x6009B0}, {0x2009B2,0x6009B2}, {0x2009B6,0x6009B9},
    {0x6009BC,0x6009BC}, {0x2009BD,0x6009BD}, {0x6009BE,0x6009C4}, {0x6009C7,0x6009C8},
    {0x6009CB,0x6009CD}, {0x2009CE,0x6009CE}, {0x6009D7,0x6009D7}, {0x2009E0,0x6009E1},
    {0x6009E2,0x6009E3}, {0x6009E6,0x3A009EF}, {0x2009F0,0x6009F1}, {0x6009FE,0x6009FE},
    {0x600A01,0x1400A03}, {0x200A05,0x1400A0A}, {0x200A0F,0x1400A10}, {0x200A13,0x1400A28},
    {0x200A2A,0x1400A30}, {0x200A32,0x1400A32}, {0x200A35,0x1400A35}, {0x200A38,0x1400A39},
    {0x600A3C,0x1400A3C}, {0x600A3E,0x1400A42}, {0x600A47,0x1400A48}, {0x600A4B,0x1400A4D},
    {0x200A5C,0x1400A5C}, {0x600A66,0x3000A6F}, {0x600A70,0x1400A71}, {0x200A72,0x1400A74},
    {0x600A81,0x1200A83}, {0x200A85,0x1200A8D}, {0x200A8F,0x1200A91}, {0x200A93,0x1200AA8},
    {0x200AAA,0x1200AB0}, {0x200AB2,0x1200AB3}, {0x200AB5,0x1200AB9}, {0x600ABC,0x1200ABC},
    {0x200ABD,0x1200ABD}, {0x600ABE,0x1200AC5}, {0x600AC7,0x1200AC9}, {0x600ACB,0x1200ACD},
    {0x200AD0,0x1200AD0}, {0x200AE0,0x1200AE1}, {0x600AE2,0x1200AE3}, {0x600AE6,0x2400AEF},
    {0x600AFA,0x1200AFF}, {0x600B01,0x3600B03}, {0x200B05,0x3600B0C}, {0x200B0F,0x3600B10},
    {0x200B13,0x3600B28}, {0x200B2A,0x3600B30}, {0x200B32,0x3600B33}, {0x200B35,0x3600B39},
    {0x600B3C,0x3600B3C}, {0x200B3D,0x3600B3D}, {0x600B3E,0x3600B43}, {0x600B47,0x3600B48},
    {0x600B4B,0x3600B4D}, {0x600B55,0x3600B57}, {0x200B5F,0x3600B61}, {0x600B66,0x3600B6F},
    {0x200B71,0x3600B71}, {0x600B82,0x4000B82}, {0x200B83,0x4000B83}, {0x200B85,0x4000B8A},
    {0x200B8E,0x4000B90}, {0x200B92,0x4000B95}, {0x200B99,0x4000B9A}, {0x200B9C,0x4000B9C},
    {0x200B9E,0x4000B9F}, {0x200BA3,0x4000BA4}, {0x200BA8,0x4000BAA}, {0x200BAE,0x4000BB9},
    {0x600BBE,0x4000BC2}, {0x600BC6,0x4000BC8}, {0x600BCA,0x4000BCD}, {0x200BD0,0x4000BD0},
    {0x600BD7,0x4000BD7}, {0x600BE6,0x4200BEF}, {0x600C01,0x4400C04}, {0x200C05,0x4400C0C},
    {0x200C0E,0x4400C10}, {0x200C12,0x4400C28}, {0x200C2A,0x4400C33}, {0x200C35,0x4400C39},
    {0x600C3C,0x4400C3C}, {0x200C3D,0x4400C3D}, {0x600C3E,0x4400C44}, {0x600C46,0x4400C48},
    {0x600C4A,0x4400C4D}, {0x600C55,0x4400C56}, {0x200C5D,0x4400C5D}, {0x200C60,0x4400C61},
    {0x600C66,0x4400C6F}, {0x200C80,0x1C00C80}, {0x600C82,0x1C00C83}, {0x200C85,0x1C00C8C},
    {0x200C8E,0x1C00C90}, {0x200C92,0x1C00CA8}, {0x200CAA,0x1C00CB3}, {0x200CB5,0x1C00CB9},
    {0x600CBC,0x1C00CBC}, {0x200CBD,0x1C00CBD}, {0x600CBE,0x1C00CC4}, {0x600CC6,0x1C00CC8},
    {0x600CCA,0x1C00CCD}, {0x600CD5,0x1C00CD6}, {0x200CDD,0x1C00CDD}, {0x200CE0,0x1C00CE1},
    {0x600CE2,0x1C00CE3}, {0x600CE6,0x3400CEF}, {0x200CF1,0x1C00CF2}, {0x600D00,0x2E00D00},
    {0x600D02,0x2E00D03}, {0x200D05,0x2E00D0C}, {0x200D0E,0x2E00D10}, {0x200D12,0x2E00D3A},
    {0x200D3D,0x2E00D3D}, {0x600D3E,0x2E00D43}, {0x600D46,0x2E00D48}, {0x600D4A,0x2E00D4D},
    {0x200D4E,0x2E00D4E}, {0x200D54,0x2E00D56}, {0x600D57,0x2E00D57}, {0x200D60,0x2E00D61},
    {0x600D66,0x2E00D6F}, {0x200D7A,0x2E00D7F}, {0x600D82,0x3800D83}, {0x200D85,0x3800D8E},
    {0x200D91,0x3800D96}, {0x200D9A,0x3800DA5}, {0x200DA7,0x3800DB1}, {0x200DB3,0x3800DBB},
    {0x200DBD,0x3800DBD}, {0x200DC0,0x3800DC6}, {0x600DCA,0x3800DCA}, {0x600DCF,0x3800DD4},
    {0x600DD6,0x3800DD6}, {0x600DD8,0x3800DDE}, {0x600DF2,0x3800DF2}, {0x200E01,0x4800E30},
    {0x600E31,0x4800E31}, {0x200E32,0x4800E32}, {0x600E34,0x4800E3A}, {0x200E40,0x4800E46},
    {0x600E47,0x4800E4E}, {0x600E50,0x4800E59}, {0x200E81,0x2A00E82}, {0x200E84,0x2A00E84},
    {0x200E86,0x2A00E8A}, {0x200E8C,0x2A00EA3}, {0x200EA5,0x2A00EA5}, {0x200EA7,0x2A00EB0},
    {0x600EB1,0x2A00EB1}, {0x200EB2,0x2A00EB2}, {0x600EB4,0x2A00EBC}, {0x200EBD,0x2A00EBD},
    {0x200EC0,0x2A00EC4}, {0x200EC6,0x2A00EC6}, {0x600EC8,0x2A00ECD}, {0x600ED0,0x2A00ED9},
    {0x200EDE,0x2A00EDF}, {0x200F00,0x4A00F00}, {0x600F20,0x4A00F29}, {0x600F35,0x4A00F35},
    {0x600F37,0x4A00F37}, {0x600F3E,0x4A00F3F}, {0x200F40,0x4A00F42}, {0x200F44,0x4A00F47},
    {0x200F49,0x4A00F4C}, {0x200F4E,0x4A00F51}, {0x200F53,0x4A00F56}, {0x200F58,0x4A00F5B},
    {0x200F5D,0x4A00F68}, {0x200F6A,0x4A00F6C}, {0x600F71,0x4A00F72}, {0x600F74,0x4A00F74},
    {0x600F7A,0x4A00F80}, {0x600F82,0x4A00F84}, {0x600F86,0x4A00F87}, {0x200F88,0x4A00F8C},
    {0x600F8D,0x4A00F92}, {0x600F94,0x4A00F97}, {0x600F99,0x4A00F9C}, {0x600F9E,0x4A00FA1},
    {0x600FA3,0x4A00FA6}, {0x600FA8,0x4A00FAB}, {0x600FAD,0x4A00FB8}, {0x600FBA,0x4A00FBC},
    {0x600FC6,0x4A00FC6}, {0x201000,0x320102A}, {0x60102B,0x320103E}, {0x20103F,0x320103F},
    {0x601040,0x3E01049}, {0x201050,0x3201055}, {0x601056,0x3201059}, {0x20105A,0x320105D},
    {0x60105E,0x3201060}, {0x201061,0x3201061}, {0x601062,0x3201064}, {0x201065,0x3201066},
    {0x601067,0x320106D}, {0x20106E,0x3201070}, {0x601071,0x3201074}, {0x201075,0x3201081},
    {0x601082,0x320108D}, {0x20108E,0x320108E}, {0x60108F,0x320109D}, {0x4010C7,0xE010C7},
    {0x4010CD,0xE010CD}, {0x2010D0,0xE010F0}, {0x2010F7,0xE010FA}, {0x2010FD,0xE010FF},
    {0x201200,0xC01248}, {0x20124A,0xC0124D}, {0x201250,0xC01256}, {0x201258,0xC01258},
    {0x20125A,0xC0125D}, {0x201260,0xC01288}, {0x20128A,0xC0128D}, {0x201290,0xC012B0},
    {0x2012B2,0xC012B5}, {0x2012B8,0xC012BE}, {0x2012C0,0xC012C0}, {0x2012C2,0xC012C5},
    {0x2012C8,0xC012D6}, {0x2012D8,0xC01310}, {0x201312,0xC01315}, {0x201318,0xC0135A},
    {0x60135D,0xC0135F}, {0x201380,0xC0138F}, {0x201780,0x22017A2}, {0x2017A5,0x22017A7},
    {0x2017A9,0x22017B3}, {0x6017B6,0x22017CD}, {0x6017D0,0x22017D0}, {0x6017D2,0x22017D2},
    {0x2017D7,0x22017D7}, {0x2017DC,0x22017DC}, {0x6017E0,0x22017E9}, {0x401C90,0xE01CBA},
    {0x401CBD,0xE01CBF}, {0x801E00,0x1E95}, {0x201E96,0x1E99}, {0x401E9E,0x1E9E},
    {0x801EA0,0x1EF9}, {0x201F00,0x1001F07}, {0x401F08,0x1001F0F}, {0x201F10,0x1001F15},
    {0x401F18,0x1001F1D}, {0x201F20,0x1001F27}, {0x401F28,0x1001F2F}, {0x201F30,0x1001F37},
    {0x401F38,0x1001F3F}, {0x201F40,0x1001F45}, {0x401F48,0x1001F4D}, {0x201F50,0x1001F57},
    {0x401F59,0x1001F59}, {0x401F5B,0x1001F5B}, {0x401F5D,0x1001F5D}, {0xA01F5F,0x1001F60},
    {0x201F61,0x1001F67}, {0x401F68,0x1001F6F}, {0x201F70,0x1001F70}, {0x201F72,0x1001F72},
    {0x201F74,0x1001F74}, {0x201F76,0x1001F76}, {0x201F78,0x1001F78}, {0x201F7A,0x1001F7A},
    {0x201F7C,0x1001F7C}, {0x201F80,0x1001F87}, {0x401F88,0x1001F8F}, {0x201F90,0x1001F97},
    {0x401F98,0x1001F9F}, {0x201FA0,0x1001FA7}, {0x401FA8,0x1001FAF}, {0x201FB0,0x1001FB4},
    {0x201FB6,0x1001FB7}, {0x401FB8,0x1001FBA}, {0x401FBC,0x1001FBC}, {0x201FC2,0x1001FC4},
    {0x201FC6,0x1001FC7}, {0x401FC8,0x1001FC8}, {0x401FCA,0x1001FCA}, {0x401FCC,0x1001FCC},
    {0x201FD0,0x1001FD2}, {0x201FD6,0x1001FD7}, {0x401FD8,0x1001FDA}, {0x201FE0,0x1001FE2},
    {0x201FE4,0x1001FE7}, {0x401FE8,0x1001FEA}, {0x401FEC,0x1001FEC}, {0x201FF2,0x1001FF4},
    {0x201FF6,0x1001FF7}, {0x401FF8,0x1001FF8}, {0x401FFA,0x1001FFA}, {0x401FFC,0x1001FFC},
    {0x202D27,0xE02D27}, {0x202D2D,0xE02D2D}, {0x202D80,0xC02D96}, {0x202DA0,0xC02DA6},
    {0x202DA8,0xC02DAE}, {0x202DB0,0xC02DB6}, {0x202DB8,0xC02DBE}, {0x202DC0,0xC02DC6},
    {0x202DC8,0xC02DCE}, {0x202DD0,0xC02DD6}, {0x202DD8,0xC02DDE}, {0x203005,0x2803007},
    {0x203041,0x1A03096}, {0x603099,0x200309A}, {0x20309D,0x1A0309E}, {0x2030A1,0x1E030FA},
    {0x2030FC,0x20030FC}, {0x2030FD,0x1E030FE}, {0x203105,0x160312D}, {0x20312F,0x160312F},
    {0x2031A0,0x16031BF}, {0x203400,0x2804DBF}, {0x204E00,0x2809FFF}, {0x20A67F,0x80A67F},
    {0x20A717,0x4E0A71F}, {0x20A788,0x4E0A788}, {0x40A78D,0xA78D}, {0x80A792,0xA793},
    {0x40A7AA,0xA7AA}, {0x40A7AE,0xA7AE}, {0x80A7B8,0xA7B9}, {0x80A7C0,0xA7C4},
    {0x40A7C5,0xA7C7}, {0xA0A7C8,0xA7CA}, {0x80A7D0,0xA7D1}, {0x20A7D3,0xA7D3},
    {0x80A7D5,0xA7D9}, {0x20A9E7,0x320A9EF}, {0x60A9F0,0x320A9F9}, {0x20A9FA,0x320A9FE},
    {0x20AA60,0x320AA76}, {0x20AA7A,0x320AA7A}, {0x60AA7B,0x320AA7D}, {0x20AA7E,0x320AA7F},
    {0x20AB01,0xC0AB06}, {0x20AB09,0xC0AB0E}, {0x20AB11,0xC0AB16}, {0x20AB20,0xC0AB26},
    {0x20AB28,0xC0AB2E}, {0x20AB66,0xAB67}, {0x20AC00,0x260D7A3}, {0x20FA0E,0x280FA0F},
    {0x20FA11,0x280FA11}, {0x20FA13,0x280FA14}, {0x20FA1F,0x280FA1F}, {0x20FA21,0x280FA21},
    {0x20FA23,0x280FA24}, {0x20FA27,0x280FA29}, {0x611301,0x4211301}, {0x611303,0x4211303},
    {0x61133B,0x421133C}, {0x616FF0,0x2816FF1}, {0x21B11F,0x1A1B11F}, {0x21B120,0x1E1B122},
    {0x21B150,0x1A1B152}, {0x21B164,0x1E1B167}, {0x21DF00,0x1DF1E}, {0x21E7E0,0xC1E7E6},
    {0x21E7E8,0xC1E7EB}, {0x21E7ED,0xC1E7EE}, {0x21E7F0,0xC1E7FE}, {0x220000,0x282A6DF},
    {0x22A700,0x282B738}, {0x22B740,0x282B81D}, {0x22B820,0x282CEA1}, {0x22CEB0,0x282EBE0},
    {0x230000,0x283134A},
};

/* Canonical composition pairs {base, mark, composite} relevant to
 * identifiers (from OTP's Unicode data), sorted by composite; nfc_by_pair
 * lists the same entries ordered by (base, mark). */
static const uint16_t nfc_comp[917][3] = {
    {65,768,192}, {65,769,193}, {65,770,194}, {65,771,195}, {65,776,196}, {65,778,197},
    {67,807,199}, {69,768,200}, {69,769,201}, {69,770,202}, {69,776,203}, {73,768,204},
    {73,769,205}, {73,770,206}, {73,776,207}, {78,771,209}, {79,768,210}, {79,769,211},
    {79,770,212}, {79,771,213}, {79,776,214}, {85,768,217}, {85,769,218}, {85,770,219},
    {85,776,220}, {89,769,221}, {97,768,224}, {97,769,225}, {97,770,226}, {97,771,227},
    {97,776,228}, {97,778,229}, {99,807,231}, {101,768,232}, {101,769,233}, {101,770,234},
    {101,776,235}, {105,768,236}, {105,769,237}, {105,770,238}, {105,776,239}, {110,771,241},
    {111,768,242}, {111,769,243}, {111,770,244}, {111,771,245}, {111,776,246}, {117,768,249},
    {117,769,250}, {117,770,251}, {117,776,252}, {121,769,253}, {121,776,255}, {65,772,256},
    {97,772,257}, {65,774,258}, {97,774,259}, {65,808,260}, {97,808,261}, {67,769,262},
    {99,769,263}, {67,770,264}, {99,770,265}, {67,775,266}, {99,775,267}, {67,780,268},
    {99,780,269}, {68,780,270}, {100,780,271}, {69,772,274}, {101,772,275}, {69,774,276},
    {101,774,277}, {69,775,278}, {101,775,279}, {69,808,280}, {101,808,281}, {69,780,282},
    {101,780,283}, {71,770,284}, {103,770,285}, {71,774,286}, {103,774,287}, {71,775,288},
    {103,775,289}, {71,807,290}, {103,807,291}, {72,770,292}, {104,770,293}, {73,771,296},
    {105,771,297}, {73,772,298}, {105,772,299}, {73,774,300}, {105,774,301}, {73,808,302},
    {105,808,303}, {73,775,304}, {74,770,308}, {106,770,309}, {75,807,310}, {107,807,311},
    {76,769,313}, {108,769,314}, {76,807,315}, {108,807,316}, {76,780,317}, {108,780,318},
    {78,769,323}, {110,769,324}, {78,807,325}, {110,807,326}, {78,780,327}, {110,780,328},
    {79,772,332}, {111,772,333}, {79,774,334}, {111,774,335}, {79,779,336}, {111,779,337},
    {82,769,340}, {114,769,341}, {82,807,342}, {114,807,343}, {82,780,344}, {114,780,345},
    {83,769,346}, {115,769,347}, {83,770,348}, {115,770,349}, {83,807,350}, {115,807,351},
    {83,780,352}, {115,780,353}, {84,807,354}, {116,807,355}, {84,780,356}, {116,780,357},
    {85,771,360}, {117,771,361}, {85,772,362}, {117,772,363}, {85,774,364}, {117,774,365},
    {85,778,366}, {117,778,367}, {85,779,368}, {117,779,369}, {85,808,370}, {117,808,371},
    {87,770,372}, {119,770,373}, {89,770,374}, {121,770,375}, {89,776,376}, {90,769,377},
    {122,769,378}, {90,775,379}, {122,775,380}, {90,780,381}, {122,780,382}, {79,795,416},
    {111,795,417}, {85,795,431}, {117,795,432}, {65,780,461}, {97,780,462}, {73,780,463},
    {105,780,464}, {79,780,465}, {111,780,466}, {85,780,467}, {117,780,468}, {220,772,469},
    {252,772,470}, {220,769,471}, {252,769,472}, {220,780,473}, {252,780,474}, {220,768,475},
    {252,768,476}, {196,772,478}, {228,772,479}, {550,772,480}, {551,772,481}, {198,772,482},
    {230,772,483}, {71,780,486}, {103,780,487}, {75,780,488}, {107,780,489}, {79,808,490},
    {111,808,491}, {490,772,492}, {491,772,493}, {439,780,494}, {658,780,495}, {106,780,496},
    {71,769,500}, {103,769,501}, {78,768,504}, {110,768,505}, {197,769,506}, {229,769,507},
    {198,769,508}, {230,769,509}, {216,769,510}, {248,769,511}, {65,783,512}, {97,783,513},
    {65,785,514}, {97,785,515}, {69,783,516}, {101,783,517}, {69,785,518}, {101,785,519},
    {73,783,520}, {105,783,521}, {73,785,522}, {105,785,523}, {79,783,524}, {111,783,525},
    {79,785,526}, {111,785,527}, {82,783,528}, {114,783,529}, {82,785,530}, {114,785,531},
    {85,783,532}, {117,783,533}, {85,785,534}, {117,785,535}, {83,806,536}, {115,806,537},
    {84,806,538}, {116,806,539}, {72,780,542}, {104,780,543}, {65,775,550}, {97,775,551},
    {69,807,552}, {101,807,553}, {214,772,554}, {246,772,555}, {213,772,556}, {245,772,557},
    {79,775,558}, {111,775,559}, {558,772,560}, {559,772,561}, {89,772,562}, {121,772,563},
    {168,769,901}, {913,769,902}, {917,769,904}, {919,769,905}, {921,769,906}, {927,769,908},
    {933,769,910}, {937,769,911}, {970,769,912}, {921,776,938}, {933,776,939}, {945,769,940},
    {949,769,941}, {951,769,942}, {953,769,943}, {971,769,944}, {953,776,970}, {965,776,971},
    {959,769,972}, {965,769,973}, {969,769,974}, {978,769,979}, {978,776,980}, {1045,768,1024},
    {1045,776,1025}, {1043,769,1027}, {1030,776,1031}, {1050,769,1036}, {1048,768,1037},
    {1059,774,1038}, {1048,774,1049}, {1080,774,1081}, {1077,768,1104}, {1077,776,1105},
    {1075,769,1107}, {1110,776,1111}, {1082,769,1116}, {1080,768,1117}, {1091,774,1118},
    {1140,783,1142}, {1141,783,1143}, {1046,774,1217}, {1078,774,1218}, {1040,774,1232},
    {1072,774,1233}, {1040,776,1234}, {1072,776,1235}, {1045,774,1238}, {1077,774,1239},
    {1240,776,1242}, {1241,776,1243}, {1046,776,1244}, {1078,776,1245}, {1047,776,1246},
    {1079,776,1247}, {1048,772,1250}, {1080,772,1251}, {1048,776,1252}, {1080,776,1253},
    {1054,776,1254}, {1086,776,1255}, {1256,776,1258}, {1257,776,1259}, {1069,776,1260},
    {1101,776,1261}, {1059,772,1262}, {1091,772,1263}, {1059,776,1264}, {1091,776,1265},
    {1059,779,1266}, {1091,779,1267}, {1063,776,1268}, {1095,776,1269}, {1067,776,1272},
    {1099,776,1273}, {1575,1619,1570}, {1575,1620,1571}, {1608,1620,1572}, {1575,1621,1573},
    {1610,1620,1574}, {1749,1620,1728}, {1729,1620,1730}, {1746,1620,1747}, {2344,2364,2345},
    {2352,2364,2353}, {2355,2364,2356}, {2503,2494,2507}, {2503,2519,2508}, {2887,2902,2888},
    {2887,2878,2891}, {2887,2903,2892}, {2962,3031,2964}, {3014,3006,3018}, {3015,3006,3019},
    {3014,3031,3020}, {3142,3158,3144}, {3263,3285,3264}, {3270,3285,3271}, {3270,3286,3272},
    {3270,3266,3274}, {3274,3285,3275}, {3398,3390,3402}, {3399,3390,3403}, {3398,3415,3404},
    {3545,3530,3546}, {3545,3535,3548}, {3548,3530,3549}, {3545,3551,3550}, {4133,4142,4134},
    {65,805,7680}, {97,805,7681}, {66,775,7682}, {98,775,7683}, {66,803,7684}, {98,803,7685},
    {66,817,7686}, {98,817,7687}, {199,769,7688}, {231,769,7689}, {68,775,7690}, {100,775,7691},
    {68,803,7692}, {100,803,7693}, {68,817,7694}, {100,817,7695}, {68,807,7696}, {100,807,7697},
    {68,813,7698}, {100,813,7699}, {274,768,7700}, {275,768,7701}, {274,769,7702},
    {275,769,7703}, {69,813,7704}, {101,813,7705}, {69,816,7706}, {101,816,7707},
    {552,774,7708}, {553,774,7709}, {70,775,7710}, {102,775,7711}, {71,772,7712},
    {103,772,7713}, {72,775,7714}, {104,775,7715}, {72,803,7716}, {104,803,7717}, {72,776,7718},
    {104,776,7719}, {72,807,7720}, {104,807,7721}, {72,814,7722}, {104,814,7723}, {73,816,7724},
    {105,816,7725}, {207,769,7726}, {239,769,7727}, {75,769,7728}, {107,769,7729},
    {75,803,7730}, {107,803,7731}, {75,817,7732}, {107,817,7733}, {76,803,7734}, {108,803,7735},
    {7734,772,7736}, {7735,772,7737}, {76,817,7738}, {108,817,7739}, {76,813,7740},
    {108,813,7741}, {77,769,7742}, {109,769,7743}, {77,775,7744}, {109,775,7745}, {77,803,7746},
    {109,803,7747}, {78,775,7748}, {110,775,7749}, {78,803,7750}, {110,803,7751}, {78,817,7752},
    {110,817,7753}, {78,813,7754}, {110,813,7755}, {213,769,7756}, {245,769,7757},
    {213,776,7758}, {245,776,7759}, {332,768,7760}, {333,768,7761}, {332,769,7762},
    {333,769,7763}, {80,769,7764}, {112,769,7765}, {80,775,7766}, {112,775,7767}, {82,775,7768},
    {114,775,7769}, {82,803,7770}, {114,803,7771}, {7770,772,7772}, {7771,772,7773},
    {82,817,7774}, {114,817,7775}, {83,775,7776}, {115,775,7777}, {83,803,7778}, {115,803,7779},
    {346,775,7780}, {347,775,7781}, {352,775,7782}, {353,775,7783}, {7778,775,7784},
    {7779,775,7785}, {84,775,7786}, {116,775,7787}, {84,803,7788}, {116,803,7789},
    {84,817,7790}, {116,817,7791}, {84,813,7792}, {116,813,7793}, {85,804,7794}, {117,804,7795},
    {85,816,7796}, {117,816,7797}, {85,813,7798}, {117,813,7799}, {360,769,7800},
    {361,769,7801}, {362,776,7802}, {363,776,7803}, {86,771,7804}, {118,771,7805},
    {86,803,7806}, {118,803,7807}, {87,768,7808}, {119,768,7809}, {87,769,7810}, {119,769,7811},
    {87,776,7812}, {119,776,7813}, {87,775,7814}, {119,775,7815}, {87,803,7816}, {119,803,7817},
    {88,775,7818}, {120,775,7819}, {88,776,7820}, {120,776,7821}, {89,775,7822}, {121,775,7823},
    {90,770,7824}, {122,770,7825}, {90,803,7826}, {122,803,7827}, {90,817,7828}, {122,817,7829},
    {104,817,7830}, {116,776,7831}, {119,778,7832}, {121,778,7833}, {383,775,7835},
    {65,803,7840}, {97,803,7841}, {65,777,7842}, {97,777,7843}, {194,769,7844}, {226,769,7845},
    {194,768,7846}, {226,768,7847}, {194,777,7848}, {226,777,7849}, {194,771,7850},
    {226,771,7851}, {7840,770,7852}, {7841,770,7853}, {258,769,7854}, {259,769,7855},
    {258,768,7856}, {259,768,7857}, {258,777,7858}, {259,777,7859}, {258,771,7860},
    {259,771,7861}, {7840,774,7862}, {7841,774,7863}, {69,803,7864}, {101,803,7865},
    {69,777,7866}, {101,777,7867}, {69,771,7868}, {101,771,7869}, {202,769,7870},
    {234,769,7871}, {202,768,7872}, {234,768,7873}, {202,777,7874}, {234,777,7875},
    {202,771,7876}, {234,771,7877}, {7864,770,7878}, {7865,770,7879}, {73,777,7880},
    {105,777,7881}, {73,803,7882}, {105,803,7883}, {79,803,7884}, {111,803,7885}, {79,777,7886},
    {111,777,7887}, {212,769,7888}, {244,769,7889}, {212,768,7890}, {244,768,7891},
    {212,777,7892}, {244,777,7893}, {212,771,7894}, {244,771,7895}, {7884,770,7896},
    {7885,770,7897}, {416,769,7898}, {417,769,7899}, {416,768,7900}, {417,768,7901},
    {416,777,7902}, {417,777,7903}, {416,771,7904}, {417,771,7905}, {416,803,7906},
    {417,803,7907}, {85,803,7908}, {117,803,7909}, {85,777,7910}, {117,777,7911},
    {431,769,7912}, {432,769,7913}, {431,768,7914}, {432,768,7915}, {431,777,7916},
    {432,777,7917}, {431,771,7918}, {432,771,7919}, {431,803,7920}, {432,803,7921},
    {89,768,7922}, {121,768,7923}, {89,803,7924}, {121,803,7925}, {89,777,7926}, {121,777,7927},
    {89,771,7928}, {121,771,7929}, {945,787,7936}, {945,788,7937}, {7936,768,7938},
    {7937,768,7939}, {7936,769,7940}, {7937,769,7941}, {7936,834,7942}, {7937,834,7943},
    {913,787,7944}, {913,788,7945}, {7944,768,7946}, {7945,768,7947}, {7944,769,7948},
    {7945,769,7949}, {7944,834,7950}, {7945,834,7951}, {949,787,7952}, {949,788,7953},
    {7952,768,7954}, {7953,768,7955}, {7952,769,7956}, {7953,769,7957}, {917,787,7960},
    {917,788,7961}, {7960,768,7962}, {7961,768,7963}, {7960,769,7964}, {7961,769,7965},
    {951,787,7968}, {951,788,7969}, {7968,768,7970}, {7969,768,7971}, {7968,769,7972},
    {7969,769,7973}, {7968,834,7974}, {7969,834,7975}, {919,787,7976}, {919,788,7977},
    {7976,768,7978}, {7977,768,7979}, {7976,769,7980}, {7977,769,7981}, {7976,834,7982},
    {7977,834,7983}, {953,787,7984}, {953,788,7985}, {7984,768,7986}, {7985,768,7987},
    {7984,769,7988}, {7985,769,7989}, {7984,834,7990}, {7985,834,7991}, {921,787,7992},
    {921,788,7993}, {7992,768,7994}, {7993,768,7995}, {7992,769,7996}, {7993,769,7997},
    {7992,834,7998}, {7993,834,7999}, {959,787,8000}, {959,788,8001}, {8000,768,8002},
    {8001,768,8003}, {8000,769,8004}, {8001,769,8005}, {927,787,8008}, {927,788,8009},
    {8008,768,8010}, {8009,768,8011}, {8008,769,8012}, {8009,769,8013}, {965,787,8016},
    {965,788,8017}, {8016,768,8018}, {8017,768,8019}, {8016,769,8020}, {8017,769,8021},
    {8016,834,8022}, {8017,834,8023}, {933,788,8025}, {8025,768,8027}, {8025,769,8029},
    {8025,834,8031}, {969,787,8032}, {969,788,8033}, {8032,768,8034}, {8033,768,8035},
    {8032,769,8036}, {8033,769,8037}, {8032,834,8038}, {8033,834,8039}, {937,787,8040},
    {937,788,8041}, {8040,768,8042}, {8041,768,8043}, {8040,769,8044}, {8041,769,8045},
    {8040,834,8046}, {8041,834,8047}, {945,768,8048}, {949,768,8050}, {951,768,8052},
    {953,768,8054}, {959,768,8056}, {965,768,8058}, {969,768,8060}, {7936,837,8064},
    {7937,837,8065}, {7938,837,8066}, {7939,837,8067}, {7940,837,8068}, {7941,837,8069},
    {7942,837,8070}, {7943,837,8071}, {7944,837,8072}, {7945,837,8073}, {7946,837,8074},
    {7947,837,8075}, {7948,837,8076}, {7949,837,8077}, {7950,837,8078}, {7951,837,8079},
    {7968,837,8080}, {7969,837,8081}, {7970,837,8082}, {7971,837,8083}, {7972,837,8084},
    {7973,837,8085}, {7974,837,8086}, {7975,837,8087}, {7976,837,8088}, {7977,837,8089},
    {7978,837,8090}, {7979,837,8091}, {7980,837,8092}, {7981,837,8093}, {7982,837,8094},
    {7983,837,8095}, {8032,837,8096}, {8033,837,8097}, {8034,837,8098}, {8035,837,8099},
    {8036,837,8100}, {8037,837,8101}, {8038,837,8102}, {8039,837,8103}, {8040,837,8104},
    {8041,837,8105}, {8042,837,8106}, {8043,837,8107}, {8044,837,8108}, {8045,837,8109},
    {8046,837,8110}, {8047,837,8111}, {945,774,8112}, {945,772,8113}, {8048,837,8114},
    {945,837,8115}, {940,837,8116}, {945,834,8118}, {8118,837,8119}, {913,774,8120},
    {913,772,8121}, {913,768,8122}, {913,837,8124}, {168,834,8129}, {8052,837,8130},
    {951,837,8131}, {942,837,8132}, {951,834,8134}, {8134,837,8135}, {917,768,8136},
    {919,768,8138}, {919,837,8140}, {8127,768,8141}, {8127,769,8142}, {8127,834,8143},
    {953,774,8144}, {953,772,8145}, {970,768,8146}, {953,834,8150}, {970,834,8151},
    {921,774,8152}, {921,772,8153}, {921,768,8154}, {8190,768,8157}, {8190,769,8158},
    {8190,834,8159}, {965,774,8160}, {965,772,8161}, {971,768,8162}, {961,787,8164},
    {961,788,8165}, {965,834,8166}, {971,834,8167}, {933,774,8168}, {933,772,8169},
    {933,768,8170}, {929,788,8172}, {168,768,8173}, {8060,837,8178}, {969,837,8179},
    {974,837,8180}, {969,834,8182}, {8182,837,8183}, {927,768,8184}, {937,768,8186},
    {937,837,8188}, {8592,824,8602}, {8594,824,8603}, {8596,824,8622}, {8656,824,8653},
    {8660,824,8654}, {8658,824,8655}, {8707,824,8708}, {8712,824,8713}, {8715,824,8716},
    {8739,824,8740}, {8741,824,8742}, {8764,824,8769}, {8771,824,8772}, {8773,824,8775},
    {8776,824,8777}, {61,824,8800}, {8801,824,8802}, {8781,824,8813}, {60,824,8814},
    {62,824,8815}, {8804,824,8816}, {8805,824,8817}, {8818,824,8820}, {8819,824,8821},
    {8822,824,8824}, {8823,824,8825}, {8826,824,8832}, {8827,824,8833}, {8834,824,8836},
    {8835,824,8837}, {8838,824,8840}, {8839,824,8841}, {8866,824,8876}, {8872,824,8877},
    {8873,824,8878}, {8875,824,8879}, {8828,824,8928}, {8829,824,8929}, {8849,824,8930},
    {8850,824,8931}, {8882,824,8938}, {8883,824,8939}, {8884,824,8940}, {8885,824,8941},
    {12363,12441,12364}, {12365,12441,12366}, {12367,12441,12368}, {12369,12441,12370},
    {12371,12441,12372}, {12373,12441,12374}, {12375,12441,12376}, {12377,12441,12378},
    {12379,12441,12380}, {12381,12441,12382}, {12383,12441,12384}, {12385,12441,12386},
    {12388,12441,12389}, {12390,12441,12391}, {12392,12441,12393}, {12399,12441,12400},
    {12399,12442,12401}, {12402,12441,12403}, {12402,12442,12404}, {12405,12441,12406},
    {12405,12442,12407}, {12408,12441,12409}, {12408,12442,12410}, {12411,12441,12412},
    {12411,12442,12413}, {12358,12441,12436}, {12445,12441,12446}, {12459,12441,12460},
    {12461,12441,12462}, {12463,12441,12464}, {12465,12441,12466}, {12467,12441,12468},
    {12469,12441,12470}, {12471,12441,12472}, {12473,12441,12474}, {12475,12441,12476},
    {12477,12441,12478}, {12479,12441,12480}, {12481,12441,12482}, {12484,12441,12485},
    {12486,12441,12487}, {12488,12441,12489}, {12495,12441,12496}, {12495,12442,12497},
    {12498,12441,12499}, {12498,12442,12500}, {12501,12441,12502}, {12501,12442,12503},
    {12504,12441,12505}, {12504,12442,12506}, {12507,12441,12508}, {12507,12442,12509},
    {12454,12441,12532}, {12527,12441,12535}, {12528,12441,12536}, {12529,12441,12537},
    {12530,12441,12538}, {12541,12441,12542},
};
static const uint16_t nfc_by_pair[917] = {
    833, 830, 834, 0, 1, 2, 3, 53, 55, 238, 4, 518, 5, 165, 208, 210, 516, 361, 57, 363, 365,
    367, 59, 61, 63, 65, 6, 371, 67, 373, 377, 379, 375, 7, 8, 9, 544, 69, 71, 73, 10, 542, 77,
    212, 214, 540, 240, 75, 385, 387, 391, 198, 79, 393, 81, 83, 187, 85, 87, 395, 399, 236,
    397, 401, 403, 11, 12, 13, 89, 91, 93, 97, 14, 556, 167, 216, 218, 558, 95, 405, 98, 409,
    189, 411, 100, 413, 102, 106, 415, 104, 421, 419, 423, 425, 427, 200, 108, 15, 429, 112,
    431, 110, 435, 433, 16, 17, 18, 19, 114, 116, 246, 20, 562, 118, 169, 220, 222, 161, 560,
    191, 445, 447, 120, 449, 124, 224, 226, 451, 122, 455, 126, 128, 457, 132, 459, 232, 130,
    467, 136, 469, 234, 134, 473, 471, 21, 22, 23, 138, 140, 142, 24, 586, 144, 146, 171, 228,
    230, 163, 584, 475, 148, 479, 477, 485, 487, 489, 491, 150, 495, 493, 497, 499, 501, 598,
    25, 152, 604, 250, 503, 154, 602, 600, 155, 505, 157, 159, 507, 509, 26, 27, 28, 29, 54, 56,
    239, 30, 519, 31, 166, 209, 211, 517, 362, 58, 364, 366, 368, 60, 62, 64, 66, 32, 372, 68,
    374, 378, 380, 376, 33, 34, 35, 545, 70, 72, 74, 36, 543, 78, 213, 215, 541, 241, 76, 386,
    388, 392, 199, 80, 394, 82, 84, 188, 86, 88, 396, 400, 237, 398, 402, 404, 511, 37, 38, 39,
    90, 92, 94, 40, 557, 168, 217, 219, 559, 96, 406, 99, 197, 410, 190, 412, 101, 414, 103,
    107, 416, 105, 422, 420, 424, 426, 428, 201, 109, 41, 430, 113, 432, 111, 436, 434, 42, 43,
    44, 45, 115, 117, 247, 46, 563, 119, 170, 221, 223, 162, 561, 192, 446, 448, 121, 450, 125,
    225, 227, 452, 123, 456, 127, 129, 458, 133, 460, 233, 131, 468, 512, 137, 470, 235, 135,
    474, 472, 47, 48, 49, 139, 141, 143, 50, 587, 145, 147, 172, 229, 231, 164, 585, 476, 149,
    480, 478, 486, 488, 490, 492, 151, 496, 494, 513, 498, 500, 502, 599, 51, 153, 605, 251,
    504, 52, 603, 514, 601, 156, 506, 158, 160, 508, 510, 806, 252, 772, 522, 520, 526, 524,
    181, 202, 204, 185, 369, 548, 546, 552, 550, 407, 566, 564, 570, 568, 437, 244, 439, 242,
    206, 179, 175, 173, 177, 523, 521, 527, 525, 182, 203, 205, 186, 370, 549, 547, 553, 551,
    408, 567, 565, 571, 569, 438, 245, 440, 243, 207, 180, 176, 174, 178, 532, 530, 536, 534,
    533, 531, 537, 535, 381, 383, 382, 384, 441, 443, 442, 444, 461, 462, 463, 464, 481, 482,
    483, 484, 515, 576, 574, 580, 578, 582, 577, 575, 581, 579, 583, 590, 588, 594, 592, 596,
    591, 589, 595, 593, 597, 195, 193, 194, 183, 184, 389, 390, 248, 249, 196, 770, 253, 769,
    768, 614, 615, 771, 778, 254, 628, 629, 779, 255, 642, 643, 780, 791, 256, 790, 789, 261,
    658, 659, 812, 257, 672, 673, 805, 804, 258, 803, 802, 262, 686, 813, 259, 698, 699, 814,
    765, 775, 706, 263, 762, 761, 606, 607, 766, 764, 707, 264, 622, 623, 708, 265, 634, 635,
    776, 774, 709, 266, 785, 784, 268, 650, 651, 787, 710, 270, 666, 667, 798, 799, 711, 271,
    796, 795, 269, 678, 679, 800, 712, 272, 690, 691, 810, 808, 786, 260, 788, 797, 267, 801,
    809, 273, 274, 278, 295, 297, 277, 275, 299, 276, 293, 303, 305, 280, 307, 282, 309, 279,
    311, 317, 281, 319, 321, 323, 325, 315, 296, 298, 286, 284, 300, 285, 294, 304, 306, 289,
    308, 283, 310, 288, 312, 318, 290, 320, 322, 324, 326, 316, 287, 291, 292, 301, 302, 313,
    314, 327, 328, 330, 329, 331, 333, 334, 332, 335, 336, 337, 338, 339, 341, 340, 342, 343,
    344, 346, 345, 347, 348, 351, 349, 350, 352, 353, 355, 354, 356, 357, 359, 358, 360, 417,
    418, 453, 454, 465, 466, 528, 538, 529, 539, 554, 555, 572, 573, 608, 610, 612, 713, 609,
    611, 613, 714, 715, 716, 717, 718, 719, 720, 616, 618, 620, 721, 617, 619, 621, 722, 723,
    724, 725, 726, 727, 728, 624, 626, 625, 627, 630, 632, 631, 633, 636, 638, 640, 729, 637,
    639, 641, 730, 731, 732, 733, 734, 735, 736, 644, 646, 648, 737, 645, 647, 649, 738, 739,
    740, 741, 742, 743, 744, 652, 654, 656, 653, 655, 657, 660, 662, 664, 661, 663, 665, 668,
    670, 669, 671, 674, 676, 675, 677, 680, 682, 684, 681, 683, 685, 687, 688, 689, 692, 694,
    696, 745, 693, 695, 697, 746, 747, 748, 749, 750, 751, 752, 700, 702, 704, 753, 701, 703,
    705, 754, 755, 756, 757, 758, 759, 760, 763, 773, 807, 767, 781, 782, 783, 777, 811, 792,
    793, 794, 815, 816, 817, 818, 820, 819, 821, 822, 823, 824, 825, 826, 827, 828, 829, 832,
    831, 835, 836, 837, 838, 839, 840, 841, 842, 851, 852, 843, 844, 845, 846, 853, 854, 847,
    848, 849, 850, 855, 856, 857, 858, 884, 859, 860, 861, 862, 863, 864, 865, 866, 867, 868,
    869, 870, 871, 872, 873, 874, 875, 876, 877, 878, 879, 880, 881, 882, 883, 885, 911, 886,
    887, 888, 889, 890, 891, 892, 893, 894, 895, 896, 897, 898, 899, 900, 901, 902, 903, 904,
    905, 906, 907, 908, 909, 910, 912, 913, 914, 915, 916,
};
/* Canonical combining classes (non-zero ones) of those code points. */
static const struct { uint32_t first, last; uint8_t ccc; } ccc_ranges[65] = {
    {0x300,0x314,230}, {0x31B,0x31B,216}, {0x323,0x326,220}, {0x327,0x328,202},
    {0x32D,0x331,220}, {0x335,0x338,1}, {0x339,0x339,220}, {0x342,0x342,230}, {0x345,0x345,240},
    {0x5B4,0x5B4,14}, {0x64B,0x64B,27}, {0x64C,0x64C,28}, {0x64D,0x64D,29}, {0x64E,0x64E,30},
    {0x64F,0x64F,31}, {0x650,0x650,32}, {0x651,0x651,33}, {0x652,0x652,34}, {0x653,0x654,230},
    {0x655,0x655,220}, {0x670,0x670,35}, {0x93C,0x93C,7}, {0x94D,0x94D,9}, {0x9BC,0x9BC,7},
    {0x9CD,0x9CD,9}, {0x9FE,0x9FE,230}, {0xA3C,0xA3C,7}, {0xA4D,0xA4D,9}, {0xABC,0xABC,7},
    {0xACD,0xACD,9}, {0xB3C,0xB3C,7}, {0xB4D,0xB4D,9}, {0xBCD,0xBCD,9}, {0xC3C,0xC3C,7},
    {0xC4D,0xC4D,9}, {0xC55,0xC55,84}, {0xC56,0xC56,91}, {0xCBC,0xCBC,7}, {0xCCD,0xCCD,9},
    {0xD4D,0xD4D,9}, {0xDCA,0xDCA,9}, {0xE38,0xE39,103}, {0xE3A,0xE3A,9}, {0xE48,0xE4B,107},
    {0xEB8,0xEB9,118}, {0xEBA,0xEBA,9}, {0xEC8,0xECB,122}, {0xF35,0xF37,220}, {0xF71,0xF71,129},
    {0xF72,0xF72,130}, {0xF74,0xF74,132}, {0xF7A,0xF7D,130}, {0xF80,0xF80,130},
    {0xF82,0xF83,230}, {0xF84,0xF84,9}, {0xF86,0xF87,230}, {0xFC6,0xFC6,220}, {0x1037,0x1037,7},
    {0x1039,0x103A,9}, {0x108D,0x108D,220}, {0x135D,0x135F,230}, {0x17D2,0x17D2,9},
    {0x3099,0x309A,8}, {0x1133B,0x1133C,7}, {0x16FF0,0x16FF1,6},
};
/* Identifier characters that extend a grapheme cluster (Extend or
 * SpacingMark); U+0D4E is the only one that prepends to the next. */
static const uint32_t gc_extend[63][2] = {
    {0x300,0x345}, {0x5B4,0x5B4}, {0x64B,0x655}, {0x670,0x670}, {0x7A6,0x7B0}, {0x901,0x903},
    {0x93A,0x93C}, {0x93E,0x94F}, {0x956,0x957}, {0x962,0x963}, {0x981,0x983}, {0x9BC,0x9BC},
    {0x9BE,0x9CD}, {0x9D7,0x9D7}, {0x9E2,0x9E3}, {0x9FE,0xA03}, {0xA3C,0xA4D}, {0xA70,0xA71},
    {0xA81,0xA83}, {0xABC,0xABC}, {0xABE,0xACD}, {0xAE2,0xAE3}, {0xAFA,0xB03}, {0xB3C,0xB3C},
    {0xB3E,0xB57}, {0xB82,0xB82}, {0xBBE,0xBCD}, {0xBD7,0xBD7}, {0xC01,0xC04}, {0xC3C,0xC3C},
    {0xC3E,0xC56}, {0xC82,0xC83}, {0xCBC,0xCBC}, {0xCBE,0xCD6}, {0xCE2,0xCE3}, {0xD00,0xD03},
    {0xD3E,0xD4D}, {0xD57,0xD57}, {0xD82,0xD83}, {0xDCA,0xDF2}, {0xE31,0xE31}, {0xE34,0xE3A},
    {0xE47,0xE4E}, {0xEB1,0xEB1}, {0xEB4,0xEBC}, {0xEC8,0xECD}, {0xF35,0xF3F}, {0xF71,0xF87},
    {0xF8D,0xFC6}, {0x102D,0x1037}, {0x1039,0x103E}, {0x1056,0x1059}, {0x105E,0x1060},
    {0x1071,0x1074}, {0x1082,0x1082}, {0x1084,0x1086}, {0x108D,0x108D}, {0x109D,0x109D},
    {0x135D,0x135F}, {0x17B6,0x17D2}, {0x3099,0x309A}, {0xAA7C,0xAA7C}, {0x11301,0x16FF1},
};

enum { CP_NONE = 0, CP_START = 1, CP_UPPER = 2, CP_CONTINUE = 3 };

/* Character class of a non-ASCII code point; *ss gets its script set. */
static int id_class(uint32_t c, uint64_t *ss)
{
    size_t lo = 0, hi = sizeof id_ranges / sizeof id_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t first = id_ranges[mid][0] & 0x1FFFFF;
        uint32_t last = id_ranges[mid][1] & 0x1FFFFF;
        if (c < first) {
            hi = mid;
        } else if (c > last) {
            lo = mid + 1;
        } else {
            uint32_t cls = id_ranges[mid][0] >> 21;
            *ss = id_scriptsets[id_ranges[mid][1] >> 21];
            if (cls == 4)
                return (c % 2 == 0) ? CP_UPPER : CP_START;
            if (cls == 5)
                return (c % 2 == 1) ? CP_UPPER : CP_START;
            return (int)cls;
        }
    }
    return CP_NONE;
}

static int ascii_letter(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ascii_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static uint64_t scriptset_of(uint32_t c)
{
    uint64_t ss;
    if (ascii_letter(c))
        return 1;
    if (c < 0x80)
        return SS_ALL;
    return id_class(c, &ss) != CP_NONE ? ss : SS_ALL;
}

/* UTS #39 "highly restrictive" script combinations Elixir accepts:
 * Latin+Japanese, Latin+Han with Bopomofo, Latin+Korean. */
static int highly_restrictive(const uint32_t *cps, size_t n)
{
    static const uint64_t masks[3] = {0x100001ULL, 0x10001ULL, 0x4000001ULL};
    int m;
    for (m = 0; m < 3; m++) {
        size_t i;
        for (i = 0; i < n; i++)
            if ((scriptset_of(cps[i]) & masks[m]) == 0)
                break;
        if (i == n)
            return 1;
    }
    return 0;
}

static int ccc_of(uint32_t c)
{
    size_t lo = 0, hi = sizeof ccc_ranges / sizeof ccc_ranges[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ccc_ranges[mid].first)
            hi = mid;
        else if (c > ccc_ranges[mid].last)
            lo = mid + 1;
        else
            return ccc_ranges[mid].ccc;
    }
    return 0;
}

/* Index into nfc_comp of the composite c, or -1. */
static long nfc_find_composite(uint32_t c)
{
    size_t lo = 0, hi = sizeof nfc_comp / sizeof nfc_comp[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < nfc_comp[mid][2])
            hi = mid;
        else if (c > nfc_comp[mid][2])
            lo = mid + 1;
        else
            return (long)mid;
    }
    return -1;
}

/* The canonical composite of base + mark, or 0. */
static uint32_t nfc_compose(uint32_t base, uint32_t mark)
{
    size_t lo = 0, hi = sizeof nfc_by_pair / sizeof nfc_by_pair[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const uint16_t *e = nfc_comp[nfc_by_pair[mid]];
        if (base < e[0] || (base == e[0] && mark < e[1]))
            hi = mid;
        else if (base == e[0] && mark == e[1])
            return e[2];
        else
            lo = mid + 1;
    }
    return 0;
}

/* Appends the canonical decomposition of c. Returns the new length, or
 * cap + 1 if it does not fit. */
static size_t nfd_push(uint32_t c, uint32_t *out, size_t n, size_t cap)
{
    long i = nfc_find_composite(c);
    if (i >= 0) {
        n = nfd_push(nfc_comp[i][0], out, n, cap);
        return n > cap ? n : nfd_push(nfc_comp[i][1], out, n, cap);
    }
    if (n >= cap)
        return cap + 1;
    out[n] = c;
    return n + 1;
}

static int gc_extends(uint32_t c)
{
    size_t lo = 0, hi = sizeof gc_extend / sizeof gc_extend[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < gc_extend[mid][0])
            hi = mid;
        else if (c > gc_extend[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Does unicode_util:nfc/1 change this grapheme cluster? OTP decomposes the
 * cluster, puts marks in canonical order, then composes everything it can
 * onto the cluster's first code point only (not onto later starters). */
static int cluster_nfc_changes(const uint32_t *cps, size_t n)
{
    uint32_t d[1024];
    size_t nd = 0, i, j, out;
    int prev;
    for (i = 0; i < n; i++) {
        nd = nfd_push(cps[i], d, nd, sizeof d / sizeof d[0]);
        if (nd > sizeof d / sizeof d[0])
            return 0; /* cannot happen for 255 code points; assume stable */
    }
    for (i = 1; i < nd; i++) {
        uint32_t c = d[i];
        int cc = ccc_of(c);
        if (cc == 0)
            continue;
        for (j = i; j > 0 && ccc_of(d[j - 1]) > cc && ccc_of(d[j - 1]) != 0; j--)
            d[j] = d[j - 1];
        d[j] = c;
    }
    if (nd == 2) {
        /* Two code points are composed without the blocking check. */
        uint32_t comp = nfc_compose(d[0], d[1]);
        if (comp) {
            d[0] = comp;
            nd = 1;
        }
    } else if (nd > 2) {
        prev = ccc_of(d[0]);
        out = 1;
        for (i = 1; i < nd; i++) {
            uint32_t c = d[i], comp;
            int cc = ccc_of(c);
            if ((prev == 0 || prev < cc) && (comp = nfc_compose(d[0], c)) != 0) {
                d[0] = comp;
                continue;
            }
            prev = cc;
            d[out++] = c;
        }
        nd = out;
    }
    if (nd != n)
        return 1;
    for (i = 0; i < n; i++)
        if (d[i] != cps[i])
            return 1;
    return 0;
}

/* ":unicode.characters_to_nfc_list(name) != name" for names made of
 * identifier characters (each of which is NFC-stable on its own), checked
 * cluster by cluster the way OTP's unicode_util does it. */
static int nfc_changes(const uint32_t *cps, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && cps[j] == 0xD4E) /* Prepend */
            j++;
        if (j < n)
            j++;
        while (j < n && gc_extends(cps[j]))
            j++;
        if (j - i > 1 && cluster_nfc_changes(cps + i, j - i))
            return 1;
        i = j;
    }
    return 0;
}

enum {
    AC_ALIAS,
    AC_IDENTIFIER,
    AC_UNQUOTED_OP,
    AC_QUOTED_OP,
    AC_NOT_CALLABLE,
    AC_OTHER
};

/* Macro's valid_alias?: "Elixir" followed by zero or more ".Upper..." parts. */
static int valid_alias(const char *s, size_t n)
{
    size_t i = 6;
    if (!starts_with(s, n, "Elixir"))
        return 0;
    while (i < n) {
        if (s[i] != '.' || i + 1 >= n || !(s[i + 1] >= 'A' && s[i + 1] <= 'Z'))
            return 0;
        i += 2;
        while (i < n && (ascii_letter((unsigned char)s[i]) ||
                         ascii_digit((unsigned char)s[i]) || s[i] == '_'))
            i++;
    }
    return 1;
}

/* String.Tokenizer.tokenize/1 followed by the identifier part of
 * Macro.inner_classify/1. */
static int tokenizer_classify(const char *s, size_t n)
{
    uint32_t cps[256];
    size_t ncp = 0, i = 0;
    uint64_t ss, css;
    int kind_ident, ascii, at = 0, nfkc = 0, cls;
    uint32_t h;

    while (i < n) {
        size_t k;
        if (ncp == sizeof cps / sizeof cps[0])
            return AC_OTHER;
        k = utf8_decode((const unsigned char *)s + i, n - i, &cps[ncp]);
        if (k == 0)
            return AC_OTHER;
        i += k;
        ncp++;
    }
    if (ncp == 0)
        return AC_OTHER;

    h = cps[0];
    if (h >= 'A' && h <= 'Z') {
        kind_ident = 0; /* :alias kind */
        ascii = 1;
        ss = 1;
    } else if (h >= 'a' && h <= 'z') {
        kind_ident = 1;
        ascii = 1;
        ss = 1;
    } else if (h == '_') {
        kind_ident = 1;
        ascii = 1;
        ss = SS_ALL;
    } else if (h < 0x80) {
        return AC_OTHER;
    } else {
        ascii = 0;
        cls = id_class(h, &css);
        if (cls == CP_UPPER) {
            kind_ident = 0; /* :atom kind */
            ss = css;
        } else if (cls == CP_START) {
            kind_ident = 1;
            ss = css;
        } else if (h == 0xB5) {
            /* MICRO SIGN is accepted but normalized to GREEK SMALL MU. */
            cps[0] = 0x3BC;
            kind_ident = 1;
            nfkc = 1;
            ss = SS_ALL;
        } else {
            return AC_OTHER;
        }
    }

    for (i = 1; i < ncp; i++) {
        uint32_t c = cps[i];
        if (c == '!' || c == '?') {
            i++;
            break; /* ends the identifier */
        } else if (c == '@') {
            at = 1;
        } else if (ascii_letter(c)) {
            ss &= 1;
        } else if (c == '_' || ascii_digit(c)) {
            /* script-neutral */
        } else if (c < 0x80) {
            return AC_OTHER;
        } else {
            cls = id_class(c, &css);
            if (cls != CP_NONE) {
                ss &= css;
            } else if (c == 0xB5) {
                cps[i] = 0x3BC;
                nfkc = 1;
            } else {
                return AC_OTHER;
            }
            ascii = 0;
        }
    }
    if (i < ncp)
        return AC_OTHER; /* something follows a trailing ! or ? */

    if (!ascii) {
        if (nfc_changes(cps, ncp))
            nfkc = 1;
        if (ss == 0 && !highly_restrictive(cps, ncp))
            return AC_OTHER; /* mixed-script identifiers are rejected */
    }
    if (!kind_ident || at)
        return AC_NOT_CALLABLE;
    if (nfkc)
        return AC_OTHER;
    return AC_IDENTIFIER;
}

/* Macro.inner_classify/1. */
static int atom_classify(const char *s, size_t n)
{
    static const char *const not_callable[] = {"%", "%{}", "{}", "<<>>", "...", "..",
                                               ".", "..//", "->"};
    static const char *const quoted_ops[] = {"::", "^^^", "~~~", "<|>"};
    /* Unary and binary operators, minus the ones caught above and "//". */
    static const char *const ops[] = {
        "&", "!", "^", "not", "+", "-", "@", "<-", "\\\\", "when", "|", "=", "||",
        "|||", "or", "&&", "&&&", "and", "==", "!=", "=~", "===", "!==", "<", "<=",
        ">=", ">", "|>", "<<<", ">>>", "<~", "~>", "<<~", "~>>", "<~>", "in", "++",
        "--", "<>", "+++", "---", "*", "/", "**"};
    size_t i;
    for (i = 0; i < sizeof not_callable / sizeof not_callable[0]; i++)
        if (text_eq(s, n, not_callable[i]))
            return AC_NOT_CALLABLE;
    for (i = 0; i < sizeof quoted_ops / sizeof quoted_ops[0]; i++)
        if (text_eq(s, n, quoted_ops[i]))
            return AC_QUOTED_OP;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (text_eq(s, n, ops[i]))
            return AC_UNQUOTED_OP;
    if (valid_alias(s, n))
        return AC_ALIAS;
    return tokenizer_classify(s, n);
}

/* Macro.classify_atom/1 collapses the classes into these three answers. */
static int atom_quoted(int cls)
{
    return cls == AC_QUOTED_OP || cls == AC_OTHER;
}

/* Macro.inspect_atom(:literal, atom). */
static void out_atom_literal(Out *o, const char *s, size_t n)
{
    int cls;
    if (text_eq(s, n, "nil") || text_eq(s, n, "true") || text_eq(s, n, "false")) {
        out_put(o, s, n);
        return;
    }
    cls = atom_classify(s, n);
    if (cls == AC_ALIAS) {
        if (text_eq(s, n, "Elixir") || text_eq(s, n, "Elixir.Elixir") ||
            starts_with(s, n, "Elixir.Elixir."))
            out_put(o, s, n);
        else
            out_put(o, s + 7, n - 7);
    } else if (atom_quoted(cls)) {
        out_str(o, ":\"");
        escape_bytes(o, (const unsigned char *)s, n, '"', -1);
        out_ch(o, '"');
    } else {
        out_ch(o, ':');
        out_put(o, s, n);
    }
}

/* Macro.inspect_atom(:key, atom), including the ':' (caller adds ' '). */
static void out_atom_key(Out *o, const char *s, size_t n)
{
    int cls = atom_classify(s, n);
    if (cls == AC_ALIAS) {
        out_ch(o, '"');
        out_put(o, s, n);
        out_str(o, "\":");
    } else if (atom_quoted(cls)) {
        out_ch(o, '"');
        escape_bytes(o, (const unsigned char *)s, n, '"', -1);
        out_str(o, "\":");
    } else {
        out_put(o, s, n);
        out_ch(o, ':');
    }
}

/* Macro.inspect_atom(:remote_call, atom). */
static void out_atom_remote(Out *o, const char *s, size_t n)
{
    int cls = atom_classify(s, n);
    if (cls == AC_IDENTIFIER || cls == AC_UNQUOTED_OP || cls == AC_QUOTED_OP) {
        out_put(o, s, n);
    } else if (cls == AC_NOT_CALLABLE || cls == AC_ALIAS) {
        out_ch(o, '"');
        out_put(o, s, n);
        out_ch(o, '"');
    } else {
        out_ch(o, '"');
        escape_bytes(o, (const unsigned char *)s, n, '"', -1);
        out_ch(o, '"');
    }
}

static void render_atom(Out *o, ERL_NIF_TERM a)
{
    char txt[ATOM_TEXT_MAX + 1];
    size_t len;
    if (atom_text(o->env, a, txt, &len))
        out_atom_literal(o, txt, len);
    else
        out_str(o, ":\"?\"");
}

static void render_atom_key(Out *o, ERL_NIF_TERM a)
{
    char txt[ATOM_TEXT_MAX + 1];
    size_t len;
    if (atom_text(o->env, a, txt, &len))
        out_atom_key(o, txt, len);
    else
        out_str(o, "\"?\":");
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                   */
/* ------------------------------------------------------------------------ */

static void reverse_bytes(char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n / 2; i++) {
        char t = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = t;
    }
}

/*
 * Writes the decimal form of a magnitude: `limbs` 32-bit words, least
 * significant first, stored in host order at `w` (destroyed in the process).
 * Digits come out least significant first, but only the most significant
 * ones survive truncation, so they are written into the free part of the
 * output buffer used as a ring and put in order afterwards.
 */
static void out_magnitude(Out *o, unsigned char *w, size_t limbs)
{
    size_t room, total = 0, cut;
    char *ring;
    if (o->full)
        return;
    room = o->cap - 1 - o->len;
    ring = o->buf + o->len;
    if (room == 0) {
        o->full = 1;
        return;
    }
    for (;;) {
        uint64_t rem = 0;
        uint32_t top;
        size_t i = limbs;
        int k;
        /* Drop leading zero limbs. memcpy keeps the accesses alignment- and
         * aliasing-safe; compilers turn it into plain loads and stores. */
        while (limbs > 0) {
            memcpy(&top, w + 4 * (limbs - 1), 4);
            if (top != 0)
                break;
            limbs--;
        }
        if (limbs == 0)
            break;
        i = limbs;
        while (i-- > 0) {
            uint32_t x, q;
            uint64_t cur;
            memcpy(&x, w + 4 * i, 4);
            cur = (rem << 32) | x;
            q = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            memcpy(w + 4 * i, &q, 4);
        }
        memcpy(&top, w + 4 * (limbs - 1), 4);
        /* Inner chunks are zero-padded to 9 digits, the leading one is not. */
        for (k = 0; k < 9 && (limbs > 1 || top != 0 || rem != 0); k++) {
            ring[total % room] = (char)('0' + rem % 10);
            rem /= 10;
            total++;
        }
    }
    if (total == 0) {
        out_ch(o, '0');
        return;
    }
    cut = total % room;
    if (total < room) {
        reverse_bytes(ring, total);
        o->len += total;
    } else {
        /* Oldest digit sits at ring[cut]; reversing both halves yields the
         * newest (most significant) digits first. */
        reverse_bytes(ring, cut);
        reverse_bytes(ring + cut, room - cut);
        o->len += room;
        if (total > room)
            o->full = 1;
    }
}

static void render_bignum(Out *o, ERL_NIF_TERM t)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, n = 0, sign = 0;
    int ok;
    if (!enif_term_to_binary(o->env, t, &b)) {
        out_str(o, "#Integer<?>");
        return;
    }
    ok = ext_begin(&e, &b, &tag);
    if (ok && tag == EXT_SMALL_BIG)
        ok = ext_u8(&e, &n) && ext_u8(&e, &sign);
    else if (ok && tag == EXT_LARGE_BIG)
        ok = ext_u32(&e, &n) && ext_u8(&e, &sign);
    else
        ok = 0;
    if (!ok || e.n < n) {
        out_str(o, "#Integer<?>");
    } else {
        const unsigned char *d = e.p;
        while (n > 0 && d[n - 1] == 0)
            n--;
        if (sign)
            out_ch(o, '-');
        if (n <= BIG_MAX_BYTES) {
            /* The encoded copy is ours: repack the little-endian digit bytes
             * as host-order 32-bit limbs at its start (the header in front of
             * the digits leaves room, so reads stay ahead of writes). */
            size_t limbs = (n + 3) / 4, i, j;
            for (i = 0; i < limbs; i++) {
                uint32_t x = 0;
                for (j = 4; j-- > 0;)
                    x = (x << 8) | (4 * i + j < n ? d[4 * i + j] : 0);
                memcpy(b.data + 4 * i, &x, 4);
            }
            out_magnitude(o, b.data, limbs);
        } else {
            /* Deliberate deviation: see BIG_MAX_BYTES. */
            uint32_t top = d[n - 1], bits = 0;
            while (top) {
                bits++;
                top >>= 1;
            }
            out_str(o, "#Integer<");
            out_u64(o, (uint64_t)(n - 1) * 8 + bits);
            out_str(o, " bits>");
        }
    }
    enif_release_binary(&b);
}

static void render_integer(Out *o, ERL_NIF_TERM t)
{
    ErlNifSInt64 i;
    ErlNifUInt64 u;
    if (enif_get_int64(o->env, t, &i))
        out_i64(o, i);
    else if (enif_get_uint64(o->env, t, &u))
        out_u64(o, u);
    else
        render_bignum(o, t);
}

/* Parses "%.*e" output into its digits and decimal exponent, accepting any
 * decimal-point character the C locale might use. */
static int parse_e(const char *s, char *digits, int *nd, int *exp10)
{
    int neg = 0, e = 0;
    *nd = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && *nd < 20)
            digits[(*nd)++] = *s;
    if (!*s || *nd == 0)
        return 0;
    s++;
    if (*s == '-' || *s == '+')
        neg = (*s++ == '-');
    for (; *s >= '0' && *s <= '9'; s++)
        e = e * 10 + (*s - '0');
    *exp10 = neg ? -e : e;
    return 1;
}

/* Does digits[0..nd) x 10^(exp10 - nd + 1) read back as exactly v?
 * The string has no decimal point, so strtod's locale does not matter. */
static int round_trips(const char *digits, int nd, int exp10, double v)
{
    char tmp[48];
    memcpy(tmp, digits, (size_t)nd);
    snprintf(tmp + nd, sizeof tmp - (size_t)nd, "e%d", exp10 - nd + 1);
    return strtod(tmp, NULL) == v;
}

/* Adds (+1) or subtracts (-1) one unit in the last place of a digit string;
 * a carry out of the top digit bumps the exponent. Returns 0 on underflow. */
static int step_digits(char *digits, int nd, int *exp10, int dir)
{
    int i;
    if (dir > 0) {
        for (i = nd - 1; i >= 0 && digits[i] == '9'; i--)
            digits[i] = '0';
        if (i < 0) {
            digits[0] = '1';
            (*exp10)++;
        } else {
            digits[i]++;
        }
        return 1;
    }
    for (i = nd - 1; i >= 0 && digits[i] == '0'; i--)
        digits[i] = '9';
    if (i < 0 || (i == 0 && digits[0] == '1' && nd > 1))
        return 0; /* would lose a digit; not a same-length neighbour */
    digits[i]--;
    return digits[0] != '0';
}

/*
 * Shortest digit string that reads back as v, choosing the closest one when
 * several have that length -- the output of Ryu, which OTP uses for
 * float_to_list(F, [short]). glibc's printf rounds exactly, so the
 * correctly rounded candidate at each length is tried first; at power-of-two
 * boundaries the interval is lopsided and a neighbour may be the only
 * candidate that round-trips.
 */
static void shortest_digits(double v, char *digits, int *nd, int *exp10)
{
    int p;
    for (p = 1; p <= 17; p++) {
        char tmp[48], cand[24];
        int n, e, ce, dir;
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (!parse_e(tmp, digits, &n, &e))
            continue;
        *nd = n;
        *exp10 = e;
        if (round_trips(digits, n, e, v))
            return;
        for (dir = 1; dir >= -1; dir -= 2) {
            memcpy(cand, digits, (size_t)n);
            ce = e;
            if (step_digits(cand, n, &ce, dir) && round_trips(cand, n, ce, v)) {
                memcpy(digits, cand, (size_t)n);
                *exp10 = ce;
                return;
            }
        }
    }
    /* 17 significant digits always round-trip; keep the last attempt. */
}

static void render_float(Out *o, double d)
{
    char digits[24];
    int nd = 0, e = 0, fixed_len, sci_len, i;
    double a = fabs(d);

    /* Elixir's own rule: integral values in [1, 1e16) print as N.0. */
    if (a >= 1.0 && a < 1.0e16 && d == (double)(int64_t)d) {
        out_i64(o, (int64_t)d);
        out_str(o, ".0");
        return;
    }
    if (d != d) {
        out_str(o, "nan"); /* cannot occur in Erlang; defensive */
        return;
    }
    if (isinf(d)) {
        out_str(o, d < 0 ? "-inf" : "inf");
        return;
    }
    if (signbit(d))
        out_ch(o, '-');
    if (a == 0.0) {
        out_str(o, "0.0");
        return;
    }
    shortest_digits(a, digits, &nd, &e);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;

    /* OTP picks the shorter of plain and scientific notation (plain on a
     * tie), but always scientific from 2^53 upwards. */
    if (e >= 0)
        fixed_len = (nd <= e + 1) ? e + 3 : nd + 1;
    else
        fixed_len = 1 - e + nd;
    {
        char etmp[8];
        sci_len = 2 + (nd > 1 ? nd - 1 : 1) + 1 +
                  snprintf(etmp, sizeof etmp, "%d", e);
    }
    if (a < 9007199254740992.0 && fixed_len <= sci_len) {
        if (e >= 0) {
            if (nd <= e + 1) {
                out_put(o, digits, (size_t)nd);
                for (i = nd; i < e + 1; i++)
                    out_ch(o, '0');
                out_str(o, ".0");
            } else {
                out_put(o, digits, (size_t)e + 1);
                out_ch(o, '.');
                out_put(o, digits + e + 1, (size_t)(nd - e - 1));
            }
        } else {
            out_str(o, "0.");
            for (i = 0; i < -e - 1; i++)
                out_ch(o, '0');
            out_put(o, digits, (size_t)nd);
        }
    } else {
        out_ch(o, digits[0]);
        out_ch(o, '.');
        if (nd > 1)
            out_put(o, digits + 1, (size_t)nd - 1);
        else
            out_ch(o, '0');
        out_ch(o, 'e');
        out_i64(o, e);
    }
}

/* ------------------------------------------------------------------------ */
/* Binaries and bitstrings                                                   */
/* ------------------------------------------------------------------------ */

/* String.printable?(bin, 4096): only the first 4096 characters decide. */
static int printable_binary(const unsigned char *s, size_t n)
{
    size_t i = 0;
    long count = PRINTABLE_LIMIT;
    while (i < n) {
        uint32_t c;
        size_t k;
        if (count == 0)
            return 1;
        c = s[i];
        if (c < 0x80) {
            if (!((c >= 32 && c <= 127) || (c >= 7 && c <= 13) || c == 27))
                return 0;
            i++;
        } else {
            k = utf8_decode(s + i, n - i, &c);
            if (k == 0 || !printable_unicode(c))
                return 0;
            i += k;
        }
        count--;
    }
    return 1;
}

/* <<1, 2, 3::size(3)>> with Inspect.BitString's each_bit/3 limit rules. */
static void render_bitstring(Out *o, ERL_NIF_TERM t, long limit)
{
    ErlNifBinary b;
    int whole = enif_is_binary(o->env, t);
    const unsigned char *bytes = NULL;
    size_t nbytes = 0, i = 0;
    ErlNifBinary enc;
    int have_enc = 0;
    uint32_t tval = 0, tbits = 0;
    long counter = limit;

    if (whole) {
        if (!enif_inspect_binary(o->env, t, &b)) {
            out_str(o, "<<?>>");
            return;
        }
        bytes = b.data;
        nbytes = b.size;
        if (printable_binary(bytes, nbytes)) {
            out_ch(o, '"');
            if (escape_bytes(o, bytes, nbytes, '"', PRINTABLE_LIMIT)) {
                out_str(o, "\" <> ...");
            } else {
                out_ch(o, '"');
            }
            return;
        }
    } else {
        /* Not byte-aligned: enif_inspect_binary refuses these, so read the
         * bytes from the encoded copy (released below). */
        Ext e;
        uint32_t tag, len, bits;
        if (!enif_term_to_binary(o->env, t, &enc)) {
            out_str(o, "<<?>>");
            return;
        }
        have_enc = 1;
        if (!ext_begin(&e, &enc, &tag) || tag != EXT_BIT_BINARY || !ext_u32(&e, &len) ||
            !ext_u8(&e, &bits) || len < 1 || e.n < len || bits < 1 || bits > 8) {
            enif_release_binary(&enc);
            out_str(o, "<<?>>");
            return;
        }
        if (bits == 8) {
            nbytes = len;
        } else {
            nbytes = len - 1;
            tbits = bits;
            tval = (uint32_t)e.p[len - 1] >> (8 - bits);
        }
        bytes = e.p;
    }

    out_str(o, "<<");
    for (;;) {
        size_t left = nbytes - i;
        if (o->full)
            break;
        if (counter == 0) {
            out_str(o, "...");
            break;
        }
        if (left == 1 && tbits == 0) {
            out_u64(o, bytes[i]);
            break;
        }
        if (left >= 1) {
            out_u64(o, bytes[i]);
            out_str(o, ", ");
            i++;
            counter--;
            continue;
        }
        out_u64(o, tval);
        out_str(o, "::size(");
        out_u64(o, tbits);
        out_ch(o, ')');
        break;
    }
    out_str(o, ">>");
    if (have_enc)
        enif_release_binary(&enc);
}

/* ------------------------------------------------------------------------ */
/* Pids, ports, references, funs                                             */
/* ------------------------------------------------------------------------ */

/* Elixir prints the node as its index in the distribution table, which
 * only the VM knows: local terms get 0, remote ones show the node name
 * instead (a deliberate, more informative deviation). */
static void out_node(Out *o, int local, const char *node, size_t len)
{
    if (local)
        out_ch(o, '0');
    else
        out_put(o, node, len);
}

/* Is `node` this VM's node name? Non-distributed nodes are nonode@nohost;
 * otherwise compare with the node of a freshly made (local) reference. */
static int node_is_local(ErlNifEnv *env, const char *node, size_t len)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, n;
    char mine[ATOM_TEXT_MAX + 1];
    size_t mlen;
    int same = 0;
    if (text_eq(node, len, "nonode@nohost"))
        return 1;
    if (!enif_term_to_binary(env, enif_make_ref(env), &b))
        return 0;
    if (ext_begin(&e, &b, &tag) && (tag == EXT_NEWER_REFERENCE || tag == EXT_NEW_REFERENCE) &&
        ext_u16(&e, &n) && ext_atom(&e, mine, &mlen))
        same = (mlen == len && memcmp(mine, node, len) == 0);
    enif_release_binary(&b);
    return same;
}

static void render_pid(Out *o, ERL_NIF_TERM t)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, id, serial;
    char node[ATOM_TEXT_MAX + 1];
    size_t nlen;
    ErlNifPid pid;
    if (!enif_term_to_binary(o->env, t, &b)) {
        out_str(o, "#PID<?>");
        return;
    }
    if (ext_begin(&e, &b, &tag) && (tag == EXT_NEW_PID || tag == EXT_PID) &&
        ext_atom(&e, node, &nlen) && ext_u32(&e, &id) && ext_u32(&e, &serial)) {
        out_str(o, "#PID<");
        out_node(o, enif_get_local_pid(o->env, t, &pid), node, nlen);
        out_ch(o, '.');
        out_u64(o, id);
        out_ch(o, '.');
        out_u64(o, serial);
        out_ch(o, '>');
    } else {
        out_str(o, "#PID<?>");
    }
    enif_release_binary(&b);
}

static void render_port(Out *o, ERL_NIF_TERM t)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, hi = 0, lo = 0;
    char node[ATOM_TEXT_MAX + 1];
    size_t nlen;
    ErlNifPort port;
    int ok;
    if (!enif_term_to_binary(o->env, t, &b)) {
        out_str(o, "#Port<?>");
        return;
    }
    ok = ext_begin(&e, &b, &tag) && ext_atom(&e, node, &nlen);
    if (ok && tag == EXT_V4_PORT)
        ok = ext_u32(&e, &hi) && ext_u32(&e, &lo);
    else if (ok && (tag == EXT_NEW_PORT || tag == EXT_PORT))
        ok = ext_u32(&e, &lo);
    else
        ok = 0;
    if (ok) {
        out_str(o, "#Port<");
        out_node(o, enif_get_local_port(o->env, t, &port), node, nlen);
        out_ch(o, '.');
        out_u64(o, ((uint64_t)hi << 32) | lo);
        out_ch(o, '>');
    } else {
        out_str(o, "#Port<?>");
    }
    enif_release_binary(&b);
}

static void render_ref(Out *o, ERL_NIF_TERM t)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, n = 1, creation, i;
    char node[ATOM_TEXT_MAX + 1];
    size_t nlen;
    int ok;
    if (!enif_term_to_binary(o->env, t, &b)) {
        out_str(o, "#Reference<?>");
        return;
    }
    ok = ext_begin(&e, &b, &tag);
    if (ok && (tag == EXT_NEWER_REFERENCE || tag == EXT_NEW_REFERENCE))
        ok = ext_u16(&e, &n) && ext_atom(&e, node, &nlen) &&
             (tag == EXT_NEWER_REFERENCE ? ext_u32(&e, &creation) : ext_u8(&e, &creation));
    else if (ok && tag == EXT_REFERENCE)
        ok = ext_atom(&e, node, &nlen);
    else
        ok = 0;
    if (ok && e.n >= 4 * (size_t)n && n >= 1) {
        /* ref_to_list/1 prints the id words most significant first. */
        out_str(o, "#Reference<");
        out_node(o, node_is_local(o->env, node, nlen), node, nlen);
        for (i = n; i-- > 0;) {
            const unsigned char *w = e.p + 4 * i;
            out_ch(o, '.');
            out_u64(o, ((uint32_t)w[0] << 24) | ((uint32_t)w[1] << 16) |
                           ((uint32_t)w[2] << 8) | w[3]);
        }
        out_ch(o, '>');
    } else {
        out_str(o, "#Reference<?>");
    }
    enif_release_binary(&b);
}

/*
 * &Mod.fun/arity for external funs. For local funs Elixir prints
 * #Function<index.uniq/arity in Mod.parent/arity>; the name of the
 * function that defines the fun lives in the loaded code, not in the term,
 * so it is left out here: #Function<index.uniq/arity in Mod>. (Funs from
 * scripts, whose module is elixir_compiler_N, are shown by Elixir as
 * "in file:path"; that needs a call into the module, so they get the
 * generic form too.) Encoding a closure copies its environment; the copy is
 * released at once.
 */
static void render_fun(Out *o, ERL_NIF_TERM t)
{
    ErlNifBinary b;
    Ext e;
    uint32_t tag, size, arity, index, nfree;
    int64_t old_index, old_uniq;
    char mod[ATOM_TEXT_MAX + 1], fun[ATOM_TEXT_MAX + 1];
    size_t mlen, flen;
    if (!enif_term_to_binary(o->env, t, &b)) {
        out_str(o, "#Function<?>");
        return;
    }
    if (!ext_begin(&e, &b, &tag)) {
        out_str(o, "#Function<?>");
    } else if (tag == EXT_EXPORT) {
        int64_t ar;
        if (ext_atom(&e, mod, &mlen) && ext_atom(&e, fun, &flen) && ext_int(&e, &ar)) {
            out_ch(o, '&');
            out_atom_literal(o, mod, mlen);
            out_ch(o, '.');
            out_atom_remote(o, fun, flen);
            out_ch(o, '/');
            out_i64(o, ar);
        } else {
            out_str(o, "#Function<?>");
        }
    } else if (tag == EXT_NEW_FUN && ext_u32(&e, &size) && ext_u8(&e, &arity) &&
               ext_skip(&e, 16) && ext_u32(&e, &index) && ext_u32(&e, &nfree) &&
               ext_atom(&e, mod, &mlen) && ext_int(&e, &old_index) &&
               ext_int(&e, &old_uniq)) {
        out_str(o, "#Function<");
        out_u64(o, index);
        out_ch(o, '.');
        out_i64(o, old_uniq);
        out_ch(o, '/');
        out_u64(o, arity);
        out_str(o, " in ");
        out_atom_literal(o, mod, mlen);
        out_ch(o, '>');
    } else {
        out_str(o, "#Function<?>");
    }
    enif_release_binary(&b);
}

/* ------------------------------------------------------------------------ */
/* Containers                                                                */
/* ------------------------------------------------------------------------ */

static void render(Out *o, ERL_NIF_TERM t, long limit, int depth);

/* List.ascii_printable?(list, 4096). */
static int printable_charlist(ErlNifEnv *env, ERL_NIF_TERM list)
{
    long count = PRINTABLE_LIMIT;
    ERL_NIF_TERM h, t;
    while (count > 0 && enif_get_list_cell(env, list, &h, &t)) {
        int c;
        if (!enif_get_int(env, h, &c) ||
            !((c >= 7 && c <= 13) || c == 27 || (c >= 32 && c <= 126)))
            return 0;
        list = t;
        count--;
    }
    return count == 0 || enif_is_empty_list(env, list);
}

/* 'abc' with the printable_limit of 4096 escape units. Elements past the
 * first 4096 are not checked by Elixir either; anything that is not a
 * character there ends the output with "' ++ ...". */
static void render_charlist(Out *o, ERL_NIF_TERM list)
{
    ErlNifEnv *env = o->env;
    long units = PRINTABLE_LIMIT;
    ERL_NIF_TERM h, t, h2, t2;
    int more = 0;
    out_ch(o, '\'');
    while (!o->full) {
        int c, c2;
        if (!enif_get_list_cell(env, list, &h, &t)) {
            more = !enif_is_empty_list(env, list);
            break;
        }
        if (units == 0 || !enif_get_int(env, h, &c) || c < 0 || c > 0x10FFFF ||
            (c >= 0xD800 && c <= 0xDFFF)) {
            more = 1;
            break;
        }
        if (c == '\'') {
            out_str(o, "\\'");
        } else if (c == '#' && enif_get_list_cell(env, t, &h2, &t2) &&
                   enif_get_int(env, h2, &c2) && c2 == '{') {
            out_str(o, "\\#{");
            t = t2;
        } else {
            escape_cp(o, (uint32_t)c);
        }
        units--;
        list = t;
    }
    out_ch(o, '\'');
    if (more)
        out_str(o, " ++ ...");
}

/* A keyword pair as Inspect.List.keyword/2 requires: {atom, _} where the
 * atom is not an alias ("Elixir.*"). */
static int keyword_pair(ErlNifEnv *env, ERL_NIF_TERM t, ERL_NIF_TERM *k, ERL_NIF_TERM *v)
{
    int arity;
    const ERL_NIF_TERM *el;
    if (!enif_get_tuple(env, t, &arity, &el) || arity != 2 || !enif_is_atom(env, el[0]) ||
        atom_is_elixir_alias(env, el[0]))
        return 0;
    *k = el[0];
    *v = el[1];
    return 1;
}

/* Inspect.List.keyword?/1: a proper list of keyword pairs (checked in full,
 * as Elixir does). */
static int is_keyword(ErlNifEnv *env, ERL_NIF_TERM list)
{
    ERL_NIF_TERM h, t, k, v;
    while (enif_get_list_cell(env, list, &h, &t)) {
        if (!keyword_pair(env, h, &k, &v))
            return 0;
        list = t;
    }
    return enif_is_empty_list(env, list);
}

static void render_list(Out *o, ERL_NIF_TERM list, long limit, int depth)
{
    ErlNifEnv *env = o->env;
    ERL_NIF_TERM h, t, k, v;
    int first = 1, kw;
    if (enif_is_empty_list(env, list)) {
        out_str(o, "[]");
        return;
    }
    if (printable_charlist(env, list)) {
        render_charlist(o, list);
        return;
    }
    kw = is_keyword(env, list);
    out_ch(o, '[');
    /* Inspect.Algebra.container_each/6: every element consumes one unit of
     * the limit and is itself rendered with what is left. */
    while (!o->full && enif_get_list_cell(env, list, &h, &t)) {
        if (!first)
            out_str(o, ", ");
        first = 0;
        if (limit == 0) {
            out_str(o, "...");
            break;
        }
        limit--;
        if (kw && keyword_pair(env, h, &k, &v)) {
            render_atom_key(o, k);
            out_ch(o, ' ');
            render(o, v, limit, depth + 1);
        } else {
            render(o, h, limit, depth + 1);
        }
        if (!enif_is_list(env, t)) {
            out_str(o, " | ");
            render(o, t, limit, depth + 1);
            break;
        }
        list = t;
    }
    out_ch(o, ']');
}

static void render_tuple(Out *o, ERL_NIF_TERM t, long limit, int depth)
{
    int arity, i;
    const ERL_NIF_TERM *el;
    if (!enif_get_tuple(o->env, t, &arity, &el)) {
        out_str(o, "{?}");
        return;
    }
    out_ch(o, '{');
    for (i = 0; i < arity && !o->full; i++) {
        if (i > 0)
            out_str(o, ", ");
        if (limit == 0) {
            out_str(o, "...");
            break;
        }
        limit--;
        render(o, el[i], limit, depth + 1);
    }
    out_ch(o, '}');
}

/*
 * Map iteration in the order of :maps.to_list/1, which Elixir prints. For
 * flatmaps (up to 32 keys) that is the NIF iterator's order; for larger
 * (HAMT) maps OTP 25's maps:to_list/1 yields the exact reverse of it.
 */
typedef struct {
    ErlNifMapIterator it;
    int rev;
} MapIter;

static int map_iter_start(ErlNifEnv *env, ERL_NIF_TERM m, size_t size, MapIter *mi)
{
    mi->rev = size > FLATMAP_MAX;
    return enif_map_iterator_create(env, m, &mi->it,
                                    mi->rev ? ERL_NIF_MAP_ITERATOR_LAST
                                            : ERL_NIF_MAP_ITERATOR_FIRST);
}

static void map_iter_next(ErlNifEnv *env, MapIter *mi)
{
    if (mi->rev)
        enif_map_iterator_prev(env, &mi->it);
    else
        enif_map_iterator_next(env, &mi->it);
}

/* One pass over the keys: are they all atoms, and is any an alias? */
static int map_key_scan(ErlNifEnv *env, ERL_NIF_TERM m, int *all_atoms, int *any_alias)
{
    ErlNifMapIterator it;
    ERL_NIF_TERM k, v;
    *all_atoms = 1;
    *any_alias = 0;
    if (!enif_map_iterator_create(env, m, &it, ERL_NIF_MAP_ITERATOR_FIRST))
        return 0;
    while (enif_map_iterator_get_pair(env, &it, &k, &v)) {
        if (!enif_is_atom(env, k)) {
            *all_atoms = 0;
            break;
        }
        if (!*any_alias && atom_is_elixir_alias(env, k))
            *any_alias = 1;
        enif_map_iterator_next(env, &it);
    }
    enif_map_iterator_destroy(env, &it);
    return 1;
}

/*
 * Maps, and structs: a map whose __struct__ value is an atom and whose keys
 * are all atoms prints as %Name{field: value} without __struct__ and
 * __exception__, like Inspect.Any. Differences from Elixir, which cannot be
 * avoided without calling into the struct's module: fields follow map key
 * order rather than defstruct order, structs with their own Inspect
 * implementation (Range, MapSet, DateTime, ...) print in this raw form, and
 * a __struct__ naming a module that does not exist still prints as a struct.
 */
static void render_map(Out *o, ERL_NIF_TERM m, long limit, int depth)
{
    ErlNifEnv *env = o->env;
    size_t size;
    ERL_NIF_TERM struct_key, exc_key, mod, k, v;
    int have_exc, is_struct = 0, all_atoms, any_alias, first = 1, kw;
    MapIter mi;

    if (!enif_get_map_size(env, m, &size)) {
        out_str(o, "%{?}");
        return;
    }
    if (size == 0) {
        out_str(o, "%{}");
        return;
    }
    if (!map_key_scan(env, m, &all_atoms, &any_alias)) {
        out_str(o, "%{?}");
        return;
    }
    /* enif_make_existing_atom: if the atom does not exist no key can be it,
     * and nothing new is added to the atom table. */
    if (all_atoms && enif_make_existing_atom(env, "__struct__", &struct_key, ERL_NIF_LATIN1) &&
        enif_get_map_value(env, m, struct_key, &mod) && enif_is_atom(env, mod))
        is_struct = 1;
    have_exc = enif_make_existing_atom(env, "__exception__", &exc_key, ERL_NIF_LATIN1);
    kw = is_struct || (all_atoms && !any_alias);

    if (is_struct) {
        out_ch(o, '%');
        render_atom(o, mod);
        out_ch(o, '{');
    } else {
        out_str(o, "%{");
    }
    if (!map_iter_start(env, m, size, &mi)) {
        out_str(o, "?}");
        return;
    }
    while (!o->full && enif_map_iterator_get_pair(env, &mi.it, &k, &v)) {
        if (is_struct && (enif_is_identical(k, struct_key) ||
                          (have_exc && enif_is_identical(k, exc_key)))) {
            map_iter_next(env, &mi);
            continue;
        }
        if (!first)
            out_str(o, ", ");
        first = 0;
        if (limit == 0) {
            out_str(o, "...");
            break;
        }
        limit--;
        if (kw) {
            render_atom_key(o, k);
            out_ch(o, ' ');
        } else {
            render(o, k, limit, depth + 1);
            out_str(o, " => ");
        }
        render(o, v, limit, depth + 1);
        map_iter_next(env, &mi);
    }
    enif_map_iterator_destroy(env, &mi.it);
    out_ch(o, '}');
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

/* `limit` is Inspect.Opts.limit as Elixir would pass it to this term. */
static void render(Out *o, ERL_NIF_TERM t, long limit, int depth)
{
    double d;
    if (o->full)
        return;
    if (depth > MAX_DEPTH) {
        out_str(o, "...");
        return;
    }
    switch (enif_term_type(o->env, t)) {
    case ERL_NIF_TERM_TYPE_ATOM:
        render_atom(o, t);
        break;
    case ERL_NIF_TERM_TYPE_BITSTRING:
        render_bitstring(o, t, limit);
        break;
    case ERL_NIF_TERM_TYPE_FLOAT:
        if (enif_get_double(o->env, t, &d))
            render_float(o, d);
        else
            out_str(o, "#Float<?>");
        break;
    case ERL_NIF_TERM_TYPE_FUN:
        render_fun(o, t);
        break;
    case ERL_NIF_TERM_TYPE_INTEGER:
        render_integer(o, t);
        break;
    case ERL_NIF_TERM_TYPE_LIST:
        render_list(o, t, limit, depth);
        break;
    case ERL_NIF_TERM_TYPE_MAP:
        render_map(o, t, limit, depth);
        break;
    case ERL_NIF_TERM_TYPE_PID:
        render_pid(o, t);
        break;
    case ERL_NIF_TERM_TYPE_PORT:
        render_port(o, t);
        break;
    case ERL_NIF_TERM_TYPE_REFERENCE:
        render_ref(o, t);
        break;
    case ERL_NIF_TERM_TYPE_TUPLE:
        render_tuple(o, t, limit, depth);
        break;
    default:
        out_str(o, "#Term<?>");
        break;
    }
}

size_t corral__inspect(ErlNifEnv *env, ERL_NIF_TERM term, char *buf, size_t cap)
{
    Out o;
    if (buf == NULL || cap == 0)
        return 0;
    o.env = env;
    o.buf = buf;
    o.cap = cap;
    o.len = 0;
    o.full = 0;
    render(&o, term, INSPECT_LIMIT, 0);
    return out_finish(&o);
}

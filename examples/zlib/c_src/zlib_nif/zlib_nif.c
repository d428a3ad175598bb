/*
 * zlib through Corral: a system library linked with `libs: ["zlib"]`.
 *
 * Caller mistakes (not iodata, a bad level) raise ArgumentError; data that
 * is not a valid zlib stream is an expected outcome and returns
 * {:error, :invalid_data}. Work on large inputs runs on a dirty scheduler.
 */
#include <corral.h>

#include <string.h>
#include <zlib.h>

CORRAL_ATOMS(errors, "invalid_data", "too_large");

/* compress(iodata, level) -> binary */
CORRAL_NIF(zlib_compress)
{
    corral_binary in = corral_arg_iodata(c, 0);
    int level = (int)corral_arg_int_range(c, 1, 0, 9);
    /* Written straight into the binary the caller gets: the bound is the
     * worst case, and finishing shrinks it to what zlib wrote (no copy). */
    uLong bound = compressBound((uLong)in.size);
    corral_owned_binary *out = corral_owned_new(c, bound);
    uLongf out_len = bound;
    int rc = compress2(out->data, &out_len, in.data, (uLong)in.size, level);
    if (rc != Z_OK) corral_raise(c, "zlib compress2 failed (%d)", rc);
    return corral_owned_finish(c, out, out_len);
}

static void end_stream(void *s) { inflateEnd(s); }

/* uncompress(binary, max_size) -> {:ok, binary} | {:error, :invalid_data | :too_large} */
CORRAL_NIF(zlib_uncompress)
{
    corral_binary in = corral_arg_binary(c, 0);
    size_t max = corral_arg_size(c, 1);
    /* In scratch memory, not on the stack: the cleanup runs after the body
     * has returned. */
    z_stream *s = corral_calloc(c, 1, sizeof *s);
    if (inflateInit(s) != Z_OK) corral_raise(c, "zlib inflateInit failed");
    /* The stream holds zlib's own memory: end it whichever way we leave. */
    corral_defer(c, end_stream, s);
    /* The output grows in place (the allocator moves it only when it must)
     * and becomes the result without a copy; on an error return or a raise
     * the call frees it. */
    size_t cap = in.size * 4 + 64 < max ? in.size * 4 + 64 : max;
    corral_owned_binary *out = corral_owned_new(c, cap);
    size_t used = 0;
    s->next_in = (Bytef *)in.data;
    s->avail_in = (uInt)in.size;
    for (;;) {
        s->next_out = out->data + used;
        s->avail_out = (uInt)(out->size - used);
        int rc = inflate(s, Z_NO_FLUSH);
        used = out->size - s->avail_out;
        if (rc == Z_STREAM_END) return corral_make_ok_tuple(c, corral_owned_finish(c, out, used));
        if (rc != Z_OK && rc != Z_BUF_ERROR) return corral_make_error(c, corral_atom(&errors, 0));
        if (s->avail_in == 0 && s->avail_out > 0) return corral_make_error(c, corral_atom(&errors, 0));
        if (used == out->size) {
            if (out->size == max) return corral_make_error(c, corral_atom(&errors, 1));
            corral_owned_resize(c, out, out->size * 2 < max ? out->size * 2 : max);
        }
    }
}

/* (zlib.h defines zlib_version as a macro, hence the name.) */
CORRAL_NIF(linked_version) { return corral_make_binary(c, zlibVersion(), strlen(zlibVersion())); }

CORRAL_DOC("compress", 2, "compress(iodata(), 0..9) :: binary()", "Compresses with zlib at `level`.");
CORRAL_DOC("uncompress", 2, "uncompress(binary(), non_neg_integer()) :: {:ok, binary()} | {:error, :invalid_data | :too_large}",
           "Inflates a zlib stream, refusing output larger than `max_size`.");
CORRAL_DOC("version", 0, "version() :: String.t()", "The linked zlib's version.");

CORRAL_MODULE(Zlib.Native,
    CORRAL_FN_FLAGS("compress", zlib_compress, 2, CORRAL_DIRTY_CPU),
    CORRAL_FN_FLAGS("uncompress", zlib_uncompress, 2, CORRAL_DIRTY_CPU),
    CORRAL_FN("version", linked_version, 0));

/*
 * A mutable byte buffer shared between processes: the first Corral example.
 *
 * The bytes live inside the resource object itself (a flexible array), so
 * the resource needs no destructor. A read/write lock lets many readers in
 * at once; Corral releases it when the call returns or raises.
 */
#include <corral.h>

#include <string.h>

typedef struct {
    corral_rwlock lock;
    size_t size;
    uint8_t bytes[];
} Buffer;

CORRAL_RESOURCE(Buffer, NULL);

/* new(size): a zeroed buffer of `size` bytes. */
CORRAL_NIF(buffer_new)
{
    size_t size = corral_arg_size(c, 0);
    Buffer *b = corral_resource_new(c, Buffer, size);
    b->size = size;
    return corral_make_resource(c, b);
}

/* get(buffer, index): the byte at index. */
CORRAL_NIF(buffer_get)
{
    Buffer *b = corral_arg_resource(c, 0, Buffer);
    size_t i = corral_arg_index(c, 1, b->size);
    corral_read_lock(c, &b->lock);
    return corral_make_uint(c, b->bytes[i]);
}

/* set(buffer, index, byte): stores byte (0..255) at index; returns :ok. */
CORRAL_NIF(buffer_set)
{
    Buffer *b = corral_arg_resource(c, 0, Buffer);
    size_t i = corral_arg_index(c, 1, b->size);
    uint8_t byte = corral_arg_u8(c, 2);
    corral_write_lock(c, &b->lock);
    b->bytes[i] = byte;
    return corral_make_ok(c);
}

/* size(buffer): the number of bytes. The size never changes, so no lock. */
CORRAL_NIF(buffer_size)
{
    Buffer *b = corral_arg_resource(c, 0, Buffer);
    return corral_make_size(c, b->size);
}

/* to_binary(buffer): a copy of the bytes, taken under the read lock so it
 * is never half old and half new. */
CORRAL_NIF(buffer_to_binary)
{
    Buffer *b = corral_arg_resource(c, 0, Buffer);
    corral_read_lock(c, &b->lock);
    return corral_make_binary(c, b->bytes, b->size);
}

/* Specs and docs for the generated Elixir functions (h Buffer.Native.get). */
CORRAL_DOC("new", 1, "new(non_neg_integer()) :: reference()", "A new buffer of `size` zero bytes.");
CORRAL_DOC("get", 2, "get(reference(), non_neg_integer()) :: byte()", "The byte at `index` (0-based).");
CORRAL_DOC("set", 3, "set(reference(), non_neg_integer(), byte()) :: :ok", "Stores `byte` at `index` (0-based).");
CORRAL_DOC("size", 1, "size(reference()) :: non_neg_integer()", "The number of bytes in the buffer.");
CORRAL_DOC("to_binary", 1, "to_binary(reference()) :: binary()", "A copy of the buffer's bytes.");

CORRAL_MODULE(Buffer.Native,
    CORRAL_FN("new", buffer_new, 1),
    CORRAL_FN("get", buffer_get, 2),
    CORRAL_FN("set", buffer_set, 3),
    CORRAL_FN("size", buffer_size, 1),
    CORRAL_FN("to_binary", buffer_to_binary, 1));

/*
 * A mutable byte buffer shared between processes: the first Corral example.
 *
 * The bytes live inside the resource object itself (a flexible array), so
 * the resource needs no destructor. A read/write lock lets many readers in
 * at once. Bodies that can raise (to_binary allocates) take it with
 * corral_read_lock, and Corral releases it when the call returns or raises.
 */
#include <corral.h>

#include <string.h>

typedef struct {
    corral_rwlock lock;
    size_t size;
    uint8_t bytes[];
} Buffer;

CORRAL_RESOURCE(Buffer, NULL);

/* Each function is declared by its signature: type words and names. Corral
 * checks and decodes the arguments in order (a later check may use an
 * earlier argument, as `index` does with the buffer's size), encodes the
 * result, and gives the Elixir function its @spec and argument names. */

CORRAL_DOC_OF(new, "A new buffer of `size` zero bytes.");
CORRAL_DEF(new, (res, Buffer), (size, size))
{
    Buffer *b = corral_resource_new(c, Buffer, size);
    b->size = size;
    return b;
}

/* get and set are pure bodies: nothing in them can raise, so they take
 * and release the lock themselves and the NIF needs no unwinding frame
 * (hand-written speed). */
CORRAL_DOC_OF(get, "The byte at `index` (0-based).");
CORRAL_PURE(get, u8, (res, Buffer, buffer), (index, buffer->size, index))
{
    corral_rwlock_read(&buffer->lock);
    uint8_t byte = buffer->bytes[index];
    corral_rwlock_read_unlock(&buffer->lock);
    return byte;
}

CORRAL_DOC_OF(set, "Stores `byte` at `index` (0-based).");
CORRAL_PURE(set, void, (res, Buffer, buffer), (index, buffer->size, index), (u8, byte))
{
    corral_rwlock_write(&buffer->lock);
    buffer->bytes[index] = byte;
    corral_rwlock_write_unlock(&buffer->lock);
}

/* The size never changes, so no lock. */
CORRAL_DOC_OF(size, "The number of bytes in the buffer.");
CORRAL_DEF(size, size, (res, Buffer, buffer))
{
    (void)c;
    return buffer->size;
}

/* A copy taken under the read lock, so it is never half old and half new. */
CORRAL_DOC_OF(to_binary, "A copy of the buffer's bytes.");
CORRAL_DEF(to_binary, term, (res, Buffer, buffer))
{
    corral_read_lock(c, &buffer->lock);
    return corral_make_binary(c, buffer->bytes, buffer->size);
}

CORRAL_MODULE(Buffer.Native,
    CORRAL_EXPORT(new),
    CORRAL_EXPORT(get),
    CORRAL_EXPORT(set),
    CORRAL_EXPORT(size),
    CORRAL_EXPORT(to_binary));

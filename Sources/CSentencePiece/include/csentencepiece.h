/*
 * A pure C face over libsentencepiece (Debian 0.1.97), so Swift needs no C++ interop.
 *
 * Conventions:
 *  - Every function that can fail returns a csp_status; CSP_OK is 0. On failure,
 *    csp_last_error() gives a sentence for the calling thread, valid until that
 *    thread's next call into this library.
 *  - No C++ exception ever crosses this boundary.
 *  - Memory handed back lives in caller-owned buffer objects (csp_ids, csp_pieces,
 *    csp_bytes) that are reused across calls and released with their _free function,
 *    so a hot encode loop allocates nothing once the buffers have grown.
 *  - Text is UTF-8 given as pointer + length; it need not be NUL-terminated.
 */
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum csp_status {
    CSP_OK = 0,
    CSP_INVALID_ARGUMENT = 1,
    CSP_NOT_FOUND = 2,
    CSP_OUT_OF_RANGE = 3,
    CSP_OUT_OF_MEMORY = 4,
    CSP_INTERNAL = 5
} csp_status;

typedef struct csp_processor csp_processor;
typedef struct csp_ids csp_ids;
typedef struct csp_pieces csp_pieces;
typedef struct csp_bytes csp_bytes;

/* Message of the last failure on the calling thread ("" when none). */
const char *csp_last_error(void);

/* The libsentencepiece version this shim was written against, e.g. "0.1.97". */
const char *csp_version(void);

/* Reusable result buffers. create returns NULL only when out of memory. */
csp_ids *csp_ids_create(void);
void csp_ids_free(csp_ids *ids);
const int32_t *csp_ids_data(const csp_ids *ids);
size_t csp_ids_count(const csp_ids *ids);

csp_pieces *csp_pieces_create(void);
void csp_pieces_free(csp_pieces *pieces);
size_t csp_pieces_count(const csp_pieces *pieces);
/* Piece `index` as bytes; valid until the buffer is reused or freed. */
const char *csp_pieces_get(const csp_pieces *pieces, size_t index, size_t *length);

csp_bytes *csp_bytes_create(void);
void csp_bytes_free(csp_bytes *bytes);
const char *csp_bytes_data(const csp_bytes *bytes);
size_t csp_bytes_count(const csp_bytes *bytes);

/* Loading. On success *out owns a processor to release with csp_processor_free. */
csp_status csp_processor_load_file(const char *path, csp_processor **out);
csp_status csp_processor_load_bytes(const void *data, size_t length, csp_processor **out);
void csp_processor_free(csp_processor *processor);

/* Vocabulary. Ids outside 0..<size give CSP_OUT_OF_RANGE. */
int32_t csp_vocab_size(const csp_processor *processor);
/* The id of a piece, or -1 when the vocabulary lacks it (not the unk id). */
int32_t csp_piece_to_id(const csp_processor *processor, const char *piece, size_t length);
/* The piece of an id; the bytes live as long as the processor. */
csp_status csp_id_to_piece(const csp_processor *processor, int32_t id, const char **piece, size_t *length);
/* Special ids; -1 where the model defines none. */
int32_t csp_unk_id(const csp_processor *processor);
int32_t csp_bos_id(const csp_processor *processor);
int32_t csp_eos_id(const csp_processor *processor);
int32_t csp_pad_id(const csp_processor *processor);
/* Whether an id is a control symbol (bos/eos/pad and similar), which decoding drops. */
int csp_is_control(const csp_processor *processor, int32_t id);

/* Deterministic (Viterbi / greedy) encoding. Safe to call from several threads at once. */
csp_status csp_encode_ids(const csp_processor *processor, const char *text, size_t length, csp_ids *out);
csp_status csp_encode_pieces(const csp_processor *processor, const char *text, size_t length, csp_pieces *out);

/*
 * Subword-regularisation sampling (unigram: nbest_size > 1 samples from the n best,
 * nbest_size < 0 from the whole lattice, alpha is the inverse temperature; bpe: alpha is
 * the merge-dropout probability and nbest_size is ignored). The same seed, text and
 * settings always give the same result, on any thread.
 */
csp_status csp_sample_encode_ids(const csp_processor *processor, const char *text, size_t length,
                                 int32_t nbest_size, float alpha, uint32_t seed, csp_ids *out);
csp_status csp_sample_encode_pieces(const csp_processor *processor, const char *text, size_t length,
                                    int32_t nbest_size, float alpha, uint32_t seed, csp_pieces *out);

/* Text of a sequence of ids; control ids are dropped. */
csp_status csp_decode_ids(const csp_processor *processor, const int32_t *ids, size_t count, csp_bytes *out);

/*
 * Training. csp_train takes spm_train's flag string ("--input=a.txt --model_prefix=m ...");
 * it splits on spaces, so paths with spaces need csp_train_kv, which takes flag names
 * (without "--") and values as parallel arrays. When model_out is not NULL the model is
 * written there instead of to <model_prefix>.model/.vocab, and model_prefix must be absent.
 */
csp_status csp_train(const char *args, csp_bytes *model_out);
csp_status csp_train_kv(const char *const *keys, const char *const *values, size_t count, csp_bytes *model_out);

#ifdef __cplusplus
}
#endif
#endif

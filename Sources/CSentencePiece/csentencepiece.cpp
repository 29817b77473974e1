#include "csentencepiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <exception>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece {
namespace random {
// Internal to libsentencepiece but exported (nm -D shows it): the per-thread generator that
// SampleEncode draws from. The public SetRandomGeneratorSeed only seeds generators created
// after it is called, i.e. on threads that have never sampled, so a per-call seed needs this.
std::mt19937 *GetRandomGenerator();
}  // namespace random
}  // namespace sentencepiece

namespace spm = sentencepiece;

struct csp_processor {
    spm::SentencePieceProcessor sp;
};
struct csp_ids {
    std::vector<int> ids;
};
struct csp_pieces {
    std::vector<std::string> pieces;
};
struct csp_bytes {
    std::string bytes;
};

static_assert(sizeof(int) == sizeof(int32_t), "csp_ids hands out std::vector<int> storage as int32_t");

namespace {

thread_local std::string last_error;

csp_status fail(csp_status status, const std::string &message) {
    // Assigning can itself throw; keep the status even if the message is lost.
    try {
        last_error = message;
    } catch (...) {
    }
    return status;
}

csp_status from_status(const spm::util::Status &status) {
    if (status.ok()) return CSP_OK;
    csp_status code = CSP_INTERNAL;
    switch (status.code()) {
    case spm::util::StatusCode::kInvalidArgument:
    case spm::util::StatusCode::kFailedPrecondition:
        code = CSP_INVALID_ARGUMENT;
        break;
    case spm::util::StatusCode::kNotFound:
    case spm::util::StatusCode::kPermissionDenied:
        code = CSP_NOT_FOUND;
        break;
    case spm::util::StatusCode::kOutOfRange:
        code = CSP_OUT_OF_RANGE;
        break;
    case spm::util::StatusCode::kResourceExhausted:
        code = CSP_OUT_OF_MEMORY;
        break;
    default:
        break;
    }
    return fail(code, status.error_message());
}

// Runs `body`, turning any C++ exception into a status, so none unwinds into Swift.
template <typename Body>
csp_status guarded(Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(CSP_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return fail(CSP_INTERNAL, e.what());
    } catch (...) {
        return fail(CSP_INTERNAL, "unknown C++ exception in libsentencepiece");
    }
}

csp_status check_args(const void *processor, const void *text, size_t length, const void *out) {
    if (processor == nullptr || out == nullptr || (text == nullptr && length > 0)) {
        return fail(CSP_INVALID_ARGUMENT, "a required argument was NULL");
    }
    return CSP_OK;
}

std::string_view view(const char *text, size_t length) {
    return length == 0 ? std::string_view() : std::string_view(text, length);
}

template <typename Loader>
csp_status load(csp_processor **out, Loader loader) {
    if (out == nullptr) return fail(CSP_INVALID_ARGUMENT, "out must not be NULL");
    *out = nullptr;
    return guarded([&]() -> csp_status {
        // Owned until handed out: libsentencepiece can throw while parsing a damaged model (found by `make fuzz`).
        std::unique_ptr<csp_processor> processor(new csp_processor());
        const auto status = loader(processor->sp);
        if (!status.ok()) {
            if (status.code() == spm::util::StatusCode::kNotFound) return from_status(status);
            // libsentencepiece reports a failed protobuf parse as a source location; say what it means.
            return fail(CSP_INVALID_ARGUMENT,
                        std::string("not a SentencePiece model protobuf (truncated, corrupt, or another format); "
                                    "libsentencepiece said: ") + status.error_message());
        }
        // An empty or foreign protobuf can parse without error yet hold no vocabulary.
        if (processor->sp.GetPieceSize() <= 0) {
            return fail(CSP_INVALID_ARGUMENT, "the model has an empty vocabulary");
        }
        *out = processor.release();
        return CSP_OK;
    });
}

}  // namespace

extern "C" {

const char *csp_last_error(void) { return last_error.c_str(); }

const char *csp_version(void) { return "0.1.97"; }

csp_ids *csp_ids_create(void) { return new (std::nothrow) csp_ids(); }
void csp_ids_free(csp_ids *ids) { delete ids; }
const int32_t *csp_ids_data(const csp_ids *ids) {
    return ids == nullptr ? nullptr : reinterpret_cast<const int32_t *>(ids->ids.data());
}
size_t csp_ids_count(const csp_ids *ids) { return ids == nullptr ? 0 : ids->ids.size(); }

csp_pieces *csp_pieces_create(void) { return new (std::nothrow) csp_pieces(); }
void csp_pieces_free(csp_pieces *pieces) { delete pieces; }
size_t csp_pieces_count(const csp_pieces *pieces) { return pieces == nullptr ? 0 : pieces->pieces.size(); }
const char *csp_pieces_get(const csp_pieces *pieces, size_t index, size_t *length) {
    if (pieces == nullptr || index >= pieces->pieces.size()) {
        if (length != nullptr) *length = 0;
        return nullptr;
    }
    const std::string &piece = pieces->pieces[index];
    if (length != nullptr) *length = piece.size();
    return piece.data();
}

csp_bytes *csp_bytes_create(void) { return new (std::nothrow) csp_bytes(); }
void csp_bytes_free(csp_bytes *bytes) { delete bytes; }
const char *csp_bytes_data(const csp_bytes *bytes) { return bytes == nullptr ? nullptr : bytes->bytes.data(); }
size_t csp_bytes_count(const csp_bytes *bytes) { return bytes == nullptr ? 0 : bytes->bytes.size(); }

csp_status csp_processor_load_file(const char *path, csp_processor **out) {
    if (path == nullptr) return fail(CSP_INVALID_ARGUMENT, "path must not be NULL");
    return load(out, [&](spm::SentencePieceProcessor &sp) { return sp.Load(path); });
}

csp_status csp_processor_load_bytes(const void *data, size_t length, csp_processor **out) {
    if (data == nullptr && length > 0) return fail(CSP_INVALID_ARGUMENT, "data must not be NULL");
    return load(out, [&](spm::SentencePieceProcessor &sp) {
        return sp.LoadFromSerializedProto(view(static_cast<const char *>(data), length));
    });
}

void csp_processor_free(csp_processor *processor) { delete processor; }

int32_t csp_vocab_size(const csp_processor *processor) {
    if (processor == nullptr) return 0;
    try {
        return processor->sp.GetPieceSize();
    } catch (...) {
        return 0;
    }
}

int32_t csp_piece_to_id(const csp_processor *processor, const char *piece, size_t length) {
    if (processor == nullptr || (piece == nullptr && length > 0)) return -1;
    try {
        const auto text = view(piece, length);
        const int id = processor->sp.PieceToId(text);
        // PieceToId answers unk for unknown pieces; only a true match counts.
        if (id < 0 || id >= processor->sp.GetPieceSize()) return -1;
        return processor->sp.IdToPiece(id) == text ? id : -1;
    } catch (...) {
        return -1;
    }
}

csp_status csp_id_to_piece(const csp_processor *processor, int32_t id, const char **piece, size_t *length) {
    if (processor == nullptr || piece == nullptr || length == nullptr) {
        return fail(CSP_INVALID_ARGUMENT, "a required argument was NULL");
    }
    return guarded([&]() -> csp_status {
        if (id < 0 || id >= processor->sp.GetPieceSize()) {
            return fail(CSP_OUT_OF_RANGE, "id " + std::to_string(id) + " is outside the vocabulary of " +
                                              std::to_string(processor->sp.GetPieceSize()));
        }
        const std::string &text = processor->sp.IdToPiece(id);
        *piece = text.data();
        *length = text.size();
        return CSP_OK;
    });
}

int32_t csp_unk_id(const csp_processor *processor) { return processor == nullptr ? -1 : processor->sp.unk_id(); }
int32_t csp_bos_id(const csp_processor *processor) { return processor == nullptr ? -1 : processor->sp.bos_id(); }
int32_t csp_eos_id(const csp_processor *processor) { return processor == nullptr ? -1 : processor->sp.eos_id(); }
int32_t csp_pad_id(const csp_processor *processor) { return processor == nullptr ? -1 : processor->sp.pad_id(); }

int csp_is_control(const csp_processor *processor, int32_t id) {
    if (processor == nullptr || id < 0) return 0;
    try {
        return id < processor->sp.GetPieceSize() && processor->sp.IsControl(id) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

csp_status csp_encode_ids(const csp_processor *processor, const char *text, size_t length, csp_ids *out) {
    if (auto s = check_args(processor, text, length, out)) return s;
    return guarded([&] { return from_status(processor->sp.Encode(view(text, length), &out->ids)); });
}

csp_status csp_encode_pieces(const csp_processor *processor, const char *text, size_t length, csp_pieces *out) {
    if (auto s = check_args(processor, text, length, out)) return s;
    return guarded([&] { return from_status(processor->sp.Encode(view(text, length), &out->pieces)); });
}

csp_status csp_sample_encode_ids(const csp_processor *processor, const char *text, size_t length,
                                 int32_t nbest_size, float alpha, uint32_t seed, csp_ids *out) {
    if (auto s = check_args(processor, text, length, out)) return s;
    return guarded([&] {
        spm::random::GetRandomGenerator()->seed(seed);
        return from_status(processor->sp.SampleEncode(view(text, length), nbest_size, alpha, &out->ids));
    });
}

csp_status csp_sample_encode_pieces(const csp_processor *processor, const char *text, size_t length,
                                    int32_t nbest_size, float alpha, uint32_t seed, csp_pieces *out) {
    if (auto s = check_args(processor, text, length, out)) return s;
    return guarded([&] {
        spm::random::GetRandomGenerator()->seed(seed);
        return from_status(processor->sp.SampleEncode(view(text, length), nbest_size, alpha, &out->pieces));
    });
}

csp_status csp_decode_ids(const csp_processor *processor, const int32_t *ids, size_t count, csp_bytes *out) {
    if (auto s = check_args(processor, ids, count, out)) return s;
    return guarded([&]() -> csp_status {
        const int size = processor->sp.GetPieceSize();
        std::vector<int> input(ids, ids + count);
        // Decode does not report out-of-range ids as a status; reject them here so a bad id from a
        // user is an error message rather than undefined behaviour inside the piece table.
        for (size_t i = 0; i < count; ++i) {
            if (input[i] < 0 || input[i] >= size) {
                return fail(CSP_OUT_OF_RANGE, "id " + std::to_string(input[i]) + " at position " + std::to_string(i) +
                                                  " is outside the vocabulary of " + std::to_string(size));
            }
        }
        return from_status(processor->sp.Decode(input, &out->bytes));
    });
}

csp_status csp_train(const char *args, csp_bytes *model_out) {
    if (args == nullptr) return fail(CSP_INVALID_ARGUMENT, "args must not be NULL");
    return guarded([&] {
        std::string *serialized = model_out == nullptr ? nullptr : &model_out->bytes;
        return from_status(spm::SentencePieceTrainer::Train(std::string_view(args), nullptr, serialized));
    });
}

csp_status csp_train_kv(const char *const *keys, const char *const *values, size_t count, csp_bytes *model_out) {
    if (count > 0 && (keys == nullptr || values == nullptr)) {
        return fail(CSP_INVALID_ARGUMENT, "keys and values must not be NULL");
    }
    return guarded([&]() -> csp_status {
        std::unordered_map<std::string, std::string> kwargs;
        for (size_t i = 0; i < count; ++i) {
            if (keys[i] == nullptr || values[i] == nullptr) {
                return fail(CSP_INVALID_ARGUMENT, "a training flag name or value was NULL");
            }
            kwargs[keys[i]] = values[i];
        }
        std::string *serialized = model_out == nullptr ? nullptr : &model_out->bytes;
        return from_status(spm::SentencePieceTrainer::Train(kwargs, nullptr, serialized));
    });
}

}  // extern "C"

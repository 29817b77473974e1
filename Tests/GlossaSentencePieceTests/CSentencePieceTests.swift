import CSentencePiece
import GlossaSentencePiece
import Testing

/// The C face on its own: status codes, error messages, and the flag-string trainer Swift does not use.
@Suite struct CSentencePieceTests {
    @Test func flagStringTrainerWritesIntoABuffer() throws {
        let sample = try Fixtures.url("sample", "txt").path
        let output = try #require(csp_bytes_create())
        defer { csp_bytes_free(output) }
        let status = csp_train("--input=\(sample) --vocab_size=300 --model_type=bpe --minloglevel=1", output)
        #expect(status == CSP_OK)
        let bytes = Array(UnsafeRawBufferPointer(start: csp_bytes_data(output), count: csp_bytes_count(output)))
        #expect(try SentencePieceTokenizer(modelData: bytes).vocabularySize == 300)
    }

    @Test func failuresReturnAStatusAndASentence() throws {
        #expect(csp_train("--no_such_flag=1", nil) != CSP_OK)
        #expect(!String(cString: csp_last_error()).isEmpty)
        var processor: OpaquePointer?
        #expect(csp_processor_load_bytes(nil, 5, &processor) == CSP_INVALID_ARGUMENT)
        #expect(processor == nil)
        #expect(csp_processor_load_file("/no/such/model", &processor) == CSP_NOT_FOUND)
        #expect(csp_encode_ids(nil, "x", 1, nil) == CSP_INVALID_ARGUMENT)
        #expect(csp_vocab_size(nil) == 0 && csp_unk_id(nil) == -1 && csp_piece_to_id(nil, "a", 1) == -1)
    }

    @Test func outOfRangeIdsAreRefused() throws {
        let path = try Fixtures.url("tiny", "model").path
        var processor: OpaquePointer?
        #expect(csp_processor_load_file(path, &processor) == CSP_OK)
        defer { csp_processor_free(processor) }
        let output = try #require(csp_bytes_create())
        defer { csp_bytes_free(output) }
        let ids: [Int32] = [5, 1_000_000]
        #expect(csp_decode_ids(processor, ids, ids.count, output) == CSP_OUT_OF_RANGE)
        #expect(String(cString: csp_last_error()).contains("1000000"))
        var piece: UnsafePointer<CChar>?
        var length = 0
        #expect(csp_id_to_piece(processor, -3, &piece, &length) == CSP_OUT_OF_RANGE)
    }
}

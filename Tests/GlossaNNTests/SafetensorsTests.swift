import Foundation
import GlossaTensor
import Testing
@testable import GlossaNN

/// The committed fixture `name` from `Fixtures/safetensors/` (made by scripts/make-safetensors-fixtures.py).
func safetensorsFixture(_ name: String) throws -> URL {
    let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return folder.appendingPathComponent("safetensors").appendingPathComponent(name)
}

/// A fresh empty directory, removed by the caller.
func makeScratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("glossa-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct SafetensorsReadTests {
    @Test func readsReferenceFileWrittenByPythonSafetensors() throws {
        let file = try Safetensors.read(contentsOf: safetensorsFixture("reference-f16.safetensors"))
        #expect(file.metadata == ["format": "np", "source": "glossa fixture"])
        #expect(Set(file.names) == ["half", "special", "weight", "ids", "mask", "scalar"])
        #expect(file.entries.map(\.byteRange.lowerBound) == file.entries.map(\.byteRange.lowerBound).sorted())
        #expect(file.info(named: "half")?.dtype == .f16)
        #expect(file.info(named: "half")?.shape == [2, 4])
        #expect(file.info(named: "mask")?.dtype == .bool)

        let half = try file.tensor(named: "half")
        #expect(half.shape == [2, 4])
        // Every value is exact in binary16 except 1/3, which rounds to 0x3555 = 0.333251953125.
        #expect(half.scalars == [0, -0.0, 1, -2.5, 65504, 0x1p-14, 0x1p-24, 0.333251953125])
        #expect(half.scalars[1].sign == .minus)

        let special = try file.tensor(named: "special").scalars
        #expect(special[0] == .infinity && special[1] == -.infinity && special[2].isNaN)

        let tensors = try file.tensors()
        #expect(tensors.count == 6)
        #expect(tensors["weight"]?.scalars == [1.5, -2.0, 3.25, 0.0, 1e-3, -7.0])
        #expect(tensors["ids"]?.scalars == [0, 1, 2])
        #expect(tensors["mask"]?.scalars == [1, 0])
        #expect(tensors["scalar"]?.shape == [])
        #expect(tensors["scalar"]?.scalars == [4.5])
    }

    @Test func readsBFloat16IncludingSpecialValues() throws {
        let file = try Safetensors.read(contentsOf: safetensorsFixture("bf16.safetensors"))
        #expect(file.metadata.isEmpty)
        let values = try file.tensor(named: "b").scalars
        #expect(Array(values[0..<4]) == [1, -2.5, .infinity, -.infinity])
        #expect(values[4].isNaN)
        #expect(values[5] == 0x1p-133)
    }

    @Test func refusesDTypesItCannotConvertWithAClearSentence() throws {
        let file = try Safetensors.read(contentsOf: safetensorsFixture("f8.safetensors"))
        #expect(file.info(named: "q")?.dtype == .f8E4M3)
        let error = #expect(throws: SafetensorsError.self) { try file.tensor(named: "q") }
        #expect(error == .unsupportedDType(tensor: "q", dtype: .f8E4M3))
        #expect(error?.description == "Tensor 'q' has dtype F8_E4M3, which Glossa cannot load as Float32.")
    }

    @Test func refusesIntegersFloat32CannotHoldExactly() throws {
        let file = try Safetensors.read(contentsOf: safetensorsFixture("i64-wide.safetensors"))
        #expect(throws: SafetensorsError.integerNotExactInFloat32(tensor: "n", value: "1099511627776")) {
            try file.tensor(named: "n")
        }
        #expect(throws: SafetensorsError.self) { try file.tensors() }
    }

    @Test func unknownNameListsWhatIsThere() throws {
        let file = try Safetensors.read(contentsOf: safetensorsFixture("bf16.safetensors"))
        #expect(throws: SafetensorsError.tensorNotFound(name: "a", available: ["b"])) { try file.tensor(named: "a") }
    }

    static let brokenFiles: [(String, SafetensorsError)] = [
        ("too-short.safetensors", .fileTooShort(byteCount: 5)),
        ("header-too-large.safetensors", .headerTooLarge(length: 200_000_000, limit: 100_000_000)),
        ("header-exceeds-file.safetensors", .headerExceedsFile(length: 100, fileSize: 16)),
        ("not-object.safetensors", .headerNotObject),
        ("bad-metadata.safetensors", .invalidMetadata(reason: "the value of 'epoch' is not a string")),
        ("missing-dtype.safetensors", .missingField(tensor: "a", field: "dtype")),
        ("missing-shape.safetensors", .missingField(tensor: "a", field: "shape")),
        ("missing-offsets.safetensors", .missingField(tensor: "a", field: "data_offsets")),
        ("unknown-dtype.safetensors", .unknownDType(tensor: "a", dtype: "F7")),
        ("negative-dim.safetensors", .negativeDimension(tensor: "a", shape: [-1, 2])),
        ("reversed-offsets.safetensors", .invalidOffsets(tensor: "a", begin: 8, end: 0)),
        ("size-mismatch.safetensors", .sizeMismatch(tensor: "a", dtype: .f32, shape: [2, 2], expected: 16, actual: 8)),
        ("overlapping.safetensors", .overlappingTensors(first: "a", second: "b")),
        ("out-of-range.safetensors", .offsetsOutOfRange(tensor: "a", begin: 64, end: 72, dataLength: 8)),
        ("truncated.safetensors", .truncatedData(tensor: "a", end: 16, dataLength: 12)),
    ]

    @Test(arguments: brokenFiles)
    func brokenFileThrowsTheSpecificError(name: String, expected: SafetensorsError) throws {
        let url = try safetensorsFixture(name)
        #expect(FileManager.default.fileExists(atPath: url.path))
        #expect(throws: expected) { try Safetensors.read(contentsOf: url) }
        #expect(!expected.description.isEmpty)
    }

    @Test func headerThatIsNotJSONSaysSo() throws {
        let error = #expect(throws: SafetensorsError.self) {
            try Safetensors.read(contentsOf: safetensorsFixture("not-json.safetensors"))
        }
        guard case .invalidHeaderJSON? = error else {
            Issue.record("expected invalidHeaderJSON, got \(String(describing: error))")
            return
        }
    }
}

@Suite struct SafetensorsWriteTests {
    @Test func f32RoundTripKeepsValuesShapesAndMetadata() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let tensors: [String: Tensor] = [
            "layer.weight": Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .infinity, -0.0, 0x1p-130]),
            "bias": Tensor(shape: [], scalars: [0.25]),
            "empty": Tensor(shape: [0, 4], scalars: []),
        ]
        let metadata = ["format": "pt", "note": "quotes \" and \\ and\nnewline"]
        try Safetensors.write(tensors, metadata: metadata, to: url)

        let file = try Safetensors.read(contentsOf: url)
        #expect(file.metadata == metadata)
        #expect(Set(file.names) == Set(tensors.keys))
        let loaded = try file.tensors()
        for (name, tensor) in tensors {
            #expect(loaded[name]?.shape == tensor.shape)
            #expect(loaded[name]?.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern))
            #expect(file.info(named: name)?.dtype == .f32)
        }
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 4 * 7)
    }

    @Test func encodingIsDeterministicAndSortedByName() throws {
        let tensors: [(name: String, tensor: Tensor)] = [
            (name: "z", tensor: Tensor(shape: [1], scalars: [1])),
            (name: "a", tensor: Tensor(shape: [2], scalars: [2, 3])),
            (name: "é\"name", tensor: Tensor(shape: [1], scalars: [4])),
        ]
        let first = try Safetensors.encode(tensors, metadata: ["k": "v"])
        let second = try Safetensors.encode(tensors.reversed(), metadata: ["k": "v"])
        #expect(first == second)
        let file = try Safetensors.read(data: first)
        #expect(file.names == ["a", "z", "é\"name"])
        #expect(try file.tensor(named: "é\"name").scalars == [4])
    }

    @Test func f16RoundTripRoundsToNearestHalf() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("half.safetensors")
        let input: [Float] = [1, -2.5, 65504, 1.0 / 3.0, 0x1p-24, 1e-9, 70000, -.infinity, .nan]
        try Safetensors.write(["h": Tensor(shape: [9], scalars: input)], metadata: nil, to: url, dtype: .f16)

        let file = try Safetensors.read(contentsOf: url)
        #expect(file.info(named: "h")?.dtype == .f16)
        #expect(file.info(named: "h")?.byteRange.count == 18)
        let out = try file.tensor(named: "h").scalars
        #expect(Array(out[0..<8]) == [1, -2.5, 65504, 0.333251953125, 0x1p-24, 0, .infinity, -.infinity])
        #expect(out[8].isNaN)
    }

    @Test func refusesBadInputBeforeTouchingTheTarget() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let one = Tensor(shape: [1], scalars: [1])
        try Safetensors.write(["keep": one], to: url)
        let before = try Data(contentsOf: url)

        #expect(throws: SafetensorsError.duplicateName("w")) {
            try Safetensors.write([(name: "w", tensor: one), (name: "w", tensor: one)], to: url)
        }
        #expect(throws: SafetensorsError.reservedName("__metadata__")) {
            try Safetensors.write(["__metadata__": one], to: url)
        }
        #expect(throws: SafetensorsError.unsupportedWriteDType(.bf16)) {
            try Safetensors.write(["w": one], to: url, dtype: .bf16)
        }
        #expect(try Data(contentsOf: url) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }
}

@Suite struct SafetensorsInMemoryTests {
    @Test func readsFromADataSliceThatDoesNotStartAtZero() throws {
        let bytes = try Safetensors.encode(["w": Tensor(shape: [2], scalars: [3, -4])], metadata: ["k": "v"])
        let padded = Data([0xAA, 0xBB, 0xCC]) + bytes
        let slice = padded[3...]
        #expect(slice.startIndex == 3)
        let file = try Safetensors.read(data: slice)
        #expect(file.metadata == ["k": "v"])
        #expect(try file.tensor(named: "w").scalars == [3, -4])
    }

    @Test func openingADirectoryOrMissingFileExplainsWhy() throws {
        let directory = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(throws: SafetensorsError.cannotOpen(path: directory.path, reason: "it is a directory, not a file")) {
            try Safetensors.read(contentsOf: directory)
        }
        let missing = directory.appendingPathComponent("none.safetensors")
        #expect(throws: SafetensorsError.cannotOpen(path: missing.path, reason: "no file exists at that path")) {
            try Safetensors.read(contentsOf: missing)
        }
    }
}

import Foundation
import GlossaNN

/// A tokenizer that can store itself as files of a model directory, so a model's `save(to:)` writes whatever tokenizer it holds.
///
/// The tokenizer hands back bytes rather than writing them: the layout checks the names against what its loader
/// reads before anything is written, and writes every file atomically in one place.
public protocol PersistableTokenizer: Tokenizer {
    /// The files its loader reads back, by name inside the model directory. `name` is what the layout calls the
    /// tokenizer's own file (`tokenizer.model`, Marian's `source.spm` or `target_vocab.json`); a tokenizer whose
    /// loader reads fixed names (WordPiece's `vocab.txt`) keeps those, and the layout decides whether it can read them.
    func files(named name: String) throws -> [String: Data]
}

/// The files of `tokenizer` for a layout that calls its file `name` and whose loader reads a tokenizer from one of
/// `readable`: a clear error, before anything is written, when the tokenizer cannot be stored or the loader would not find it.
func tokenizerFiles(_ tokenizer: any Tokenizer, named name: String, readable: Set<String>, layout: String) throws -> [String: Data] {
    guard let persistable = tokenizer as? any PersistableTokenizer else {
        throw GlossaError.invalidInput(
            "the \(layout) layout cannot store a \(type(of: tokenizer)): it is not a PersistableTokenizer, so its files are unknown")
    }
    let files = try persistable.files(named: name)
    guard files.keys.contains(where: readable.contains) else {
        throw GlossaError.invalidInput(
            "a \(type(of: tokenizer)) stores itself as \(files.keys.sorted().joined(separator: ", ")), but the \(layout) layout "
                + "reads its tokenizer from \(readable.sorted().joined(separator: " or "))")
    }
    return files
}

extension ModelDirectory {
    /// Writes `files` (names relative to `url`, folders made as needed) atomically, each, and removes `stale`:
    /// files a loader would read in preference to the ones just written, left by an earlier save.
    static func write(_ files: [String: Data], to url: URL, removing stale: [String] = []) throws {
        let manager = FileManager.default
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            let target = url.appendingPathComponent(name)
            try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(data, to: target)
        }
        for name in stale where files[name] == nil {
            let target = url.appendingPathComponent(name)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
        }
    }
}

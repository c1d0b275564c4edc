import Engine
import Foundation
import XCTest

/// The byte-level BPE tokenizer against llama.cpp's own token ids for SmolLM2, plus behaviour on
/// small hand-built vocabularies.
final class TokenizerTests: XCTestCase {
    // MARK: - Fixtures

    /// Where the llama.cpp reference outputs and the default model are.
    enum Fixtures {
        static var modelPath: String { TestPaths.modelPath }

        /// A reference file, decoded with `JSONDecoder` (`JSONSerialization` drops a U+FEFF that
        /// follows an escape sequence, which would corrupt texts).
        static func load<T: Decodable>(_ type: T.Type, _ name: String, in dir: URL? = nil) throws -> T {
            let url = (dir ?? TestPaths.referenceDir).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                XCTFail("llama.cpp reference \(url.path) is missing: expected Tests/EngineTests/Fixtures/reference, or DRLLM_REFERENCE_DIR")
                throw CocoaError(.fileNoSuchFile)
            }
            return try JSONDecoder().decode(T.self, from: data)
        }

        /// Fixtures kept with these tests.
        static var ownFixtures: URL {
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer")
        }

        /// The SmolLM2 tokenizer, read once for all tests.
        static func smolLM2() throws -> BPETokenizer {
            try cache.value()
        }

        private static let cache = TokenizerCache()
    }

    final class TokenizerCache: @unchecked Sendable {
        private let lock = NSLock()
        private var tokenizer: BPETokenizer?

        func value() throws -> BPETokenizer {
            lock.lock()
            defer { lock.unlock() }
            if let tokenizer { return tokenizer }
            guard FileManager.default.fileExists(atPath: Fixtures.modelPath) else {
                XCTFail("default model missing at \(Fixtures.modelPath)")
                throw CocoaError(.fileNoSuchFile)
            }
            let t = try BPETokenizer(gguf: try GGUFFile(path: Fixtures.modelPath))
            tokenizer = t
            return t
        }
    }

    struct Case {
        let text: String
        let ids: [Int32]
        let idsSpecial: [Int32]?
    }

    /// `smollm2-135m-instruct.tokens.json`.
    struct TokenReference: Decodable {
        struct Item: Decodable { let text: String; let ids: [Int32] }
        let special: Bool
        let items: [Item]
    }

    /// `smollm2-135m-instruct.llamacpp.json` (the parts about tokens).
    struct LlamaCppReference: Decodable {
        struct Text: Decodable {
            let text: String, ids: [Int32], idsSpecial: [Int32]
            enum CodingKeys: String, CodingKey { case text, ids, idsSpecial = "ids_special" }
        }
        struct Pair: Decodable {
            let context: String, continuation: String, contextIds: [Int32], continuationIds: [Int32]
            enum CodingKeys: String, CodingKey {
                case context, continuation, contextIds = "context_ids", continuationIds = "continuation_ids"
            }
        }
        let texts: [Text]
        let pairs: [Pair]
    }

    /// Every text of both llama.cpp reference files with the ids llama.cpp produced
    /// (`add_special = false`; `ids` without and `idsSpecial` with special-token parsing).
    func referenceCases() throws -> [Case] {
        let tokens = try Fixtures.load(TokenReference.self, "smollm2-135m-instruct.tokens.json")
        XCTAssertFalse(tokens.special, "tokens.json is expected to hold parse_special = false ids")
        let llamacpp = try Fixtures.load(LlamaCppReference.self, "smollm2-135m-instruct.llamacpp.json")
        return tokens.items.map { Case(text: $0.text, ids: $0.ids, idsSpecial: nil) }
            + llamacpp.texts.map { Case(text: $0.text, ids: $0.ids, idsSpecial: $0.idsSpecial) }
    }

    // MARK: - llama.cpp references

    func testIdsMatchLlamaCppOnEveryReferenceText() throws {
        let tokenizer = try Fixtures.smolLM2()
        let cases = try referenceCases()
        XCTAssertGreaterThan(cases.count, 250)
        var checked = 0, mismatches: [String] = []
        for c in cases {
            let ids = tokenizer.encode(c.text, addSpecial: false, parseSpecial: false)
            checked += 1
            if ids != c.ids { mismatches.append("\(c.text.debugDescription): got \(ids), llama.cpp \(c.ids)") }
            if let expected = c.idsSpecial {
                let special = tokenizer.encode(c.text, addSpecial: false, parseSpecial: true)
                checked += 1
                if special != expected {
                    mismatches.append("(parse special) \(c.text.debugDescription): got \(special), llama.cpp \(expected)")
                }
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) of \(checked) encodings differ from llama.cpp:\n"
                      + mismatches.prefix(5).joined(separator: "\n"))
    }

    /// The pairs of the reference: context ids, and continuation ids as lm-eval derives them.
    func testPairsMatchLlamaCpp() throws {
        let tokenizer = try Fixtures.smolLM2()
        let pairs = try Fixtures.load(LlamaCppReference.self, "smollm2-135m-instruct.llamacpp.json").pairs
        XCTAssertFalse(pairs.isEmpty)
        for pair in pairs {
            let contextIds = tokenizer.encode(pair.context, addSpecial: false, parseSpecial: true)
            var whole = tokenizer.encode(pair.context + pair.continuation, addSpecial: false, parseSpecial: true)
            if !whole.starts(with: contextIds) {
                whole = contextIds + tokenizer.encode(pair.continuation, addSpecial: false, parseSpecial: true)
            }
            XCTAssertEqual(contextIds, pair.contextIds, pair.context)
            XCTAssertEqual(Array(whole[contextIds.count...]), pair.continuationIds, pair.continuation)
        }
    }

    /// Adversarial texts (controls, marks, emoji sequences, odd spaces, half-spelled special
    /// tokens) with llama.cpp's ids for the SmolLM2 vocabulary under five pre-tokenizers.
    func testIdsMatchLlamaCppOnAdversarialTextsForEveryPreTokenizer() throws {
        struct Fixture: Decodable { let cases: [[String: JSONValue]] }
        enum JSONValue: Decodable {
            case string(String), ids([Int32])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .string(s) } else { self = .ids(try c.decode([Int32].self)) }
            }
        }
        let fixture = try Fixtures.load(Fixture.self, "llamacpp-adversarial.json", in: Fixtures.ownFixtures)
        let file = try GGUFFile(path: Fixtures.modelPath)
        let vocabulary = try file.stringArray("tokenizer.ggml.tokens")
        let types = try XCTUnwrap(try file.optionalIntArray("tokenizer.ggml.token_type")).map(Int32.init)
        let merges = try file.stringArray("tokenizer.ggml.merges")
        var checked = 0
        for name in ["smollm", "qwen2", "llama-bpe", "gpt-2", "default"] {
            let tokenizer = try BPETokenizer(vocabulary: vocabulary, tokenTypes: types, merges: merges, preTokenizer: name,
                                             bos: 1, eos: 2, addBOS: false)
            for c in fixture.cases {
                guard case let .string(hex)? = c["utf8_hex"] else { return XCTFail("fixture case without utf8_hex") }
                let text = Self.text(fromHex: hex)
                for (key, parseSpecial) in [(name, false), (name + "+special", true)] {
                    guard case let .ids(expected)? = c[key] else { return XCTFail("fixture case without \(key)") }
                    XCTAssertEqual(tokenizer.encode(text, addSpecial: false, parseSpecial: parseSpecial), expected,
                                   "\(key): \(text.debugDescription)")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 5 * 2 * fixture.cases.count)
    }

    static func text(fromHex hex: String) -> String {
        let digits = Array(hex.utf8)
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: digits.count - 1, by: 2) {
            bytes.append(UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16)!)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testSmolLM2Metadata() throws {
        let tokenizer = try Fixtures.smolLM2()
        XCTAssertEqual(tokenizer.vocabularySize, 49152)
        XCTAssertEqual(tokenizer.preTokenizer.name, "smollm")
        XCTAssertEqual(tokenizer.bosToken, 1)
        XCTAssertEqual(tokenizer.eosToken, 2)
        XCTAssertFalse(tokenizer.addBOS, "SmolLM2's GGUF sets tokenizer.ggml.add_bos_token = false")
        XCTAssertFalse(tokenizer.addEOS)
        XCTAssertEqual(tokenizer.tokenText(1), "<|im_start|>")
        XCTAssertEqual(tokenizer.token(forText: "<|im_end|>"), 2)
        XCTAssertTrue(tokenizer.isControl(0))
        XCTAssertFalse(tokenizer.isControl(504))
        XCTAssertTrue(tokenizer.endOfGenerationTokens.isSuperset(of: [0, 2]))
        XCTAssertTrue(tokenizer.chatTemplate?.contains("<|im_start|>") ?? false)
        // add_special adds nothing here, exactly as llama.cpp with add_bos_token = false.
        XCTAssertEqual(tokenizer.encode("Hello world", addSpecial: true, parseSpecial: false), [19556, 905])
    }

    // MARK: - Decoding

    func testDecodeRoundTripsEveryReferenceText() throws {
        let tokenizer = try Fixtures.smolLM2()
        for c in try referenceCases() {
            for parseSpecial in [false, true] {
                let ids = tokenizer.encode(c.text, addSpecial: false, parseSpecial: parseSpecial)
                XCTAssertEqual(tokenizer.decode(ids), c.text, "parseSpecial \(parseSpecial)")
                var streamed = StreamingDecoder(tokenizer: tokenizer)
                let text = ids.map { streamed.append($0) }.joined() + streamed.finish()
                XCTAssertEqual(text, c.text, "streamed, parseSpecial \(parseSpecial)")
            }
        }
    }

    func testStreamingDecoderHoldsBackPartialCharacters() throws {
        let tokenizer = try Fixtures.smolLM2()
        let text = "emojis 🙂👍🏽 and 日本語のテキスト"
        let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        // The test only means something if some token ends inside a character.
        XCTAssertTrue(ids.contains { String(validating: tokenizer.bytes(of: $0), as: UTF8.self) == nil },
                      "expected a token that is not whole UTF-8 on its own")
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.append(id)) }
        XCTAssertFalse(pieces.joined().contains("\u{FFFD}"))
        XCTAssertEqual(pieces.joined() + decoder.finish(), text)

        // A character cut off at the end comes out as U+FFFD only when the stream is finished.
        let smile = Array("🙂".utf8)
        let prefix = try XCTUnwrap(tokenizer.token(forText: ByteLevelSpelling.of(smile.prefix(2))),
                                   "SmolLM2 has a token for the first two bytes of 🙂")
        var cut = StreamingDecoder(tokenizer: tokenizer)
        XCTAssertEqual(cut.append(prefix), "")
        XCTAssertEqual(cut.finish(), "\u{FFFD}")
        XCTAssertEqual(tokenizer.bytes(of: prefix), Array(smile.prefix(2)))
    }

    func testDecodeRendersOrHidesSpecialTokens() throws {
        let tokenizer = try Fixtures.smolLM2()
        let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", addSpecial: false, parseSpecial: true)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids.last, 2)
        XCTAssertEqual(tokenizer.decode(ids), "<|im_start|>user\nHi<|im_end|>")
        XCTAssertEqual(tokenizer.decode(ids, renderSpecial: false), "user\nHi")
        XCTAssertEqual(tokenizer.bytes(of: 2), Array("<|im_end|>".utf8))
        XCTAssertEqual(tokenizer.bytes(of: -1), [])
        XCTAssertEqual(tokenizer.bytes(of: 49152), [])
    }

    // MARK: - Special tokens

    func testSpecialTokensAreParsedOnlyWhenAsked() throws {
        let tokenizer = try Fixtures.smolLM2()
        let text = "<|im_start|>assistant\n<|endoftext|>"
        let parsed = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        XCTAssertEqual(parsed.first, 1)
        XCTAssertEqual(parsed.last, 0)
        let plain = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(where: { $0 < 17 }), "no control token may come out of plain text: \(plain)")
        XCTAssertEqual(tokenizer.decode(plain), text)
        // Adjacent, repeated and unterminated spellings.
        XCTAssertEqual(tokenizer.encode("<|im_end|><|im_end|>", addSpecial: false, parseSpecial: true), [2, 2])
        XCTAssertEqual(tokenizer.encode("<|im_end|", addSpecial: false, parseSpecial: true),
                       tokenizer.encode("<|im_end|", addSpecial: false, parseSpecial: false))
    }

    /// Longest spelling first; user-defined tokens even without special parsing (llama.cpp).
    func testSpecialTokenPartitionOrder() throws {
        let vocabulary = ["a", "b", "<", ">", "<ab>", "<a", "X", "Y"]
        // "<ab>" control, "<a" user-defined.
        let tokenizer = try BPETokenizer(vocabulary: vocabulary, tokenTypes: [1, 1, 1, 1, 3, 4, 1, 1],
                                         merges: [], preTokenizer: "gpt2")
        XCTAssertEqual(tokenizer.encode("X<ab>Y", addSpecial: false, parseSpecial: true), [6, 4, 7])
        // Without special parsing the control token is text, but the user-defined "<a" is still cut out.
        XCTAssertEqual(tokenizer.encode("X<ab>Y", addSpecial: false, parseSpecial: false), [6, 5, 1, 3, 7])
    }

    // MARK: - Small vocabularies

    /// Merges apply lowest rank first; equal ranks leftmost first.
    func testMergeOrder() throws {
        let vocabulary = ["a", "b", "aa", "ab", "aab", "aaa"]
        let rankAB = try BPETokenizer(vocabulary: vocabulary, tokenTypes: [], merges: ["a b", "a a", "a ab"],
                                      preTokenizer: "gpt2")
        XCTAssertEqual(rankAB.encode("aab", addSpecial: false, parseSpecial: false), [4])  // a+(ab) -> aab
        let rankAA = try BPETokenizer(vocabulary: vocabulary, tokenTypes: [], merges: ["a a", "a b"], preTokenizer: "gpt2")
        XCTAssertEqual(rankAA.encode("aab", addSpecial: false, parseSpecial: false), [2, 1])  // (aa)+b
        // "aaa": both pairs have rank 0; the left one merges first.
        XCTAssertEqual(rankAA.encode("aaa", addSpecial: false, parseSpecial: false), [2, 0])
        XCTAssertEqual(rankAA.encode("aaaa", addSpecial: false, parseSpecial: false), [2, 2])
    }

    /// A merged symbol that is not a token falls back to its bytes' tokens; bytes without one are dropped.
    func testByteFallback() throws {
        let tokenizer = try BPETokenizer(vocabulary: ["a", "b", "Ġ"], tokenTypes: [], merges: ["a b", "Ġ a"],
                                         preTokenizer: "gpt2")
        XCTAssertEqual(tokenizer.encode("ab", addSpecial: false, parseSpecial: false), [0, 1])
        // "Ġa" is not a token and "Ġ" is not an ASCII spelling, so llama.cpp keeps only the "a".
        XCTAssertEqual(tokenizer.encode(" a", addSpecial: false, parseSpecial: false), [0])
        XCTAssertEqual(tokenizer.encode(" ", addSpecial: false, parseSpecial: false), [2])
        XCTAssertEqual(tokenizer.encode("c", addSpecial: false, parseSpecial: false), [])
    }

    /// Llama 3 emits a word that is itself a token without merging ("ignore_merges").
    func testLlama3IgnoresMergesForWholeTokens() throws {
        let vocabulary = ["h", "e", "l", "o", "hello", "he", "ll"]
        let merges = ["h e", "l l"]
        let llama3 = try BPETokenizer(vocabulary: vocabulary, tokenTypes: [], merges: merges, preTokenizer: "llama-bpe",
                                      bos: 0, addBOS: nil)
        XCTAssertEqual(llama3.encode("hello", addSpecial: false, parseSpecial: false), [4])
        XCTAssertTrue(llama3.addBOS, "llama-bpe adds BOS unless the file says otherwise")
        XCTAssertEqual(llama3.encode("hello", addSpecial: true, parseSpecial: false), [0, 4])
        let dbrx = try BPETokenizer(vocabulary: vocabulary, tokenTypes: [], merges: merges, preTokenizer: "dbrx")
        XCTAssertEqual(dbrx.encode("hello", addSpecial: false, parseSpecial: false), [5, 6, 3])
    }

    func testAddSpecialTokens() throws {
        let tokenizer = try BPETokenizer(vocabulary: ["<s>", "</s>", "a"], tokenTypes: [3, 3, 1], merges: [],
                                         preTokenizer: "gpt2", bos: 0, eos: 1, addBOS: true, addEOS: true)
        XCTAssertEqual(tokenizer.encode("a", addSpecial: true, parseSpecial: false), [0, 2, 1])
        XCTAssertEqual(tokenizer.encode("a", addSpecial: false, parseSpecial: false), [2])
        XCTAssertEqual(tokenizer.encode("", addSpecial: true, parseSpecial: false), [0, 1])
        XCTAssertThrowsError(try BPETokenizer(vocabulary: ["a"], tokenTypes: [], merges: [], preTokenizer: "gpt2",
                                              addBOS: true)) { error in
            XCTAssertEqual(error as? TokenizerError, .missingSpecialToken(file: "tokenizer", flagKey: "tokenizer.ggml.add_bos_token",
                                                                         idKey: "tokenizer.ggml.bos_token_id"))
        }
    }

    // MARK: - Errors

    func testUnknownPreTokenizerIsAnError() {
        XCTAssertThrowsError(try BPETokenizer(vocabulary: ["a"], tokenTypes: [], merges: [], preTokenizer: "wordpiece-ish")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownPreTokenizer(file: "tokenizer", name: "wordpiece-ish"))
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("'wordpiece-ish'") ?? false)
        }
        XCTAssertThrowsError(try PreTokenizer(name: "llama3x"))
    }

    func testGGUFMetadataErrors() throws {
        func tokenizer(_ metadata: [(String, TinyGGUF.Value)]) throws -> BPETokenizer {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString).gguf")
            try TinyGGUF.write(metadata, to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            return try BPETokenizer(gguf: try GGUFFile(path: url.path))
        }
        let vocab: [(String, TinyGGUF.Value)] = [
            ("tokenizer.ggml.tokens", .strings(["a", "b", "ab", "<|endoftext|>"])),
            ("tokenizer.ggml.token_type", .ints([1, 1, 1, 3])),
            ("tokenizer.ggml.merges", .strings(["a b"])),
        ]
        let good = try tokenizer([("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("qwen2")),
                                  ("tokenizer.ggml.eos_token_id", .int(3))] + vocab)
        XCTAssertEqual(good.encode("ab<|endoftext|>", addSpecial: false, parseSpecial: true), [2, 3])
        XCTAssertEqual(good.eosToken, 3)
        XCTAssertNil(good.bosToken, "llama.cpp's default BOS id 11 lies outside this vocabulary")

        XCTAssertThrowsError(try tokenizer([("tokenizer.ggml.model", .string("llama"))] + vocab)) { error in
            guard case let .unsupportedModel(_, model)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(model, "llama")
            XCTAssertTrue((error as? LocalizedError)?.errorDescription?.contains("tokenizer.ggml.model") ?? false)
        }
        XCTAssertThrowsError(try tokenizer([("tokenizer.ggml.model", .string("gpt2")),
                                            ("tokenizer.ggml.pre", .string("mystery"))] + vocab)) { error in
            guard case let .unknownPreTokenizer(_, name)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "mystery")
        }
        XCTAssertThrowsError(try tokenizer([("tokenizer.ggml.model", .string("gpt2")),
                                            ("tokenizer.ggml.tokens", .strings(["a"]))])) { error in
            guard case let .metadata(.missingKey(_, key, _))? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "tokenizer.ggml.merges")
        }
        XCTAssertThrowsError(try tokenizer([("tokenizer.ggml.model", .string("gpt2")),
                                            ("tokenizer.ggml.tokens", .strings(["a", "a"])),
                                            ("tokenizer.ggml.merges", .strings([]))])) { error in
            guard case .invalidVocabulary? = error as? TokenizerError else { return XCTFail("\(error)") }
        }
    }

    // MARK: - Throughput

    func testThroughput() throws {
        let tokenizer = try Fixtures.smolLM2()
        let texts = try referenceCases().map(\.text)
        let bytesPerRound = texts.reduce(0) { $0 + $1.utf8.count }
        var rounds = 0, tokens = 0
        let start = Date()
        while rounds < 3 || Date().timeIntervalSince(start) < 1 {
            for t in texts { tokens += tokenizer.encode(t, addSpecial: false, parseSpecial: true).count }
            rounds += 1
        }
        let seconds = Date().timeIntervalSince(start)
        let mbps = Double(bytesPerRound * rounds) / seconds / 1e6
        print("tokenizer throughput: \(String(format: "%.2f", mbps)) MB/s, \(Int(Double(tokens) / seconds)) tokens/s")
        // A floor far below the expected speed: only catastrophic slowdowns fail.
        XCTAssertGreaterThan(mbps, 0.25)
    }
}

/// Byte-level spelling of raw bytes (GPT-2's bytes_to_unicode), for building token texts in tests.
enum ByteLevelSpelling {
    static func of(_ bytes: some Sequence<UInt8>) -> String {
        var printable: [UInt8] = []
        printable += Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = String.UnicodeScalarView()
        for b in bytes {
            if printable.contains(b) {
                scalars.append(Unicode.Scalar(b))
            } else {
                let moved = (0..<256).filter { !printable.contains(UInt8($0)) }.firstIndex(of: Int(b))!
                scalars.append(Unicode.Scalar(UInt32(256 + moved))!)
            }
        }
        return String(scalars)
    }
}

/// Writes minimal GGUF v3 files (metadata only, no tensors) for error-path tests.
enum TinyGGUF {
    enum Value {
        case string(String), int(Int32), strings([String]), ints([Int32])
    }

    static func write(_ metadata: [(String, Value)], to url: URL) throws {
        var data = Data("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func str(_ s: String) { u64(UInt64(s.utf8.count)); data.append(contentsOf: Array(s.utf8)) }
        u32(3)
        u64(0)
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            str(key)
            switch value {
            case let .string(s): u32(8); str(s)
            case let .int(i): u32(5); u32(UInt32(bitPattern: i))
            case let .strings(a): u32(9); u32(8); u64(UInt64(a.count)); a.forEach(str)
            case let .ints(a): u32(9); u32(5); u64(UInt64(a.count)); a.forEach { u32(UInt32(bitPattern: $0)) }
            }
        }
        try data.write(to: url)
    }
}

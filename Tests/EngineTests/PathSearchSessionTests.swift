import Engine
import XCTest

final class PathSearchSessionTests: XCTestCase {
    func testReusedPrefixesGiveExactlyTheFixedPathResult() throws {
        let model = try SharedModel.get()
        let request = GenerationRequest(context: "<|im_start|>user\nWhat is 3+4? Answer with a number.<|im_end|>\n<|im_start|>assistant\n",
                                        until: ["\n\n"], maxTokens: 6)
        let session = try PathSearchSession(model: model, request: request)
        let full = LayerPath.full(30)
        var paths = [full]
        paths.append(LayerPath(full.blocks.filter { $0 != 20 }))                 // skip 20
        paths.append(LayerPath(full.blocks.filter { $0 != 20 && $0 != 21 }))     // skip 20-21
        paths.append(LayerPath.fromMultiplicities((0..<30).map { $0 == 5 ? 2 : 1 }))  // repeat 5
        paths.append(LayerPath.fromMultiplicities((0..<30).map { $0 == 5 ? 2 : ($0 == 27 ? 0 : 1) }))
        for p in paths {
            let a = try session.generate(path: p)
            let b = try model.generate([request], policy: .fixed(p))[0]
            XCTAssertEqual(a, b, "path \(p)")
        }
        // The first path computes 30 blocks; later ones only what follows their longest known
        // prefix: skip 20 reuses 0...19 (9 new), skip 20-21 reuses 0...19 (8 new), repeat 5 reuses
        // 0...5 (25 new), repeat 5 + skip 27 reuses the 28 positions up to block 26 (2 new).
        XCTAssertEqual(session.blockApplicationsComputed, 30 + 9 + 8 + 25 + 2)
        XCTAssertEqual(session.blockApplicationsReused, 0 + 20 + 20 + 6 + 28)
    }
}

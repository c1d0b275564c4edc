@testable import Engine
import Foundation
import XCTest

/// Reporting OpenBLAS's kernel family, and the notice for a forced family that leaves AVX-512 unused.
final class OpenBLASCoreTests: XCTestCase {
    private let zen5Flags: Set<String> = ["sse2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd",
                                          "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni"]

    func testAVX512FamilyFollowsTheFlags() {
        XCTAssertEqual(OpenBLASCore.avx512Family(cpuFlags: zen5Flags), "Cooperlake")
        var noBF16 = zen5Flags
        noBF16.remove("avx512_bf16")
        XCTAssertEqual(OpenBLASCore.avx512Family(cpuFlags: noBF16), "SkylakeX")
        XCTAssertNil(OpenBLASCore.avx512Family(cpuFlags: ["avx2", "fma"]))
        XCTAssertNil(OpenBLASCore.avx512Family(cpuFlags: ["avx2", "avx512f", "avx512cd"]), "not the whole SkylakeX subset")
    }

    func testAVX512FamiliesAreNamedCaseInsensitively() {
        for family in ["Cooperlake", "SKYLAKEX", "sapphirerapids"] { XCTAssertTrue(OpenBLASCore.isAVX512Family(family), family) }
        for family in ["Haswell", "Zen", "Prescott", ""] { XCTAssertFalse(OpenBLASCore.isAVX512Family(family), family) }
        XCTAssertEqual(OpenBLASCore.usesAVX512Kernels, OpenBLASCore.isAVX512Family(OpenBLASCore.name))
    }

    func testNoticeOnlyWhenAForcedFamilyLeavesAVX512Unused() throws {
        let notice = try XCTUnwrap(OpenBLASCore.forcedFamilyNotice(current: "Haswell", cpuFlags: zen5Flags, forced: "Haswell"))
        XCTAssertTrue(notice.contains("OPENBLAS_CORETYPE=Haswell") && notice.contains("Cooperlake"), notice)
        XCTAssertNil(OpenBLASCore.forcedFamilyNotice(current: "Haswell", cpuFlags: zen5Flags, forced: nil), "OpenBLAS's own choice")
        XCTAssertNil(OpenBLASCore.forcedFamilyNotice(current: "Haswell", cpuFlags: zen5Flags, forced: ""))
        XCTAssertNil(OpenBLASCore.forcedFamilyNotice(current: "COOPERLAKE", cpuFlags: zen5Flags, forced: "cooperlake"))
        XCTAssertNil(OpenBLASCore.forcedFamilyNotice(current: "Haswell", cpuFlags: ["avx2", "fma"], forced: "Haswell"),
                     "nothing better on an AVX2-only CPU")
    }

    func testCPUFlagsAreReadFromTheFirstFlagsLine() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx512f\n\nprocessor\t: 1\nflags\t\t: other\n"
        XCTAssertEqual(OpenBLASCore.cpuFlags(cpuinfo: info), ["fpu", "sse2", "avx512f"])
        XCTAssertEqual(OpenBLASCore.cpuFlags(cpuinfo: "processor\t: 0\n"), [])
    }

    /// The reported family is the one in force: the one `OPENBLAS_CORETYPE` names when it is set.
    func testReportedFamilyIsTheForcedOneWhenSet() {
        XCTAssertFalse(OpenBLASCore.name.isEmpty)
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty {
            XCTAssertEqual(OpenBLASCore.name.lowercased(), forced.lowercased())
        }
    }
}

import Foundation

/// SHA-256 (FIPS 180-4), used to verify the benchmark data against each folder's `SHA256SUMS`.
///
/// Foundation on Linux has no hash functions and the package takes no crypto dependency, so this
/// is a small, self-contained implementation; it is checked against the FIPS test vectors.
public enum SHA256 {
    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The digest of `data` as 64 lower-case hex digits.
    public static func hexDigest(of data: Data) -> String {
        digest(of: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The 32-byte digest of `data`.
    public static func digest(of data: Data) -> [UInt8] {
        var state: [UInt32] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
        ]
        // Pad: 0x80, zeros to 56 mod 64, then the bit length as a big-endian UInt64.
        let bitLength = UInt64(data.count) &* 8
        var tail = [UInt8](data.suffix(data.count % 64))
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }

        // Raw pointers throughout: the module is built without optimisation in debug builds, and
        // bounds-checked arrays would make verifying the ~40 MB of data take tens of seconds.
        var schedule = [UInt32](repeating: 0, count: 64)
        state.withUnsafeMutableBufferPointer { statePointer in
            schedule.withUnsafeMutableBufferPointer { schedulePointer in
                roundConstants.withUnsafeBufferPointer { constants in
                    let h = statePointer.baseAddress!, w = schedulePointer.baseAddress!, k = constants.baseAddress!
                    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                        guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
                        for block in 0..<(data.count / 64) { compress(base + block * 64, h, w, k) }
                    }
                    tail.withUnsafeBufferPointer { buffer in
                        for block in 0..<(buffer.count / 64) { compress(buffer.baseAddress! + block * 64, h, w, k) }
                    }
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in state {
            out.append(UInt8(truncatingIfNeeded: word >> 24))
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
            out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    @inline(__always)
    private static func rotateRight(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }

    private static func compress(_ block: UnsafePointer<UInt8>, _ state: UnsafeMutablePointer<UInt32>,
                                 _ w: UnsafeMutablePointer<UInt32>, _ k: UnsafePointer<UInt32>) {
        var t = 0
        while t < 16 {
            let p = block + t &* 4
            w[t] = (UInt32(p[0]) &<< 24) | (UInt32(p[1]) &<< 16) | (UInt32(p[2]) &<< 8) | UInt32(p[3])
            t &+= 1
        }
        while t < 64 {
            let a = w[t &- 15], b = w[t &- 2]
            let s0 = rotateRight(a, 7) ^ rotateRight(a, 18) ^ (a &>> 3)
            let s1 = rotateRight(b, 17) ^ rotateRight(b, 19) ^ (b &>> 10)
            w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
            t &+= 1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        t = 0
        while t < 64 {
            let s1 = rotateRight(e, 6) ^ rotateRight(e, 11) ^ rotateRight(e, 25)
            let choice = (e & f) ^ (~e & g)
            let temp1 = h &+ s1 &+ choice &+ k[t] &+ w[t]
            let s0 = rotateRight(a, 2) ^ rotateRight(a, 13) ^ rotateRight(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let temp2 = s0 &+ majority
            h = g; g = f; f = e; e = d &+ temp1
            d = c; c = b; b = a; a = temp1 &+ temp2
            t &+= 1
        }
        state[0] = state[0] &+ a; state[1] = state[1] &+ b; state[2] = state[2] &+ c; state[3] = state[3] &+ d
        state[4] = state[4] &+ e; state[5] = state[5] &+ f; state[6] = state[6] &+ g; state[7] = state[7] &+ h
    }
}

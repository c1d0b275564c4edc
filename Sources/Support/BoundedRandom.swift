extension RandomNumberGenerator {
    /// A uniform integer in `0..<bound`, by rejection so that no residue is favoured.
    ///
    /// The project's seeded generators (`SplitMix64`, `Xoshiro256StarStar`)
    /// use this instead of the standard library's `random(in:using:)`, whose algorithm is not
    /// promised to stay the same across Swift releases: results must depend on the seed only.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        // Draws at or above the largest multiple of b would make the low residues more likely.
        let limit = UInt64.max - (UInt64.max % b)
        while true {
            let r = next()
            if r < limit { return Int(r % b) }
        }
    }
}

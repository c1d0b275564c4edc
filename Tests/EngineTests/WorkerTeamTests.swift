import Engine
import Synchronization
import XCTest

final class WorkerTeamTests: XCTestCase {
    /// A job published right after `init`, before the worker thread has even started, must still
    /// run (this deadlocked once). Many fresh teams make the race likely to show.
    func testFirstJobRightAfterCreationRuns() {
        for _ in 0..<300 {
            let team = WorkerTeam(size: 2)
            let hits = Atomic<Int>(0)
            team.run { i in hits.add(1 << (8 * i), ordering: .relaxed) }
            XCTAssertEqual(hits.load(ordering: .relaxed), 1 + (1 << 8))
        }
    }

    func testEveryIndexRunsOncePerJobAcrossSleeps() {
        let team = WorkerTeam(size: 3)
        let total = Atomic<Int>(0)
        for round in 0..<50 {
            if round % 10 == 9 { usleep(2000) }  // let workers fall asleep between some jobs
            team.run { i in total.add(i + 1, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 50 * 6)
    }
}

import Bond
import Foundation
import Workbench
#if canImport(Glibc)
import Glibc
#endif

/// The workbench's own costs, measured on its core (state, update, render into the cell
/// buffer) exactly as the curses loop drives it, without a terminal.
struct WorkbenchFigures: Codable {
    /// Median time to render a full 160x48 frame with 4 busy panes and a full log.
    var frameMillis = Double.nan
    /// Log lines pushed through `update` (the log keeps the newest 100 000).
    var logLinesFed = 0
    /// Time to apply one traffic message to the state, on average.
    var updateMicrosPerLogLine = Double.nan
    /// A key pressed while one pane streams 100 000 lines per second: the time to apply one
    /// frame's worth of that output (1/60 s) plus the key, and render the screen.
    var keyToScreenMillis = Double.nan
    /// Peak resident memory of this process after feeding the state, in MiB.
    var peakRSSMebibytes = Double.nan

    static func measure(logLines: Int, runs: Int) -> WorkbenchFigures {
        var figures = WorkbenchFigures()
        var state = AppState(width: 160, height: 48, knownLanguages: ["JavaScript", "PHP", "Perl", "Python"])
        _ = state.addPanes(["Python", "JavaScript", "Perl", "PHP"].map { PaneSpec(language: $0) })
        for pane in state.panes {
            _ = state.update(.started(pane: pane.id, generation: 0, pid: 1, remoteHost: nil))
            _ = state.update(.state(pane: pane.id, generation: 0, .busy(depth: 1)))
        }
        let ids = state.panes.map(\.id)
        let t = now()
        for i in 0..<logLines {
            let id = ids[i % ids.count]
            _ = state.update(.traffic(pane: id, generation: 0, TrafficRecord(
                sent: i % 2 == 0, time: Date(), line: "OUTPUT [\"STDOUT\",\"line \(i) of the flood\\n\"]", depth: 1)))
            if i % 10 == 0 {
                _ = state.update(.output(pane: id, generation: 0, channel: .stdout, text: "line \(i) of the flood\n"))
            }
        }
        figures.logLinesFed = logLines
        figures.updateMicrosPerLogLine = (now() - t) / Double(logLines) * 1e6
        figures.frameMillis = median(runs * 10) {
            let t = now()
            _ = state.render()
            return (now() - t) * 1000
        }
        let perFrame = 100_000 / 60
        let flooding = ids[0]
        figures.keyToScreenMillis = median(runs * 10) {
            let t = now()
            for i in 0..<perFrame {
                _ = state.update(.output(pane: flooding, generation: 0, channel: .stdout, text: "flood \(i)\n"))
            }
            _ = state.update(.key(.char("x")))
            _ = state.render()
            return (now() - t) * 1000
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        figures.peakRSSMebibytes = Double(usage.ru_maxrss) / 1024
        return figures
    }
}

import Bond
import Foundation

/// A session file: the panes to start (with their start-up blocks and refs) and the wiring
/// between them. JSON, written by `session save`, read by `bond-workbench --session FILE`.
public struct Session: Codable, Sendable, Equatable {
    public struct Pane: Codable, Sendable, Equatable {
        public var name: String
        public var language: String
        public var command: String?
        /// One block run at each start (written by earlier versions; still read).
        public var startup: String?
        /// Start-up entries, run one at a time at each start (a failing one is reported and the
        /// others go on).
        public var entries: [String]?
        public var refs: [Ref]?

        public init(name: String, language: String, command: String? = nil, startup: String? = nil, entries: [String]? = nil,
                    refs: [Ref]? = nil) {
            self.name = name
            self.language = language
            self.command = command
            self.startup = startup
            self.entries = entries
            self.refs = refs
        }
    }

    public struct Ref: Codable, Sendable, Equatable {
        public var name: String
        public var code: String
    }

    public struct Wire: Codable, Sendable, Equatable {
        /// The pane whose function is proxied, and the function there.
        public var source: String
        public var function: String
        /// The pane where it is callable, and its name there.
        public var target: String
        public var name: String
    }

    public var version = 1
    public var panes: [Pane]
    public var wires: [Wire]

    public init(panes: [Pane], wires: [Wire]) {
        self.panes = panes
        self.wires = wires
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        panes = try c.decodeIfPresent([Pane].self, forKey: .panes) ?? []
        wires = try c.decodeIfPresent([Wire].self, forKey: .wires) ?? []
    }

    public static func parse(_ data: Data) throws(ParseError) -> Session {
        let session: Session
        do {
            session = try JSONDecoder().decode(Session.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw ParseError("not JSON: \(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw ParseError("\(Self.path(context.codingPath)): \"\(key.stringValue)\" is missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ParseError("\(Self.path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw ParseError("\(error)")
        }
        guard session.version == 1 else { throw ParseError("session version \(session.version) is not known (1 is)") }
        var names = Set<String>()
        for pane in session.panes {
            guard PaneSpec.isValidName(pane.name) else { throw ParseError("\"\(pane.name)\" is not a pane name") }
            guard names.insert(pane.name).inserted else { throw ParseError("two panes are named \"\(pane.name)\"") }
        }
        for w in session.wires {
            guard names.contains(w.source) else { throw ParseError("wire \(w.source).\(w.function): no pane \"\(w.source)\"") }
            guard names.contains(w.target) else { throw ParseError("wire to \(w.target).\(w.name): no pane \"\(w.target)\"") }
            guard Bond.isFunctionName(w.name) else { throw ParseError("wire: \"\(w.name)\" is not a function name") }
        }
        return session
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }

    public var specs: [PaneSpec] {
        panes.map {
            var spec = PaneSpec(name: $0.name, language: $0.language, command: $0.command, startup: $0.startup)
            spec.entries = $0.entries ?? []
            spec.refs = ($0.refs ?? []).map { ($0.name, $0.code) }
            return spec
        }
    }

    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    enum CodingKeys: String, CodingKey { case version, panes, wires }
}

extension AppState {
    /// The session as it stands: every pane with its start command, its start-up entries (the
    /// session's own, then the definitions recorded since, each once), its refs, and the wires.
    public var session: Session {
        let list = panes.map { p -> Session.Pane in
            Session.Pane(name: p.name, language: p.language, command: p.command,
                         entries: p.startupEntries.isEmpty ? nil : p.startupEntries.map(\.code),
                         refs: p.refs.isEmpty ? nil : p.refs.map { Session.Ref(name: $0.key, code: $0.value) })
        }
        let wireList = wires.compactMap { w -> Session.Wire? in
            guard let s = index(of: w.source), let t = index(of: w.target) else { return nil }
            return Session.Wire(source: panes[s].name, function: w.function, target: panes[t].name, name: w.name)
        }
        return Session(panes: list, wires: wireList)
    }

    /// Adds the wires of a session (its panes already added): they are exported as each target starts.
    public mutating func addWires(_ list: [Session.Wire]) {
        for w in list {
            guard let s = pane(named: w.source), let t = pane(named: w.target) else { continue }
            let wire = Wire(source: s.id, function: w.function, target: t.id, name: w.name)
            wires.removeAll { $0.key == wire.key }
            wires.append(wire)
        }
    }
}

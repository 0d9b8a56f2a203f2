import OrderedCollections
import Synchronization

/// One bond's side of the `OBJECTS` extension (docs/protocol.md): whether it is on, the
/// releases waiting for the next frame, the proxies the bond holds of other bonds' handles,
/// and the markers that carry handles in JSON payloads, both ways.
final class BondObjects: Sendable {
    /// Whether the driver offers `OBJECTS` (then the host switched it on at start-up).
    let isOn: Bool
    private let errors: BondErrors
    /// The bond, for the handles read from its frames (set once, when it is made; the bond
    /// outlives every frame it reads, and an unowned reference keeps its retains fast).
    private let owner = Mutex<OwnerReference?>(nil)
    /// Ids of handles whose last reference went, for the next frame's `RELEASE`.
    private let releases = Mutex<[Int]>([])
    /// Whether `releases` may hold ids (see `takeReleases`).
    private let releasesWaiting = Atomic(false)
    /// Handles of other bonds that this bond's interpreter holds as proxies, by proxy id.
    private let proxies = Mutex(ProxyTable())

    /// The member that makes a JSON object a marker.
    static let markerKey = "$bond"

    init(isOn: Bool, errors: BondErrors) {
        self.isOn = isOn
        self.errors = errors
    }

    func attach(_ bond: Bond) { owner.withLock { $0 = OwnerReference(bond: bond) } }

    /// A `.usage` error unless the driver offers the extension.
    func requireOn() throws(BondError) {
        guard isOn else {
            throw errors.usage("remote objects need the OBJECTS extension, which the \(errors.language) driver does not offer")
        }
    }

    // MARK: Lifetimes

    /// A handle's last reference went: its id goes with the next frame.
    func release(_ id: Int) {
        releases.withLock { $0.append(id) }
        releasesWaiting.store(true, ordering: .releasing)
    }

    /// The ids to release, if any (taken: each is sent once). Speed trick: every request asks,
    /// and almost always there are none: a flag read first spares it the lock (one atomic load
    /// instead of a lock and an unlock per request).
    func takeReleases() -> [Int]? {
        guard releasesWaiting.load(ordering: .acquiring) else { return nil }
        releasesWaiting.store(false, ordering: .relaxed)
        return releases.withLock { ids in
            guard !ids.isEmpty else { return nil }
            defer { ids = [] }
            return ids
        }
    }

    /// The interpreter let its proxies `ids` go (`RELEASE` from the driver).
    func dropProxies(_ payload: BondValue) {
        guard case .array(let ids) = payload else { return }
        let dropped = proxies.withLock { table in ids.compactMap { $0.intValue.flatMap { table.remove($0) } } }
        _ = dropped  // (released here, out of the lock: a handle's deinit takes its own bond's lock)
    }

    /// The bond is closed: its proxies go (and with them the handles of other bonds they held).
    func dropAll() {
        let dropped = proxies.withLock { $0.removeAll() }
        _ = dropped
        releases.withLock { $0 = [] }
    }

    /// How many proxies this bond's interpreter holds (for tests and benchmarks).
    var proxyCount: Int { proxies.withLock { $0.count } }

    // MARK: Writing

    /// Whether `value` holds what only the marker writer writes: a handle, or (with the
    /// extension on) a map that has a `$bond` member.
    func needsMarkers(_ value: BondValue) -> Bool {
        switch value {
        case .handle: return true
        case .array(let items): return items.contains { needsMarkers($0) }
        case .object(let members):
            if isOn && members[Self.markerKey] != nil { return true }
            return members.values.contains { needsMarkers($0) }
        default: return false
        }
    }

    /// Writes `value` as JSON for this bond, handles as markers and maps with a `$bond`
    /// member escaped; byte strings go to `blocks` (the `BYTES` extension).
    func write(_ value: BondValue, into out: inout [UInt8], blocks: inout [[UInt8]]) throws(BondError) {
        switch value {
        case .handle(let handle):
            try write(handle, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try write(item, into: &out, blocks: &blocks)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members) where isOn && members[Self.markerKey] != nil:
            out.append(contentsOf: #"{"$bond":"map","items":["#.utf8)
            for (i, (key, item)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "["))
                JSONWriter.writeString(key, into: &out)
                out.append(UInt8(ascii: ","))
                try write(item, into: &out, blocks: &blocks)
                out.append(UInt8(ascii: "]"))
            }
            out.append(contentsOf: "]}".utf8)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, item)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                try write(item, into: &out, blocks: &blocks)
            }
            out.append(UInt8(ascii: "}"))
        default:
            do {
                try JSONWriter.write(value, into: &out, blocks: &blocks)
            } catch {
                throw errors.serialization(.local, error.message)
            }
        }
    }

    /// Writes a handle for this bond: its own object (`handle`), or a proxy of another bond's.
    func write(_ handle: BondHandle, into out: inout [UInt8]) throws(BondError) {
        try requireOn()
        if handle.bond.objects === self {
            out.append(contentsOf: #"{"$bond":"handle","id":"#.utf8)
            JSONWriter.writeInteger(handle.id, into: &out)
            out.append(UInt8(ascii: "}"))
            return
        }
        let id = proxies.withLock { $0.add(handle) }
        out.append(contentsOf: #"{"$bond":"proxy","id":"#.utf8)
        JSONWriter.writeInteger(id, into: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONWriter.writeString(handle.typeName, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    // MARK: Reading

    /// `value` as read from this bond's frame, its markers turned into handles (and escaped
    /// maps back into maps).
    func decode(_ value: BondValue) throws(BondError) -> BondValue {
        switch value {
        case .array(let items):
            var decoded: [BondValue] = []
            decoded.reserveCapacity(items.count)
            for item in items { decoded.append(try decode(item)) }
            return .array(decoded)
        case .object(let members):
            if let kind = members[Self.markerKey] { return try decodeMarker(kind, members) }
            var decoded = OrderedDictionary<String, BondValue>()
            decoded.reserveCapacity(members.count)
            for (key, item) in members { decoded[key] = try decode(item) }
            return .object(decoded)
        default:
            return value
        }
    }

    func decode(_ values: [BondValue]) throws(BondError) -> [BondValue] {
        var decoded: [BondValue] = []
        decoded.reserveCapacity(values.count)
        for value in values { decoded.append(try decode(value)) }
        return decoded
    }

    private func decodeMarker(_ kind: BondValue, _ members: OrderedDictionary<String, BondValue>) throws(BondError) -> BondValue {
        switch kind.stringValue {
        case "handle":
            guard let id = members["id"]?.intValue, let bond = owner.withLock({ $0?.bond }) else { break }
            return .handle(BondHandle(bond: bond, id: id, typeName: members["type"]?.stringValue ?? "object"))
        case "proxy":
            guard let id = members["id"]?.intValue else { break }
            guard let handle = proxies.withLock({ $0.handle(id) }) else {
                throw errors.protocolViolation("the interpreter used proxy \(id), which it had released")
            }
            return .handle(handle)
        case "map":
            guard case .array(let pairs)? = members["items"] else { break }
            var map = OrderedDictionary<String, BondValue>()
            for pair in pairs {
                guard case .array(let parts) = pair, parts.count == 2, case .string(let key) = parts[0] else {
                    throw errors.protocolViolation("an escaped map with a member that is not a [key, value] pair")
                }
                map[key] = try decode(parts[1])
            }
            return .object(map)
        default:
            break
        }
        throw errors.protocolViolation("a marker the host cannot read: \(BondValue.object(members))")
    }

    // MARK: Serving proxies

    /// Serves a proxy's request from the interpreter (`OCALL`, `OGET`, `ODESCRIBE`): the call
    /// runs in the bond that owns the handle.
    func serve(_ verb: Verb, _ payload: BondValue) throws(BondError) -> BondValue {
        let parts = payload.arrayValue ?? [payload]
        guard let id = parts.first?.intValue, let handle = proxies.withLock({ $0.handle(id) }) else {
            throw errors.usage("\(verb.rawValue) of an unknown proxy: \(payload)")
        }
        func mode(_ index: Int) -> BondUnserializable {
            parts.count > index && parts[index].stringValue == "handle" ? .handle : .error
        }
        switch verb {
        case .ocall:
            guard parts.count >= 3, case .array(let arguments) = parts[2] else { break }
            guard parts.count >= 5 else { return try handle.call(parts[1].stringValue, values: arguments, unserializable: mode(3)) }
            // [ext] KEYWORDS: keyword arguments as a fifth element, for the owning bond (whose
            // language may have none: then its `.usage` error answers the proxy).
            guard case .object(let keywords) = parts[4] else { break }
            return try handle.call(parts[1].stringValue, values: arguments, keywords: keywords, unserializable: mode(3))
        case .oget:
            guard parts.count >= 2, case .string(let name) = parts[1] else { break }
            return try handle.attribute(name, unserializable: mode(2))
        case .odescribe:
            return ["type": .string(handle.typeName), "description": .string(try handle.describe())]
        default:
            break
        }
        throw errors.usage("malformed \(verb.rawValue) payload: \(payload)")
    }
}

/// The bond whose frames a `BondObjects` reads, held unowned (see `BondObjects.owner`).
private struct OwnerReference: Sendable {
    unowned let bond: Bond
}

/// The handles of other bonds that one bond's interpreter holds as proxies.
private struct ProxyTable {
    private var handles: [Int: BondHandle] = [:]
    private var lastID = 0

    var count: Int { handles.count }

    mutating func add(_ handle: BondHandle) -> Int {
        lastID += 1
        handles[lastID] = handle
        return lastID
    }

    func handle(_ id: Int) -> BondHandle? { handles[id] }

    mutating func remove(_ id: Int) -> BondHandle? { handles.removeValue(forKey: id) }

    mutating func removeAll() -> [BondHandle] {
        defer { handles = [:] }
        return Array(handles.values)
    }
}

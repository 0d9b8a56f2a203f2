import Bond
import OrderedCollections

/// A ref that holds a live object of its pane's bond (the engine's `BondHandle`, [ext]
/// `OBJECTS`): a result that JSON cannot carry, named by the user. The object stays in the
/// interpreter while the ref holds it; dropping the ref releases it (with the bond's next frame).
public struct HandleRef: Sendable, Equatable {
    public let handle: BondHandle
    /// The interpreter's description of the object when it came (asked once, by the pane's
    /// worker: the model never waits on a bond; `inspect` asks again).
    public let description: String
    /// The start of the description on one line (made once: the refs line is drawn often).
    let line: String

    public init(handle: BondHandle, description: String) {
        self.handle = handle
        self.description = description
        line = description.prefix(Self.lineLimit + 1).split(whereSeparator: \.isNewline).map { $0.trimmingSpaces }.joined(separator: " ")
    }

    static let lineLimit = 200

    public var typeName: String { handle.typeName }

    /// `Account <__main__.Account object at 0x7f…>`: the type (unless the description starts
    /// with it, as `Map(1) {…}` does), then the description on one line, cut to `limit` characters.
    public func summary(limit: Int = 40) -> String {
        let cut = line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
        return line.hasPrefix(typeName) ? cut : typeName + " " + cut
    }

    public static func == (a: HandleRef, b: HandleRef) -> Bool { a.handle == b.handle && a.description == b.description }
}

/// A pane's last result that was a handle, not named yet: the object, and the pane whose bond
/// holds it (another pane's, for a method of that pane's object called here).
public struct UnnamedHandle: Sendable, Equatable {
    public var ref: HandleRef
    /// The id of the pane whose bond holds the object.
    public var owner: Int
}

/// What a pane asks of a live object; run by the pane's worker (`perform` waits on the bond).
public enum ObjectRequest: Sendable, Equatable {
    /// `@name.method ARG ...`, or the object itself called (`method` nil: `@name ARG ...`).
    /// Its result is data, or a handle where it is not.
    case call(handle: BondHandle, method: String?, arguments: [BondValue], owner: Int)
    /// The object's methods and attributes, for completion: `lister` is a function of the
    /// object's language, called with the object.
    case members(handle: BondHandle, lister: String)
    /// The object's type and its description asked now (`inspect @name`); `owner` names its pane.
    case describe(label: String, handle: BondHandle, owner: String)

    /// Runs the request (blocking: on the pane's worker, never the UI loop).
    public func perform() throws(BondError) -> Outcome {
        switch self {
        case .call(let handle, let method, let arguments, _):
            return .described(try handle.call(method, values: arguments, unserializable: .handle))
        case .members(let handle, let lister):
            let names = try handle.bond.call(lister, handle)
            return .completions((names.arrayValue ?? []).compactMap(\.stringValue))
        case .describe(let label, let handle, let owner):
            return .inspected(name: label, type: "\(handle.typeName) · live object of \(owner)",
                              description: try handle.describe(), value: nil, error: nil)
        }
    }
}

extension Outcome {
    /// Runs what the user typed (blocking: on the pane's worker). With a driver that offers
    /// `OBJECTS`, a result JSON cannot carry comes back as a handle (described once, here),
    /// which the user can name; otherwise as the interpreter's description.
    public static func run(_ code: String, on bond: Bond) throws(BondError) -> Outcome {
        guard bond.offersObjects else { return .ran(try bond.run(code, unserializable: .describe)) }
        let result = try bond.run(code, unserializable: .handle)
        if case .value(.handle(let handle))? = result { return .described(.handle(handle)) }
        return .ran(result)
    }

    /// A value, or a handle with its description (asked now).
    static func described(_ value: BondValue) -> Outcome {
        guard case .handle(let handle) = value else { return .value(value) }
        return .handle(HandleRef(handle: handle, description: handle.description))
    }
}

extension Languages {
    /// A function of the language that gives the names of an object's methods and attributes
    /// (called with the object, in its own bond); nil for a language without `OBJECTS`.
    public static func memberLister(language: String) -> String? {
        switch language.lowercased() {
        case "python":
            return "dir"
        case "javascript":
            return "(function (o) { var s = new Set(); for (var p = Object(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) "
                + "Object.getOwnPropertyNames(p).forEach(function (n) { if (n !== 'constructor') s.add(n); }); return Array.from(s); })"
        case "perl":
            return "sub { my ($o) = @_; require Scalar::Util; require mro; my %n; my $c = Scalar::Util::blessed($o); "
                + "if (defined $c) { no strict 'refs'; for my $k (@{mro::get_linear_isa($c)}) { "
                + "for my $m (keys %{\"${k}::\"}) { $n{$m} = 1 if defined &{\"${k}::$m\"} } } } "
                + "if ((Scalar::Util::reftype($o) // '') eq 'HASH') { $n{$_} = 1 for keys %$o } [sort keys %n] }"
        case "php":
            return "(function ($o) { return is_object($o) ? array_values(array_unique(array_merge("
                + "get_class_methods($o), array_keys(get_object_vars($o))))) : []; })"
        default:
            return nil
        }
    }
}

extension BondValue {
    /// The value with each handle in it replaced by its text (`<Account handle>`): what a step
    /// keeps, so that only refs hold objects in the interpreter.
    var withoutHandles: BondValue {
        switch self {
        case .handle(let handle): .string("<\(handle.typeName) handle>")
        case .array(let items): .array(items.map(\.withoutHandles))
        case .object(let members): .object(members.mapValues(\.withoutHandles))
        default: self
        }
    }
}

extension CallArgument {
    /// The argument with its handles as text (what a step keeps).
    var withoutHandles: CallArgument {
        if case .value(let v) = self { return .value(v.withoutHandles) }
        return self
    }
}

extension Request {
    /// The request as a step keeps it: no handle in it (a call of a handle's method is kept as
    /// the call typed, `@name.method ARG ...`).
    func withoutHandles(typed: String? = nil) -> Request {
        switch self {
        case .call(let name, let arguments): return .call(name: name, arguments: arguments.map(\.withoutHandles))
        case .object(.call(_, _, let arguments, _)):
            return .call(name: typed ?? "@object", arguments: arguments.map { .value($0.withoutHandles) })
        default: return self
        }
    }
}

extension PaneModel {
    /// Every ref name of the pane, code refs then handle refs.
    public var refNames: [String] { Array(refs.keys) + Array(handleRefs.keys) }
}

extension AppState {
    /// The handle ref `name` as seen from pane `i`: its own first, else another pane's (then a
    /// proxy in this pane's bond); nil when there is none. Two other panes with that name: the
    /// first, in pane order.
    func handleRef(_ name: String, from i: Int) -> (ref: HandleRef, owner: Int)? {
        if let ref = panes[i].handleRefs[name] { return (ref, i) }
        guard panes[i].refs[name] == nil else { return nil }
        for k in panes.indices where k != i {
            if let ref = panes[k].handleRefs[name] { return (ref, k) }
        }
        return nil
    }

    /// The ref names usable in pane `i`: its own, then other panes' handle refs.
    func usableRefNames(_ i: Int) -> [String] {
        var names = panes[i].refNames
        for k in panes.indices where k != i {
            names += panes[k].handleRefs.keys.filter { !names.contains($0) }
        }
        return names
    }

    /// `unref NAME`: drops a ref; a handle ref releases its object (with the bond's next frame).
    mutating func unref(_ i: Int, _ text: String) -> [Effect] {
        var name = text.trimmingSpaces
        if name.hasPrefix("@") { name.removeFirst() }
        if panes[i].refs.removeValue(forKey: name) != nil {
            append(i, .info, "ref @\(name) dropped")
            return []
        }
        guard let (ref, owner) = handleRef(name, from: i) else {
            flash = "unref: no ref @\(name)"
            return []
        }
        panes[owner].handleRefs[name] = nil
        append(owner, .info, "ref @\(name) dropped: its \(ref.typeName) is released")
        return []
    }

    /// Names the pane's last result that was a handle; the ref goes to the pane whose bond
    /// holds the object.
    mutating func nameLastHandle(_ i: Int, name: String) -> [Effect] {
        guard let last = panes[i].lastHandle else {
            flash = "no handle to name: run an expression whose value stays in the interpreter first"
            return []
        }
        panes[i].lastHandle = nil
        guard let k = index(of: last.owner) else {
            flash = "not named: the pane that held the object is gone"
            return []
        }
        panes[k].refs[name] = nil
        panes[k].handleRefs[name] = last.ref
        let elsewhere = k == i ? "" : " of \(panes[k].name)"
        append(i, .info, "ref @\(name) = \(last.ref.summary(limit: 60)) (a live object\(elsewhere))")
        return []
    }

    /// The handle refs of the pane go with its bond (closed, ended, restarted): said once.
    mutating func dropHandleRefs(_ i: Int, because reason: String) {
        for k in panes.indices where panes[k].lastHandle?.owner == panes[i].id { panes[k].lastHandle = nil }
        guard !panes[i].handleRefs.isEmpty else { return }
        let names = panes[i].handleRefs.keys.map { "@" + $0 }.joined(separator: " ")
        panes[i].handleRefs = [:]
        append(i, .info, "handle refs dropped (\(reason)): \(names)")
    }
}

import CDCCore
import CDCSQLite

/// The sample service of the demo and the benchmark: a shop with customers, orders and
/// order lines, written the way a service would (small transactions, multi-row orders,
/// status updates, cancellations).
///
/// The tables cover the shapes capture must handle: an INTEGER PRIMARY KEY rowid alias
/// (`customers`, `orders`), a composite key in a WITHOUT ROWID table (`order_lines`), every
/// storage class (`avatar` is a blob, `balance` a real, free text with unicode).
public enum SampleShop {
    /// The schema, as the service would create it.
    public static let schemaSQL = """
        CREATE TABLE IF NOT EXISTS customers(
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            balance REAL NOT NULL DEFAULT 0,
            avatar BLOB,
            created_at TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS orders(
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            status TEXT NOT NULL,
            total REAL NOT NULL DEFAULT 0,
            placed_ms INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS order_lines(
            order_id INTEGER NOT NULL,
            line_no INTEGER NOT NULL,
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            unit_price REAL NOT NULL,
            PRIMARY KEY(order_id, line_no)
        ) WITHOUT ROWID;
        """

    /// The table names, in dependency order.
    public static let tableNames = ["customers", "orders", "order_lines"]

    /// Creates the schema in a database in WAL mode.
    /// - Throws: ``SQLiteError``.
    public static func create(at path: String) throws {
        let db = try Connection(path: path, mode: .create)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute(schemaSQL)
        try db.close()
    }
}

/// Drives the sample shop with a seeded mix of transactions.
///
/// Not `Sendable`: it owns a connection. One writer per instance.
public final class ShopWriter {
    /// Counts of what the writer committed.
    public struct Counts: Sendable, Equatable {
        public var transactions = 0
        public var rowChanges = 0
        public var rolledBack = 0
    }

    private let db: Connection
    private var rng: SplitMix64
    public private(set) var counts = Counts()
    private var nextCustomer: Int64 = 1
    private var nextOrder: Int64 = 1

    /// - Parameters:
    ///   - path: the shop database (schema created by ``SampleShop/create(at:)``).
    ///   - seed: the workload seed.
    ///   - busyTimeoutMilliseconds: how long a write waits for the lock.
    ///   - walAutocheckpointPages: SQLite's `wal_autocheckpoint` for this connection; `nil`
    ///     keeps SQLite's default (1,000 pages), 0 never checkpoints, so the WAL keeps every
    ///     frame written (a benchmark that decodes the WAL afterwards needs that).
    public init(path: String, seed: UInt64, busyTimeoutMilliseconds: Int32 = 10_000, walAutocheckpointPages: Int? = nil) throws {
        db = try Connection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        if let pages = walAutocheckpointPages { try db.execute("PRAGMA wal_autocheckpoint=\(max(0, pages))") }
        rng = SplitMix64(seed: seed)
        if case .integer(let c)? = try db.scalar("SELECT coalesce(max(id), 0) + 1 FROM customers") { nextCustomer = c }
        if case .integer(let o)? = try db.scalar("SELECT coalesce(max(id), 0) + 1 FROM orders") { nextOrder = o }
    }

    private static let names = ["Ada", "Grace", "Linus", "Zoë", "Łukasz", "François", "Ngũgĩ", "李雷", "Søren", "O'Brien", "😀 Emoji"]
    private static let statuses = ["placed", "paid", "shipped", "delivered"]

    /// Commits one transaction of a randomly chosen kind.
    /// - Throws: ``SQLiteError`` (for example busy beyond the timeout).
    public func step() throws {
        let roll = Int.random(in: 0..<100, using: &rng)
        try db.transaction(.immediate) {
            switch roll {
            case 0..<20: try newCustomer()
            case 20..<55: try placeOrder()
            case 55..<80: try advanceOrder()
            case 80..<90: try adjustBalance()
            case 90..<97: try cancelOrder()
            default: try removeIdleCustomer()
            }
        }
        counts.transactions += 1
        if roll % 37 == 0 { try rolledBackTransaction() }
    }

    /// Inserts `count` customers in transactions of `perTransaction` rows (the benchmark's
    /// bulk shape).
    public func bulkInsertCustomers(_ count: Int, perTransaction: Int) throws {
        var done = 0
        let insert = try db.prepare("INSERT INTO customers(id, name, email, balance, avatar, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        while done < count {
            let n = min(perTransaction, count - done)
            try db.transaction(.immediate) {
                for _ in 0..<n { try insert.run(customerRow()) }
            }
            done += n
            counts.transactions += 1
            counts.rowChanges += n
        }
    }

    private func customerRow() -> [SQLiteValue] {
        let id = nextCustomer
        nextCustomer += 1
        let name = Self.names[Int.random(in: 0..<Self.names.count, using: &rng)]
        let avatar: SQLiteValue = Bool.random(using: &rng) ? .blob((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }) : .null
        return [.integer(id), .string("\(name) \(id)"), .string("c\(id)@example.test"),
                .real(Double(Int.random(in: -10_000...100_000, using: &rng)) / 100), avatar,
                .string("2026-11-\(10 + id % 20)T12:00:00Z")]
    }

    private func newCustomer() throws {
        try db.execute("INSERT INTO customers(id, name, email, balance, avatar, created_at) VALUES (?, ?, ?, ?, ?, ?)", customerRow())
        counts.rowChanges += 1
    }

    private func randomID(_ table: String) throws -> Int64? {
        // A random existing row without scanning: the first id at or after a random point.
        guard case .integer(let hi)? = try db.scalar("SELECT max(id) FROM \(table)") else { return nil }
        let probe = Int64.random(in: 1...max(1, hi), using: &rng)
        if case .integer(let id)? = try db.scalar("SELECT id FROM \(table) WHERE id >= ? ORDER BY id LIMIT 1", [.integer(probe)]) { return id }
        return nil
    }

    private func placeOrder() throws {
        guard let customer = try randomID("customers") else { return try newCustomer() }
        let order = nextOrder
        nextOrder += 1
        let lines = Int.random(in: 1...5, using: &rng)
        var total = 0.0
        for line in 1...lines {
            let qty = Int64.random(in: 1...4, using: &rng)
            let price = Double(Int.random(in: 99...9_999, using: &rng)) / 100
            total += Double(qty) * price
            try db.execute("INSERT INTO order_lines(order_id, line_no, sku, quantity, unit_price) VALUES (?, ?, ?, ?, ?)",
                           [.integer(order), .integer(Int64(line)), .string("SKU-\(Int.random(in: 1...500, using: &rng))"), .integer(qty), .real(price)])
        }
        try db.execute("INSERT INTO orders(id, customer_id, status, total, placed_ms) VALUES (?, ?, 'placed', ?, ?)",
                       [.integer(order), .integer(customer), .real(total), .integer(1_764_547_200_000 + order)])
        counts.rowChanges += lines + 1
    }

    private func advanceOrder() throws {
        guard let order = try randomID("orders") else { return try placeOrder() }
        let status = Self.statuses[Int.random(in: 0..<Self.statuses.count, using: &rng)]
        counts.rowChanges += Int(try db.execute("UPDATE orders SET status = ? WHERE id = ?", [.string(status), .integer(order)]))
    }

    private func adjustBalance() throws {
        guard let customer = try randomID("customers") else { return try newCustomer() }
        counts.rowChanges += Int(try db.execute("UPDATE customers SET balance = balance + ? WHERE id = ?",
                                                [.real(Double(Int.random(in: -5_000...5_000, using: &rng)) / 100), .integer(customer)]))
    }

    private func cancelOrder() throws {
        guard let order = try randomID("orders") else { return }
        counts.rowChanges += Int(try db.execute("DELETE FROM order_lines WHERE order_id = ?", [.integer(order)]))
        counts.rowChanges += Int(try db.execute("DELETE FROM orders WHERE id = ?", [.integer(order)]))
    }

    private func removeIdleCustomer() throws {
        guard let customer = try randomID("customers") else { return }
        counts.rowChanges += Int(try db.execute("DELETE FROM customers WHERE id = ? AND NOT EXISTS (SELECT 1 FROM orders WHERE customer_id = ?)",
                                                [.integer(customer), .integer(customer)]))
    }

    /// A transaction the service rolls back: it must produce no events.
    private func rolledBackTransaction() throws {
        try db.execute("BEGIN IMMEDIATE")
        try db.execute("UPDATE customers SET name = 'never committed' WHERE id = (SELECT min(id) FROM customers)")
        try db.execute("ROLLBACK")
        counts.rolledBack += 1
    }
}

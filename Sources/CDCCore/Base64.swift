import Foundation

/// Base64 (RFC 4648 §4, with padding) for blob values in events; Foundation's codec, strict
/// on decode.
public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    /// Decodes padded base64; `nil` on any character outside the alphabet.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(utf8: Array(text.utf8))
    }

    /// Decodes padded base64 given as its ASCII bytes (as the event decoder has it), without
    /// building a string first.
    public static func decode(utf8 bytes: [UInt8]) -> [UInt8]? {
        guard let data = Data(base64Encoded: Data(bytes)) else { return nil }
        return [UInt8](data)
    }
}
